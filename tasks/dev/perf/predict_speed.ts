/**
 * Perf entries `predict` and `predict-fast` (issue 29's figures). Each figure
 * runs `deno task predict` in a child process and reads the loop's simulated
 * seconds per wall second as predict prints it (one process = one worker):
 *
 * - (a) agg and pd 1P1D, multi-turn W1 at 90% of each one's probed saturation, 600 s;
 * - (b) agg at 3x its probed saturation on random 1024/128 (the queue grows), 60 s: played to
 *   the end, and with the saturation stop;
 * - (c) the queue-heavy real trace (`fixtures/traces/rtxpro6000_llama31_8b_sharegpt300.jsonl`)
 *   on agg with the trace's engine settings, median of 3 runs.
 *
 * `predict` adds (d) peak RSS of one simulated hour (`predict_hour.ts`), (e) 2
 * workers against 1 on an 8-point sweep (`predict_workers.ts`) and the live vs
 * virtual cross-check (`predict_xcheck.ts`); `predict-fast` is (a)–(c) only.
 *
 * @module
 */
import { join } from "node:path";
import type { PerfResult } from "../perf.ts";
import {
  argsOf,
  finished,
  inTempDir,
  type PredictChild,
  predictChild,
  probeSaturation,
  W1,
} from "./_predict_cli.ts";
import { hourMemory } from "./predict_hour.ts";
import { workersSpeedup } from "./predict_workers.ts";
import { crossChecks } from "./predict_xcheck.ts";

const RANDOM = { dataset: "random", "input-len": 1024, "output-len": 128, seed: 0 };
const TOPOS = [["agg", "sim_agg.yaml"], ["pd", "sim_pd_1p1d.yaml"]] as const;

/** The trace (c) and its engine settings (meta.json of the recorded run). */
export const TRACE = "fixtures/traces/rtxpro6000_llama31_8b_sharegpt300.jsonl";
const TRACE_ENGINE = "server.extra_args=[--max-num-seqs,128,--max-num-batched-tokens,2048]";

/** One figure: simulated s per wall s of `c`'s loop. */
function speedRow(metric: string, c: PredictChild, extra = ""): PerfResult {
  return {
    entry: "predict",
    metric,
    value: Math.round(c.simulatedS / c.loopWallS),
    unit: "x real time",
    note: `${c.simulatedS.toFixed(0)} s simulated in ${
      c.loopWallS.toFixed(2)
    } s loop wall, ${c.events} events, peak RSS ${
      c.peakRssMiB.toFixed(0)
    } MiB${extra}, ${c.load}; ${c.command}`,
  };
}

/** (a) agg or pd at 90% of its W1 saturation for 600 simulated s. */
async function nearSaturation(dir: string, label: string, file: string): Promise<PerfResult> {
  const rate = Number((0.9 * await probeSaturation(dir, file, W1)).toPrecision(3));
  const c = finished(
    await predictChild([
      "--topology",
      join("fixtures/topologies", file),
      ...argsOf({ ...W1, rate, duration: 600, out: join(dir, label) }),
    ]),
  );
  return speedRow(`${label}: W1 at ${rate} conv/s (90% of saturation), 600 s`, c);
}

/**
 * (b) agg at 3x its saturation on random 1024/128 for 60 s: the loop's speed
 * while the queue grows all along (`--saturation-stop off`), then the same
 * point as a sweep runs it (the stop ends it once the queue has clearly diverged).
 */
async function overload(dir: string): Promise<PerfResult[]> {
  const rate = Number((3 * await probeSaturation(dir, "sim_agg.yaml", RANDOM)).toPrecision(2));
  const run = async (stop: "on" | "off") =>
    finished(
      await predictChild([
        "--topology",
        "fixtures/topologies/sim_agg.yaml",
        ...argsOf({
          ...RANDOM,
          rate,
          duration: 60,
          "saturation-stop": stop,
          out: join(dir, `overload-${stop}`),
        }),
      ]),
    );
  const what = `agg: random 1024/128 at ${rate} req/s (3x saturation), 60 s`;
  return [
    speedRow(`${what}, played to the end`, await run("off")),
    speedRow(`${what}, saturation stop on (a sweep's default)`, await run("on")),
  ];
}

/** (c) The trace on agg with max_num_seqs 128, max_num_batched_tokens 2048: median of `runs`. */
async function traceReplay(dir: string, runs = 3): Promise<PerfResult> {
  const cs: PredictChild[] = [];
  for (let i = 0; i < runs; i++) {
    cs.push(finished(
      await predictChild([
        "--topology",
        "fixtures/topologies/sim_agg.yaml",
        "--set",
        TRACE_ENGINE,
        ...argsOf({ dataset: "trace", "dataset-path": TRACE, seed: 0, out: join(dir, "trace") }),
      ]),
    ));
  }
  const speed = (c: PredictChild) => c.simulatedS / c.loopWallS;
  const sorted = cs.toSorted((a, b) => speed(a) - speed(b));
  return speedRow(
    `agg: ShareGPT trace, 300 requests, max_num_seqs 128 (median of ${runs})`,
    sorted[Math.floor(runs / 2)],
    `; runs ${cs.map((c) => speed(c).toFixed(0)).join(" / ")}x`,
  );
}

/** `predict-fast`: the loop-speed figures (a)-(c), about a minute. */
export function predictFast(_seconds: number): Promise<PerfResult[]> {
  return inTempDir("predict", async (dir) => {
    const out: PerfResult[] = [];
    for (const [label, file] of TOPOS) out.push(await nearSaturation(dir, label, file));
    out.push(...await overload(dir));
    out.push(await traceReplay(dir));
    return out;
  });
}

/** `predict`: (a)-(c), (d) one simulated hour's memory, (e) 2 workers vs 1, the live cross-check. */
export async function predictSpeed(seconds: number): Promise<PerfResult[]> {
  return [
    ...await predictFast(seconds),
    ...await hourMemory(),
    ...await workersSpeedup(),
    ...await crossChecks(seconds),
  ];
}
