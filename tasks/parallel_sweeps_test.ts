/**
 * A virtual-time pipeline sweeps its topologies and their points in parallel
 * workers with the same files, byte for byte, and the same log lines in the
 * same order as one after the other (a stop rule's skipped points that ran
 * ahead deleted); a worker's error is the pipeline's error.
 */
import assert from "node:assert/strict";
import { basename, join, relative } from "node:path";
import { stringify as stringifyYaml } from "yaml";
import { type Experiment, loadExperiment, ROOT } from "./_experiment.ts";
import { type PipelineOptions, runPipeline } from "./pipeline.ts";

const fixture = (f: string) => join(ROOT, "fixtures/topologies", f);
const START = new Date("2026-03-01T12:00:00Z");

/** The fixture topology of each label. */
const FILES: Record<string, string> = {
  agg: "sim_agg.yaml",
  pd: "sim_pd_1p1d.yaml",
  dp: "sim_dp.yaml",
};

/**
 * A tiny fixed-rate experiment of the topologies `labels` (`sweep`: its sweep and workload); a
 * label not in {@linkcode FILES} is the file `LABEL.yaml` in `dir`.
 */
async function experiment(
  dir: string,
  labels: string[],
  sweep: Record<string, unknown> = { rates: [2, 6] },
  inputLen = 128,
) {
  const topologies = labels.map((label) => ({
    label,
    file: label in FILES ? fixture(FILES[label]) : join(dir, `${label}.yaml`),
  }));
  const p = join(dir, "par.yaml");
  await Deno.writeTextFile(
    p,
    stringifyYaml({
      name: "par",
      topologies,
      workload: { "input-len": inputLen, "output-len": 16, duration: 3, seed: 4 },
      sweep,
      slo: { ttft_ms: 200, tpot_ms: 40 },
    }),
  );
  return await loadExperiment(p);
}

/** Calls `fn` with a fresh temporary folder, removed after. */
async function inTemp(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "topobench_parallel_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/** The pipeline into `outRoot` with `workers`, quiet, no figures, from {@linkcode START}. */
function pipeline(exp: Experiment, outRoot: string, workers: number, o: PipelineOptions = {}) {
  return runPipeline(exp, {
    outRoot,
    startTime: START,
    workers,
    plot: false,
    statusLine: false,
    log: () => {},
    ...o,
  });
}

const NAMES = ["requests.csv", "summary.json", "merged.csv", "findings.md"];

/** Requires the same files named {@linkcode NAMES} under `a` and `b`, byte for byte; returns how many. */
async function sameFiles(a: string, b: string): Promise<number> {
  const fa = await filesNamed(a, NAMES);
  const fb = await filesNamed(b, NAMES);
  assert.deepEqual([...fb.keys()].sort(), [...fa.keys()].sort());
  for (const [k, p] of fa) {
    assert.deepEqual(await Deno.readFile(fb.get(k)!), await Deno.readFile(p), `${k} differs`);
  }
  return fa.size;
}

/** Every file under `dir` (its dot folders left out) named one of `names`, by path relative to `dir`. */
async function filesNamed(dir: string, names: string[], at = dir): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for await (const e of Deno.readDir(at)) {
    const p = join(at, e.name);
    if (names.includes(e.name)) out.set(relative(dir, p), p);
    if (!e.isDirectory || e.name.startsWith(".")) continue; // .interrupted: not the study's
    for (const [k, v] of await filesNamed(dir, names, p)) out.set(k, v);
  }
  return out;
}

Deno.test("pipeline: 3 topologies in 2 workers write the same bytes as one after the other", async () => {
  await inTemp(async (dir) => {
    const exp = await experiment(dir, ["agg", "pd", "dp"]);
    // both into one folder (merged.csv names run folders by their paths), the first moved aside
    const out = join(dir, "out");
    const one = await pipeline(exp, out, 1);
    await Deno.rename(out, join(dir, "w1"));
    const two = await pipeline(exp, out, 2);
    assert.deepEqual(Object.keys(two.points), ["agg", "pd", "dp"], "in the experiment's order");
    assert.equal(await sameFiles(join(dir, "w1"), out), 3 * 2 * 2 + 2);
    assert.deepEqual(two.findings, one.findings);
  });
});

/** Every file under `dir` with its bytes, by path relative to `dir`. */
async function everyFile(dir: string, at = dir): Promise<Map<string, Uint8Array>> {
  const out = new Map<string, Uint8Array>();
  for await (const e of Deno.readDir(at)) {
    const p = join(at, e.name);
    if (e.isDirectory) { for (const [k, v] of await everyFile(dir, p)) out.set(k, v); }
    else out.set(relative(dir, p), await Deno.readFile(p));
  }
  return out;
}

/**
 * Runs `exp` with 1 worker, then with 2, into one folder (the first moved
 * aside); requires every file byte for byte and the same log lines in the
 * same order (wall times and ETAs left out); returns the files and the lines.
 */
