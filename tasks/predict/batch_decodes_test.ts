/**
 * Whole topologies in virtual time with running decodes advanced together
 * (the default) and stepped one by one: the same conversations (next turns
 * resend the history, so prefix hits and PPD's turn-2 routing matter) must
 * give the same answers and token times on agg, dp, pd (NIXL, P2P-NCCL,
 * LMCache) and ppd.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { loadTokenizer } from "../../lib/tokenizer.ts";
import { PromptTokens } from "../../lib/prompt_tokens.ts";
import { loadTopology } from "../../launch/topology.ts";
import { EventLoop } from "../../lib/event_loop.ts";
import { Rng } from "../../lib/rng.ts";
import { buildVocab } from "../../launch/sim/core/vocab.ts";
import { ROOT } from "../_experiment.ts";
import { VirtualTopology } from "./virtual_topology.ts";

const tokenizer = await loadTokenizer();
const vocab = buildVocab(tokenizer);
const WORDS = ["alpha", "beta", "gamma", "delta", "river", "stone", "cloud", "forest"];

/** 60 conversations of 3 turns on `file`; each answer with its token times. */
async function play(file: string, batchDecodes: boolean, kvBlocks: number) {
  const topo = await loadTopology(join(ROOT, "fixtures/topologies", file));
  topo.sim.extraArgs.push("--num-gpu-blocks-override", String(kvBlocks));
  const loop = new EventLoop();
  const inputs = { tokenizer, prompts: new PromptTokens(tokenizer), vocab, seed: 7 };
  const vt = new VirtualTopology(topo, loop, { batchDecodes }, inputs);
  const rng = new Rng(3);
  const answers: string[] = [];
  const turn = (c: number, t: number, history: { role: string; content: string }[]) => {
    const words = Array.from(
      { length: 30 + Math.floor(rng.next() * 300) },
      () => WORDS[Math.floor(rng.next() * 8)],
    );
    const messages = [...history, { role: "user", content: words.join(" ") }];
    const body = {
      messages,
      max_completion_tokens: 20 + Math.floor(rng.next() * 150),
      ignore_eos: true,
    };
    vt.submit({ id: `c${c}-t${t}`, session: `c${c}`, body }, {
      onFinish: ({ status, error, info, backend, outputIds }) => {
        const times = [...(info?.tokenTimesMs ?? [])];
        answers.push(
          JSON.stringify({
            id: `c${c}-t${t}`,
            status,
            error,
            backend,
            cached: info?.cachedTokens,
            times,
            end: loop.nowMs(),
          }),
        );
        if (status !== 200 || t === 3) return;
        const reply = Array.from(outputIds.slice(0, info!.outputTokens), (id) => `w${id}`).join(
          " ",
        );
        loop.at(
          loop.nowMs() + 300,
          () => turn(c, t + 1, [...messages, { role: "assistant", content: reply }]),
        );
      },
    });
  };
  for (let c = 0; c < 60; c++) loop.at(c * 40, () => turn(c, 1, []));
  while (loop.step());
  return answers;
}

for (
  const [file, kvBlocks] of [
    ["sim_agg.yaml", 2500],
    ["sim_dp.yaml", 1500],
    ["sim_pd_1p1d.yaml", 2500],
    ["sim_pd_2p2d_p2pnccl.yaml", 1500],
    ["sim_pd_lmcache.yaml", 2500],
    ["sim_ppd_1p1d.yaml", 2500],
  ] as const
) {
  Deno.test(`virtual topology: decodes advanced together give the same answers as one by one - ${file}`, async () => {
    const one = await play(file, false, kvBlocks);
    const batched = await play(file, true, kvBlocks);
    assert.equal(one.length, 180);
    assert.deepEqual(batched, one);
  });
}
