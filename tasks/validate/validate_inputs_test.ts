import assert from "node:assert/strict";
import { join } from "node:path";
import { ROOT } from "../_experiment.ts";
import { runDeno } from "../_run_deno.ts";
import type { Validation } from "./validation.ts";

const TRACE = join(ROOT, "fixtures/validate/RTXPRO6000_Llama-3.1-8B_first40");
const VLLM = join(
  ROOT,
  "fixtures/validate/vllm_bench/openai-10.0qps-Llama-3.1-8B-20260425-184718.json",
);
const RUN = join(ROOT, "fixtures/validate/20261207-050245-sim_llama_first10");

/** `deno task validate ARGS` from the checkout, as a user runs it. */
const validate = (...args: string[]) => runDeno(["task", "-q", "validate", ...args]);

const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const readV = async (dir: string): Promise<Validation> =>
  JSON.parse(await Deno.readTextFile(join(dir, "validation.json")));

/** The lines of the table's ITL block (label, real, sim, error). */
function itlRows(stdout: string): string[][] {
  const lines = stdout.split("\n");
  const i = lines.findIndex((l) => /^ITL +real/.test(l));
  assert.ok(i > 0, `no ITL rows in:\n${stdout}`);
  return lines.slice(i, i + 3).map((l) => l.trim().split(/\s+/));
}

async function isPng(path: string): Promise<boolean> {
  const b = await Deno.readFile(path);
  return b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47;
}

async function withTemp(f: (dir: string) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "topobench_validate_in_" });
  try {
    await f(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("validate: a vllm bench --save-detailed JSON; ITL from itls by hand; vLLM's defaults named; CDF figure", async () => {
  await withTemp(async (dir) => {
    const r = await validate(VLLM, "--real-gpu", "RTXPRO6000", "--out", dir);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /\[vllm-bench-json\]/);
    assert.match(r.stdout, /real latencies client-side \(from the send, client clock\)/);
    assert.match(
      r.stdout,
      /vLLM's defaults for NVIDIA RTX PRO 6000 .*--max-num-seqs 1024, --max-num-batched-tokens 8192, --tp 1/,
    );
    const file = JSON.parse(await Deno.readTextFile(VLLM));
    const gaps: number[] = file.itls.flat().map((g: number) => g * 1000);
    const v = await readV(dir);
    assert.ok(Math.abs(v.itl!.real.mean - avg(gaps)) < 1e-9);
    assert.equal(v.itl!.realCount, gaps.length);
    assert.equal(itlRows(r.stdout).map((c) => c.length).join(), "7,6,7");
    assert.equal(v.recorded.arrivals, "recorded");
    // the replay keeps the recorded send times (ms after the first)
    const trace = (await Deno.readTextFile(join(dir, "trace.jsonl"))).trim().split("\n")
      .map((l) => JSON.parse(l).timestamp);
    assert.deepEqual(trace, file.start_times.map((s: number) => Math.round(s * 1000)));
    assert.ok(await isPng(join(dir, "validation_cdf.png")));
    assert.match(await Deno.readTextFile(join(dir, "validation_cdf.svg")), /SIMULATED replay/);
    // no running/waiting series in a vLLM file: no state figure
    await assert.rejects(Deno.stat(join(dir, "validation_state.png")));
  });
});

Deno.test("validate: a vLLM file without start_times gets arrivals rebuilt and says so; flags win", async () => {
  await withTemp(async (dir) => {
    const file = JSON.parse(await Deno.readTextFile(VLLM));
    delete file.start_times;
    const path = join(dir, "old.json");
    await Deno.writeTextFile(path, JSON.stringify(file));
    const r = await validate(
      path,
      "--gpu",
      "a100",
      "--max-num-seqs",
      "128",
      "--out",
      join(dir, "out"),
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      /arrivals REBUILT, not recorded \(the file has no start_times\): request_rate 10 req\/s, burstiness 1, drawn with seed 0: the same process as vLLM's schedule, not the same draws/,
    );
    assert.match(r.stdout, /engine settings from the command line: --max-num-seqs 128/);
    const v = await readV(join(dir, "out"));
    assert.equal(v.recorded.arrivals, "rebuilt");
    assert.equal(v.recorded.maxNumSeqs, 128);
    const trace = (await Deno.readTextFile(join(dir, "out", "trace.jsonl"))).trim().split("\n")
      .map((l) => JSON.parse(l).timestamp);
    assert.equal(trace.length, 10);
    assert.notDeepEqual(trace, file.ttfts.map(() => 0));
  });
});

Deno.test("validate: a topobench run dir of the simulated engine is refused unless --allow-simulated; ITL and series from its files", async () => {
  await withTemp(async (dir) => {
    const no = await validate(RUN, "--out", dir);
    assert.equal(no.code, 1);
    assert.match(
      no.stderr,
      /Cannot validate .* as a run recorded against real vLLM: current value is a run of the SIMULATED engine .*; allowed: .*--allow-simulated/,
    );
    const r = await validate(
      RUN,
      ...["--allow-simulated", "--gpu", "rtx-pro-6000", "--max-num-seqs", "128"],
      ...["--max-num-batched-tokens", "2048", "--out", dir],
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /\[topobench-run\]/);
    assert.match(r.stdout, /note: recorded against the SIMULATED engine \(--allow-simulated\)/);
    const gaps = (await Deno.readTextFile(join(RUN, "itl.jsonl"))).trim().split("\n")
      .flatMap((l) => JSON.parse(l).itl_ms as number[]);
    const v = await readV(dir);
    assert.ok(Math.abs(v.itl!.real.mean - avg(gaps)) < 1e-9);
    assert.equal(v.recorded.engine, "simulated");
    // one sample per scrape of server_metrics.csv (running and waiting rows)
    const scrapes = (await Deno.readTextFile(join(RUN, "server_metrics.csv"))).trim().split("\n")
      .slice(1).filter((l) => l.includes("num_requests_running")).length;
    assert.equal(v.timeseries!.samples.length, scrapes);
    assert.ok(await isPng(join(dir, "validation_state.png")));
    assert.match(
      await Deno.readTextFile(join(dir, "validation_state.svg")),
      /recorded run of the SIMULATED engine/,
    );
  });
});

Deno.test("validate: a trace folder says why ITL is absent and draws both figures; other paths are refused listing the four formats", async () => {
  await withTemp(async (dir) => {
    const r = await validate(TRACE, "--out", join(dir, "out"));
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /ITL not shown: the trace folder records no per-token times/);
    assert.ok(!/^ITL +real/m.test(r.stdout));
    assert.equal((await readV(join(dir, "out"))).itl, null);
    for (const f of ["validation_cdf", "validation_state"]) {
      assert.ok(await isPng(join(dir, "out", `${f}.png`)));
    }
    await Deno.mkdir(join(dir, "empty"));
    await Deno.writeTextFile(join(dir, "x.txt"), "");
    for (
      const [path, what] of [[join(dir, "empty"), "a folder with neither"], [
        join(dir, "x.txt"),
        "a file neither .json nor a client request log .jsonl",
      ]]
    ) {
      const e = await validate(path);
      assert.equal(e.code, 1);
      assert.match(
        e.stderr,
        new RegExp(`Cannot read .* as a recorded run: current value is ${what}`),
      );
      assert.match(
        e.stderr,
        /\(1\) a folder with meta\.json .*\(2\) a topobench run directory .*\(3\) a `vllm bench serve.*\(4\) a client request log/,
      );
    }
  });
});
