import assert from "node:assert/strict";
import { join } from "node:path";
import { loadTokenizer } from "../../lib/tokenizer.ts";
import { PromptTokens } from "../../lib/prompt_tokens.ts";
import { loadTopology } from "../../launch/topology.ts";
import { EventLoop } from "../../lib/event_loop.ts";
import { buildVocab } from "../../launch/sim/core/vocab.ts";
import { ROOT } from "../_experiment.ts";
import { resolveModel } from "../../launch/sim/core/profiles.ts";
import { VirtualTopology } from "./virtual_topology.ts";
import { Buffer } from "node:buffer";

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

/** A PNG data URL of a `w`x`h` image: signature and IHDR, enough to be sized. */
function pngHeaderUrl(w: number, h: number): string {
  const b = Buffer.alloc(33);
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]).copy(b, 0);
  b.writeUInt32BE(13, 8);
  b.write("IHDR", 12, "ascii");
  b.writeUInt32BE(w, 16);
  b.writeUInt32BE(h, 20);
  return `data:image/png;base64,${b.toString("base64")}`;
}

Deno.test("virtual topology epd: each image part goes to the encoder first (its own leg), text-only skips it", async () => {
  const topo = await loadTopology(join(ROOT, "fixtures/topologies/sim_epd.yaml"));
  const loop = new EventLoop();
  const prompts = new PromptTokens(tokenizer);
  const vt = new VirtualTopology(topo, loop, {}, { tokenizer, prompts, vocab, seed: 1 });
  const [enc, pre] = ["encode", "prefill"].map((r) => vt.instances.find((i) => i.role === r)!);
  const image = (w: number, h: number) => ({
    type: "image_url",
    image_url: { url: pngHeaderUrl(w, h) },
  });
  const bodies = [
    { messages: [{ role: "user", content: "Just text, no picture." }], max_tokens: 4 },
    {
      messages: [{
        role: "user",
        content: [{ type: "text", text: "Compare these." }, image(448, 448), image(224, 336)],
      }],
      max_tokens: 4,
    },
  ];
  const answers: { status: number; backend: string; prompt: number }[] = [];
  const queried: number[] = [];
  bodies.forEach((body, i) =>
    loop.at(i * 1000, () => {
      queried.push(enc.engine.kv.queries);
      vt.submit({ id: `r${i}`, body }, {
        onFinish: ({ status, backend, info }) => {
          answers[i] = { status, backend, prompt: info?.promptTokens ?? 0 };
        },
      });
    })
  );
  while (loop.step());
  assert.deepEqual(answers.map((a) => [a.status, a.backend]), [[200, "decode-0"], [
    200,
    "decode-0",
  ]]);
  // the encoder saw nothing of the text-only request, and each image alone in a chat frame
  assert.deepEqual(queried, [0, 0]);
  const vision = resolveModel("qwen2.5-vl-3b").vision!;
  const frame = prompts.chat([{ role: "user", content: "" }]).length;
  assert.equal(
    enc.engine.kv.queries,
    2 * frame + vision.tokensPerImage(448, 448) + vision.tokensPerImage(224, 336),
  );
  // the prefill ran both whole prompts, placeholders included
  assert.equal(pre.engine.kv.queries, answers[0].prompt + answers[1].prompt);
  assert.equal(
    answers[1].prompt,
    prompts.chat([{ role: "user", content: "Compare these." }]).length +
      vision.tokensPerImage(448, 448) + vision.tokensPerImage(224, 336),
  );
});
