import assert from "node:assert/strict";
import { join } from "node:path";
import { loadTokenizer } from "../../lib/tokenizer.ts";
import { PromptTokens } from "../../lib/prompt_tokens.ts";
import { loadTopology } from "../../launch/topology.ts";
import { EventLoop } from "../../lib/event_loop.ts";
import { buildVocab } from "../../launch/sim/core/vocab.ts";
import { ROOT } from "../_experiment.ts";
import { VirtualTopology } from "./virtual_topology.ts";

const tokenizer = await loadTokenizer();
const vocab = buildVocab(tokenizer);

interface Answer {
  status: number;
  error: string;
  outputTokens: number;
  backend: string;
}

/** Submits `bodies` to the topology in `file` (with `simArgs`) and runs the loop to the end. */
async function play(
  file: string,
  bodies: Record<string, unknown>[],
  simArgs: string[] = [],
): Promise<Answer[]> {
  const topo = await loadTopology(join(ROOT, "fixtures/topologies", file));
  topo.sim.extraArgs.push(...simArgs);
  const loop = new EventLoop();
  const inputs = { tokenizer, prompts: new PromptTokens(tokenizer), vocab, seed: 1 };
  const vt = new VirtualTopology(topo, loop, {}, inputs);
  const answers: Answer[] = [];
  bodies.forEach((body, i) =>
    loop.at(i * 50, () =>
      vt.submit({ id: `r${i}`, body }, {
        onFinish: ({ status, error, info, backend }) => {
          answers[i] = { status, error, outputTokens: info?.outputTokens ?? 0, backend };
        },
      }))
  );
  while (loop.step());
  return answers;
}

Deno.test("virtual topology: min_tokens floors the drawn output length, as the HTTP engine does", async () => {
  const body = (minTokens?: number) => ({
    messages: [{ role: "user", content: "Tell me a story about a fox." }],
    max_completion_tokens: 64,
    ...(minTokens === undefined ? {} : { min_tokens: minTokens }),
  });
  for (const file of ["sim_agg.yaml", "sim_pd_1p1d.yaml"]) {
    const free = await play(file, Array.from({ length: 10 }, () => body()), [
      "--mean-output-tokens",
      "2",
    ]);
    assert.ok(free.every((a) => a.status === 200 && a.outputTokens < 40), JSON.stringify(free));
    const floored = await play(file, Array.from({ length: 10 }, () => body(40)), [
      "--mean-output-tokens",
      "2",
    ]);
    assert.ok(
      floored.every((a) => a.status === 200 && a.outputTokens >= 40 && a.outputTokens <= 64),
      `${file}: ${JSON.stringify(floored)}`,
    );
  }
});

Deno.test("virtual topology: a body over the context is refused with the engine's status and message", async () => {
  const [ok, tooLarge] = await play("sim_agg.yaml", [
    { prompt: "Hello there", max_tokens: 16, ignore_eos: true },
    { prompt: "Hello there", max_tokens: 2046 },
  ], ["--max-model-len", "2048"]);
  assert.deepEqual([ok.status, ok.outputTokens], [200, 16]);
  assert.deepEqual(tooLarge, {
    status: 400,
    error:
      "HTTP 400: 'max_tokens' or 'max_completion_tokens' is too large: 2046. This model's maximum context length is 2048 tokens and your request has 3 input tokens (2046 > 2048 - 3).",
    outputTokens: 0,
    backend: "server-0",
  });
});
