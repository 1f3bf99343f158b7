/**
 * Part of perf entry `predict` (issue 29, figure e): an 8-point sweep in
 * virtual time (agg and pd 1P1D, multi-turn W1 at 4 fixed rates each, 300 s a
 * point) run by `deno task predict EXPERIMENT.yaml` with `--workers 1` and
 * with `--workers 2` (this thread and one worker taking the 8 points from one
 * shared queue, `tasks/_point_pool.ts`): the wall times of the two commands,
 * their ratio, and whether the two result folders are identical byte for
 * byte. Each lane pays its own start-up (its module graph, ~0.3 s, and its
 * JIT warming up; a W1 run never loads the shipped tokenizer), so the points
 * are long enough for that to be small next to them.
 *
 * @module
 */
import { join, relative } from "node:path";
import type { PerfResult } from "../perf.ts";
import { inTempDir, type PredictChild, predictChild, W1 } from "./_predict_cli.ts";

/** Simulated seconds of each point: a search's points last minutes (a worker's start-up is paid once). */
const POINT_S = 300;

/** The sweep: 2 topologies x 4 rates (conv/s), below both one's saturation. */
const RATES = [2, 4, 6, 8];

function experimentYaml(): string {
  const workload = Object.entries({ ...W1, duration: POINT_S }).map(([k, v]) => `${k}: ${v}`);
  return [
    "name: perf-workers",
    "description: issue 29's 8-point sweep (perf entry predict)",
    "clock: virtual",
    "topologies:",
    "  - { label: agg, file: fixtures/topologies/sim_agg.yaml }",
    "  - { label: pd, file: fixtures/topologies/sim_pd_1p1d.yaml }",
    `workload: { ${workload.join(", ")} }`,
    `sweep: { rates: [${RATES.join(", ")}], stop: { max_error_rate: 1 } }`,
    "",
  ].join("\n");
}

/** Every file under `dir`, relative to it, sorted. */
async function filesUnder(dir: string, at = dir): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(at)) {
    const p = join(at, e.name);
    if (e.isDirectory) out.push(...await filesUnder(dir, p));
    else out.push(relative(dir, p));
  }
  return out.sort();
}

/** Files that differ between `a` and `b` (present in one only, or other bytes). */
async function differing(a: string, b: string): Promise<{ files: number; differ: string[] }> {
  const [fa, fb] = [await filesUnder(a), await filesUnder(b)];
  const differ = [...fa.filter((f) => !fb.includes(f)), ...fb.filter((f) => !fa.includes(f))];
  for (const f of fa.filter((f) => fb.includes(f))) {
    const [x, y] = [await Deno.readFile(join(a, f)), await Deno.readFile(join(b, f))];
    if (x.length !== y.length || x.some((v, i) => v !== y[i])) differ.push(f);
  }
  return { files: fa.length, differ };
}

/** Runs the sweep with `workers` into `dir/out`, then moves it to `dir/w<workers>`. */
async function sweepWith(dir: string, file: string, workers: number): Promise<PredictChild> {
  const c = await predictChild([
    file,
    "--workers",
    String(workers),
    "--no-plot",
    "--out",
    join(dir, "out"),
  ]);
  if (c.code !== 0) {
    throw new Error(`Cannot measure ${c.command}: it ended with code ${c.code}:\n${c.stderrTail}`);
  }
  await Deno.rename(join(dir, "out"), join(dir, `w${workers}`));
  return c;
}

/** (e) Wall time of the 8-point sweep with 1 worker over that with 2. */
export function workersSpeedup(): Promise<PerfResult[]> {
  return inTempDir("workers", async (dir) => {
    const file = join(dir, "perf-workers.yaml");
    await Deno.writeTextFile(file, experimentYaml());
    const one = await sweepWith(dir, file, 1);
    const two = await sweepWith(dir, file, 2);
    const same = await differing(join(dir, "w1"), join(dir, "w2"));
    return [{
      entry: "predict",
      metric: "8-point sweep: wall with 1 worker / with 2",
      value: one.processWallS / two.processWallS,
      unit: "x",
      note: `${one.processWallS.toFixed(1)} s vs ${two.processWallS.toFixed(1)} s wall, ${
        same.differ.length
          ? `outputs DIFFER: ${same.differ.slice(0, 5).join(", ")}`
          : `outputs identical (${same.files} files)`
      }, ${two.load}; ${
        one.command.replaceAll(dir, "$TMP")
      } (then --workers 2; the file: agg and pd x ${RATES.join(", ")} conv/s, W1, ${POINT_S} s)`,
    }];
  });
}
