import assert from "node:assert/strict";
import { join } from "node:path";
import { ROOT } from "../_experiment.ts";
import { runDeno } from "../_run_deno.ts";
import { withVersion } from "../validate.ts";
import type { RecordedRun } from "../../lib/recorded_run.ts";
import { pctCell } from "./report.ts";
import type { Validation } from "./validation.ts";

const FIXTURE = join(ROOT, "fixtures/validate/RTXPRO6000_Llama-3.1-8B_first40");

/** `deno task validate ARGS` from the checkout, as a user runs it. */
const validate = (...args: string[]) => runDeno(["task", "-q", "validate", ...args]);

/** The fixture's requests as recorded (engine-side seconds). */
async function recorded() {
  const text = await Deno.readTextFile(join(FIXTURE, "requests.jsonl"));
  return text.trim().split("\n").map((l) => JSON.parse(l));
}

/** A column of the replay's requests.csv, read by hand. */
async function simColumn(runDir: string, name: string): Promise<number[]> {
  const [head, ...lines] = (await Deno.readTextFile(join(runDir, "requests.csv"))).trim()
    .split("\n");
  const k = head.split(",").indexOf(name);
  return lines.map((l) => Number(l.split(",")[k]));
}

const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

Deno.test("validate: the 40-request recording replayed; table shape, errors by hand, validation.json", async () => {
  const dir = await Deno.makeTempDir({ prefix: "topobench_validate_" });
  try {
    const r = await validate(FIXTURE, "--out", dir);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trimEnd().split("\n");
    assert.equal(lines.at(-1), join(dir, "validation.json"));
    // the folder name's RTXPRO6000 has a profile: it is simulated by default
    assert.match(r.stdout, /--gpu rtx-pro-6000\)/);
    assert.match(r.stdout, /note: same GPU: NVIDIA RTX PRO 6000 Blackwell Server Edition/);
    // the 40-request cut misses the goals by construction: the report names what misses
    assert.match(
      r.stdout,
      /^goals \(mean and p50 within 10%, p90 within 15%\): missed: mean TTFT /m,
    );
    const h = lines.findIndex((l) => l.startsWith("metric"));
    assert.deepEqual(lines[h].split(/\s+/), ["metric", "mean", "p50", "p90", "p95", "p99", "KS"]);
    const rows = lines.slice(h + 1, h + 10).map((l) => l.trim().split(/\s+/));
    assert.deepEqual(rows.map((c) => c.slice(0, c[0].match(/^[A-Z]/) ? 2 : 1).join(" ")), [
      "TTFT real",
      "sim",
      "error",
      "TPOT real",
      "sim",
      "error",
      "E2E real",
      "sim",
      "error",
    ]);
    assert.deepEqual(rows.map((c) => c.length), [7, 6, 7, 7, 6, 7, 7, 6, 7]);

    const v: Validation = JSON.parse(await Deno.readTextFile(join(dir, "validation.json")));
    const reqs = await recorded();
    const realTtft = avg(reqs.map((q) => (q.first_token_ts - q.queued_ts) * 1000));
    const simTtft = avg(await simColumn(v.simulated.runDir, "ttft_ms"));
    const want = (simTtft - realTtft) / realTtft * 100;
    const got = v.metrics.ttftMs.errorPct.mean!;
    assert.ok(Math.abs(got - want) < 1e-6, `TTFT mean error ${got} vs ${want} by hand`);
    assert.equal(rows[2][1], pctCell(want));
    assert.equal(v.simulated.requests, 40);
    assert.equal(v.simulated.failed, 0);
    assert.equal(v.hardwareDiffers, false);

    // the series at the recording's t = 1, 2, 3 s (t counts from started_at)
    const started = Date.parse("2026-04-25T18:47:18.273385Z") / 1000;
    const simRunning = await simRunningAt(
      v.simulated.runDir,
      [1, 2, 3].map((t) => t - (reqs[0].arrival_time - started)),
    );
    assert.deepEqual(v.timeseries!.samples.map((s) => [s.realRunning, s.simRunning]), [
      [9, simRunning[0]],
      [19, simRunning[1]],
      [34, simRunning[2]],
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("validate: --gpu other than the recorded GPU; the note says they differ", async () => {
  const dir = await Deno.makeTempDir({ prefix: "topobench_validate_" });
  try {
    const r = await validate(FIXTURE, "--gpu", "a100", "--out", dir);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      /the hardware differs: recorded on RTXPRO6000, simulated on NVIDIA A100/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** Simulated requests between first token and end at each of `atS` (s after the first send). */
async function simRunningAt(runDir: string, atS: number[]): Promise<number[]> {
  const first = await simColumn(runDir, "first_token_ms");
  const end = await simColumn(runDir, "end_ms");
  return atS.map((t) => first.filter((f, i) => f <= t * 1000 && t * 1000 < end[i]).length);
}

Deno.test("validate: expert parallel on a dense model is refused naming the flag and the model; --help", async () => {
  const dir = await Deno.makeTempDir({ prefix: "topobench_validate_" });
  try {
    const meta = JSON.parse(await Deno.readTextFile(join(FIXTURE, "meta.json")));
    meta.engine_kwargs.data_parallel_size = 2;
    meta.engine_kwargs.enable_expert_parallel = true;
    await Deno.writeTextFile(join(dir, "meta.json"), JSON.stringify(meta));
    await Deno.copyFile(join(FIXTURE, "requests.jsonl"), join(dir, "requests.jsonl"));
    const r = await validate(dir, "--gpu", "rtx-pro-6000", "--out", join(dir, "out"));
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /Cannot use --enable-expert-parallel for llama-3\.1-8b on dp 2 x tp 1: current value is true; allowed: false \(a dense model has no experts\)/,
    );
    const help = await validate("--help");
    assert.equal(help.code, 0);
    assert.match(
      help.stdout,
      /Usage: deno task validate <recorded run folder \| run directory \| vllm bench \.json \| client log \.jsonl>/,
    );
    assert.match(
      help.stdout,
      /--gpu.*default: the recorded GPU's profile.*a GPU without one is refused/,
    );
    assert.match(help.stdout, /--vllm-version .*async scheduling from 0\.12/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("validate: --gpu takes a GPU YAML file, relative to where the user stands", async () => {
  const dir = await Deno.makeTempDir({ prefix: "topobench_validate_gpu_" });
  try {
    const r = await validate(FIXTURE, "--gpu", "fixtures/gpus/b200.yaml", "--out", dir);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /replayed: SIMULATED engine, virtual clock, NVIDIA B200 .*\(--gpu /);
    // the topology it wrote names the file absolute, so predict can rerun it from anywhere
    const topo = await Deno.readTextFile(join(dir, "topology.yaml"));
    assert.match(
      topo,
      new RegExp(`gpu: ${join(ROOT, "fixtures/gpus/b200.yaml").replaceAll(".", "\\.")}`),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("validate --vllm-version: sets the replayed version with a note naming the recorded one; refuses a non-version", () => {
  const run = {
    notes: [],
    meta: { model: "m", vllmVersion: "0.19.0" },
  } as unknown as RecordedRun;
  assert.equal(withVersion(run, undefined), run);
  const v = withVersion(run, "0.8.4");
  assert.equal(v.meta.vllmVersion, "0.8.4");
  assert.deepEqual(v.notes, ["vLLM version from the command line: 0.8.4 (recorded 0.19.0)"]);
  assert.equal(run.meta.vllmVersion, "0.19.0");
  assert.throws(
    () => withVersion(run, "latest"),
    /Cannot use --vllm-version as a vLLM version: current value is "latest"/,
  );
});