async function sameAsOneByOne(dir: string, exp: Experiment) {
  const out = join(dir, "out");
  const lines: string[][] = [[], []];
  const wallFree = (l: string) => l.replace(/, [\d.]+ m?s wall|, ETA \d+ s/g, "");
  for (const workers of [1, 2]) {
    if (workers === 2) await Deno.rename(out, join(dir, "w1"));
    const log = (l: string) => lines[workers - 1].push(wallFree(l));
    await pipeline(exp, out, workers, { log });
  }
  const [one, two] = [await everyFile(join(dir, "w1")), await everyFile(out)];
  assert.deepEqual([...two.keys()].sort(), [...one.keys()].sort());
  for (const [k, bytes] of one) assert.deepEqual(two.get(k), bytes, `${k} differs`);
  assert.deepEqual(lines[1], lines[0]);
  return { files: [...one.keys()], lines: lines[0] };
}

Deno.test("pipeline: 2 topologies x 3 rates in 2 workers: every file and log line as one by one", async () => {
  await inTemp(async (dir) => {
    const exp = await experiment(dir, ["agg", "pd"], { rates: [2, 20, 40] }, 1024);
    const { files, lines } = await sameAsOneByOne(dir, exp);
    assert.equal(files.filter((f) => f.endsWith("summary.json")).length, 6);
    assert.equal(lines.filter((l) => / done \d of 6/.test(l)).length, 6, lines.join("\n"));
  });
});

Deno.test("pipeline: 1 topology x 4 rates, its points in 2 workers: every file and log line as one by one", async () => {
  await inTemp(async (dir) => {
    const exp = await experiment(dir, ["agg"], { rates: [2, 20, 40, 80] }, 1024);
    const { files } = await sameAsOneByOne(dir, exp);
    assert.equal(files.filter((f) => f.endsWith("summary.json")).length, 4);
  });
});

Deno.test("pipeline: points a stop rule skips, run ahead in a worker, are deleted (files as one by one)", async () => {
  await inTemp(async (dir) => {
    // p99 TTFT ~51, ~118, ~225, ~1900 ms at these rates: the sweep stops after 20 req/s
    const sweep = { rates: [2, 20, 40, 80], stop: { max_p99_ttft_ms: 100 } };
    const exp = await experiment(dir, ["agg"], sweep, 1024);
    const { files, lines } = await sameAsOneByOne(dir, exp);
    const runs = files.filter((f) => f.endsWith("summary.json")).map((f) => f.split("/")[1]);
    assert.deepEqual(runs.sort(), ["20260301-120000-agg-r2", "20260301-120000-agg-r20"]);
    assert.ok(lines.some((l) => /agg-r20: .*stop: p99 TTFT/.test(l)), lines.join("\n"));
  });
});

Deno.test("pipeline: a topology that fails in a worker fails the pipeline with its error and class", async () => {
  await inTemp(async (dir) => {
    // a valid file that virtual time refuses at its first point (no profile for its model)
    const agg = await Deno.readTextFile(fixture("sim_agg.yaml"));
    const model = "meta-llama/Llama-3.1-8B-Instruct";
    await Deno.writeTextFile(join(dir, "unknown.yaml"), agg.replace(model, "nobody/unknown-model"));
    const exp = await experiment(dir, ["agg", "unknown"]);
    await assert.rejects(
      () => pipeline(exp, dir, 2),
      (e: unknown) => {
        assert.ok(e instanceof RangeError, String(e));
        assert.match(e.message, /Cannot use "nobody\/unknown-model" as --model/);
        return true;
      },
    );
  });
});

Deno.test("pipeline: Ctrl-C stops the workers; the resumed run reuses no cut point and names its folders as a clean one", async () => {
  await inTemp(async (dir) => {
    const exp = await experiment(dir, ["agg", "pd"]);
    const out = join(dir, "out");
    // the signal Ctrl-C aborts, as the first point finishes (the other one is running)
    const stop = new AbortController();
    const log = (l: string) => / done 1 of/.test(l) && stop.abort(new Error("interrupted"));
    await assert.rejects(() => pipeline(exp, out, 2, { log, signal: stop.signal }), /interrupted/);
    // Deno stops a terminated worker at its event loop's next turn, at the latest after 2 s
    // (denoland/deno#12930); a CLI run exits at once, this test goes on in the same process
    await new Promise((r) => setTimeout(r, 2500));
    const lines: string[] = [];
    const res = await pipeline(exp, out, 2, { log: (l) => lines.push(l) });
    assert.ok(lines.some((l) => / already done 1 of/.test(l)), lines.join("\n"));
    // every point once, in the folder a clean run names it (a cut attempt is moved aside)
    const dirs = Object.values(res.points).flat().map((p) => basename(p.runDir)).sort();
    assert.deepEqual(
      dirs,
      ["agg-r2", "agg-r6", "pd-r2", "pd-r6"].map((l) => `20260301-120000-${l}`),
    );
    assert.equal(res.rows.filter((r) => r.run_index !== "mean").length, 4);
  });
});
