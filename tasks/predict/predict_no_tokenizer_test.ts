import assert from "node:assert/strict";
import { join } from "node:path";
import { loadTopology } from "../../launch/topology.ts";
import { buildVocab } from "../../launch/sim/core/vocab.ts";
import { EventLoop } from "../../lib/event_loop.ts";
import { PromptTokens } from "../../lib/prompt_tokens.ts";
import { IdsText } from "../../lib/lazy_text.ts";
import { loadTokenizer } from "../../lib/tokenizer.ts";
import { runLoad } from "../../bench/load_driver.ts";
import type { Job } from "../../bench/work_source.ts";
import { multiturnStream } from "../../bench/workload/multiturn.ts";
import { randomRequests } from "../../bench/workload/random.ts";
import { parseTrace, traceRequests } from "../../bench/workload/trace.ts";
import type { EndpointKind } from "../../bench/workload/_spec.ts";
import { randomMmDataset } from "../../bench/workload/random_mm.ts";
import { LazyImagePart } from "../../lib/known_image.ts";
import { loadTopologyWith, parseSet } from "../../launch/topology_set.ts";
import { ROOT } from "../_experiment.ts";
import { VirtualTopology } from "./virtual_topology.ts";
import { VirtualSender } from "./virtual_sender.ts";
import { predictTokens } from "./predict_tokens.ts";

// its own file: the tokenizer is cached per process, and no other test here may build it
Deno.test("predict: random prompts, images, trace replays and multi-turn chats through the virtual topology never build the shipped tokenizer", async () => {
  const tok = await loadTokenizer(undefined, { buildOnUse: true });
  const agg = await loadTopology(join(ROOT, "fixtures/topologies/sim_agg.yaml"));
  const run = async (endpoint: EndpointKind, jobs: Job[], topo = agg) => {
    const loop = new EventLoop();
    const prompts = new PromptTokens(tok);
    const vocab = buildVocab(tok);
    const vt = new VirtualTopology(topo, loop, {}, { tokenizer: tok, prompts, vocab, seed: 1 });
    const sender = new VirtualSender(loop, vt, predictTokens(prompts, vocab));
    let ok = 0;
    const plan = { tokenizer: tok, endpoint, jobs: jobs.values(), closedLoop: false };
    const done = runLoad(plan, loop, sender, {
      onResult: (f) => ok += f.result.error ? 0 : 1,
    });
    loop.run();
    await done;
    assert.equal(ok, jobs.reduce((n, j) => n + (j.conversation?.turns.length ?? 1), 0));
  };
  for (const endpoint of ["completions", "chat"] as const) {
    const o = { count: 6, seed: 2, endpoint, inputLen: 300, outputLen: 8, prefixLen: 20 };
    const specs = [...randomRequests(tok, { ...o, tokenIds: true })];
    await run(endpoint, specs.map((request, i) => ({ offsetMs: 50 * i, request })));
  }
  // a trace's prompts: shared blocks by hash id, then words of their own
  const trace = await Deno.readTextFile(join(ROOT, "fixtures/traces/mooncake_sample.jsonl"));
  const records = parseTrace(trace, "mooncake_sample.jsonl").slice(0, 5);
  for (const endpoint of ["completions", "chat"] as const) {
    const o = { endpoint, seed: 4, ignoreEos: true, tokenIds: true };
    const { requests } = traceRequests(tok, records, o);
    await run(endpoint, requests.map((request, i) => ({ offsetMs: 50 * i, request })));
  }
  const convs = multiturnStream(tok, {
    seed: 3,
    turns: 3,
    inputLen: 100,
    outputLen: 30,
    firstInputLen: 20,
    thinkTimeMs: 50,
    tokenIds: true,
  });
  const jobs = [0, 1, 2, 3].map((i) => ({ offsetMs: 80 * i, conversation: convs.next().value! }));
  // images known by size, through the encoder legs of epd and a vision model's agg
  const mm = randomMmDataset(tok, {
    count: 4,
    seed: 5,
    inputLen: 100,
    outputLen: 8,
    imageSizes: [{ width: 640, height: 480 }],
    imagesPerRequest: 2,
    tokenIds: true,
  });
  const images = LazyImagePart.built;
  const epd = await loadTopology(join(ROOT, "fixtures/topologies/sim_epd.yaml"));
  await run("chat", mm.map((request, i) => ({ offsetMs: 50 * i, request })), epd);
  const aggVl = await loadTopologyWith(join(ROOT, "fixtures/topologies/sim_agg.yaml"), [
    parseSet("model=Qwen/Qwen2.5-VL-3B-Instruct"),
  ]);
  await run("chat", mm.map((request, i) => ({ offsetMs: 50 * i, request })), aggVl);
  assert.equal(LazyImagePart.built, images, "no image built");
  const built = IdsText.built;
  await run("chat", jobs);
  assert.equal(IdsText.built, built, "no user message or answer text built");
  assert.equal(tok.built, false);
  tok.encode("x");
  assert.equal(tok.built, true);
});
