/**
 * Image workloads (`random-mm`) in virtual time, through `deno task predict`
 * as a user runs it: agg, pd and epd answer with the images' vision tokens in
 * the prompt, the vision encoder costs what the cost model says on the
 * instance that runs it, and the same seed gives the same files.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { parseCsv } from "../../lib/csv.ts";
import { EventLoop } from "../../lib/event_loop.ts";
import { PromptTokens } from "../../lib/prompt_tokens.ts";
import { loadTokenizer } from "../../lib/tokenizer.ts";
import { loadTopologyWith, parseSet } from "../../launch/topology_set.ts";
import { engineParts } from "../../launch/sim/core/engine_parts.ts";
import { StepShape } from "../../launch/sim/core/cost_model.ts";
import { ROOT } from "../_experiment.ts";
import { runDeno } from "../_run_deno.ts";
import { DEFAULT_ROUTER_HOP_MS, VirtualTopology } from "./virtual_topology.ts";

const VL = "Qwen/Qwen2.5-VL-3B-Instruct";
const fixture = (f: string) => join(ROOT, "fixtures/topologies", f);
/** Without step noise: the differences are the model's terms alone. */
const NO_JITTER = 'sim.extra_args=["--jitter","0"]';

/** Each kind's topology file and `--set`s (agg and pd made multimodal). */
const KINDS: Record<string, { file: string; sets: string[] }> = {
  agg: { file: "sim_agg.yaml", sets: [`model=${VL}`, NO_JITTER] },
  pd: { file: "sim_pd_1p1d.yaml", sets: [`model=${VL}`, NO_JITTER] },
  epd: { file: "sim_epd.yaml", sets: [NO_JITTER] },
};

/** `deno task predict` of one topology on random-mm; its run directory. */
async function predict(kind: string, out: string, flags: string[]): Promise<string> {
  const { file, sets } = KINDS[kind];
  const r = await runDeno([
    "run",
    "-A",
    "tasks/predict.ts",
    "--topology",
    fixture(file),
    ...sets.flatMap((s) => ["--set", s]),
    ...["--dataset", "random-mm", "--endpoint", "/v1/chat/completions"],
    ...["--start-time", "2026-03-04T05:06:07Z", "--out", join(out, kind)],
    ...flags,
  ]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.trim().split("\n").at(-1)!;
}

const rowsOf = async (dir: string) =>
  parseCsv(await Deno.readTextFile(join(dir, "requests.csv")), dir);

/** An instance's cost model, and the prefill time of `n` tokens on it. */
async function costOf(kind: string, role: string) {
  const { file, sets } = KINDS[kind];
  const topo = await loadTopologyWith(fixture(file), sets.map((s) => parseSet(s)));
  const inst = new VirtualTopology(topo, new EventLoop()).instances.find((i) => i.role === role)!;
  const { cost, profile } = engineParts(inst.cfg);
  const prefillMs = (n: number) => {
    const s = new StepShape();
    s.add(n, 0);
    return cost.shapeMs(s);
  };
  return { cost, profile, prefillMs };
}

Deno.test("predict random-mm: agg, pd and epd count the images' tokens, and the encoder costs the cost model's time where it runs", async () => {
  const dir = await Deno.makeTempDir({ prefix: "topobench_predict_mm_" });
  try {
    const flags = [
      "--num-requests",
      "1",
      "--rate",
      "1",
      "--input-len",
      "256",
      "--output-len",
      "16",
    ];
    const one = async (kind: string) => {
      const rows = await rowsOf(await predict(kind, dir, [...flags, "--image-size", "512x512"]));
      assert.equal(rows.length, 1);
      assert.equal(rows[0].status, "200", JSON.stringify(rows[0]));
      assert.equal(rows[0].output_tokens, "16");
      return { ttft: Number(rows[0].ttft_ms), prompt: Number(rows[0].prompt_tokens) };
    };
    const [agg, pd, epd] = [await one("agg"), await one("pd"), await one("epd")];
    const a = await costOf("agg", "backend");
    const imageTokens = a.profile.vision!.tokensPerImage(512, 512);
    // the text's 256 tokens with the chat frame, and the image's placeholders
    const tok = await loadTokenizer();
    const frame = new PromptTokens(tok).chat([{ role: "user", content: "" }]).length;
    assert.equal(agg.prompt, 256 - 1 + frame + imageTokens);
    assert.deepEqual([pd.prompt, epd.prompt], [agg.prompt, agg.prompt]);
    // agg: the hop, the API server, one step of the prompt with the vision encoder in it
    const encoderMs = a.cost.encoderMs([imageTokens]);
    assert.ok(encoderMs > 0.5, `encoder ${encoderMs} ms`);
    const aggMs = DEFAULT_ROUTER_HOP_MS + a.cost.frontendMs(agg.prompt) +
      a.prefillMs(agg.prompt) + encoderMs;
    assert.ok(Math.abs(agg.ttft - aggMs) < 1e-3, `agg TTFT ${agg.ttft} vs modelled ${aggMs}`);
    // epd: the encoder leg (hop, its API server, its prompt of the image alone, the vision
    // encoder) comes first; the prefill then finds the image encoded, else as pd
    const e = await costOf("epd", "encode");
    const encodeLegMs = DEFAULT_ROUTER_HOP_MS + e.cost.frontendMs(frame + imageTokens) +
      e.prefillMs(frame + imageTokens) + e.cost.encoderMs([imageTokens]);
    const expected = pd.ttft + encodeLegMs - encoderMs;
    assert.ok(
      Math.abs(epd.ttft - expected) < 1e-3,
      `epd TTFT ${epd.ttft} vs pd ${pd.ttft} + encoder leg ${encodeLegMs} - encoder ${encoderMs}`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});

Deno.test("predict random-mm on epd: the same seed gives byte-identical files", async () => {
  const dir = await Deno.makeTempDir({ prefix: "topobench_predict_mm_" });
  try {
    const flags = [
      ...["--rate", "6", "--duration", "10", "--input-len", "200", "--output-len", "32"],
      ...["--image-size", "448x448,1024x768", "--images-per-request", "2", "--seed", "5"],
    ];
    const files = [];
    for (const out of ["a", "b"]) {
      const run = await predict("epd", join(dir, out), flags);
      files.push([
        await Deno.readTextFile(join(run, "requests.csv")),
        await Deno.readTextFile(join(run, "summary.json")),
      ]);
    }
    assert.deepEqual(files[0], files[1]);
    const rows = parseCsv(files[0][0]);
    assert.ok(rows.length > 40, `${rows.length} rows`);
    assert.ok(rows.every((r) => r.status === "200" && r.backend === "decode-0"));
    // two images a request, of two sizes: at least 2 x the smaller one's tokens beyond the text
    assert.ok(rows.every((r) => Number(r.prompt_tokens) > 200 + 2 * 256), rows[0].prompt_tokens);
    assert.ok(new Set(rows.map((r) => r.prompt_tokens)).size > 1, "image sizes drawn");
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
