/**
 * The progress of one `deno task predict --topology` load point and its
 * `--runs` repeats: a line per finished run, and on a terminal the status
 * line with the run's simulated time as it goes (cleared before the caller
 * prints its own lines).
 *
 * @module
 */
import { basename } from "node:path";
import { Progress } from "../../lib/progress.ts";
import type { Topology } from "../../launch/topology.ts";
import type { BenchConfig } from "../../bench/bench_config.ts";
import { rateUnit } from "../_sweep_progress.ts";
import { num } from "../_bench_cmd.ts";
import { type PredictRun, predictRun, type PredictRunOptions } from "./run_point.ts";

/** `predictRun`'s progress options reporting on `p` (its runs planned as one group). */
export function pointProgress(
  p: Progress,
  cfg: BenchConfig,
): Pick<PredictRunOptions, "progress" | "onRun" | "print"> {
  const name = basename(cfg.out);
  const label = (k: number) => cfg.runs > 1 ? `${name} run ${k}` : name;
  const rate = cfg.rateRps === Infinity ? "inf" : cfg.rateRps;
  let k = 1;
  p.plan("runs", cfg.runs);
  p.start(label(k));
  return {
    progress: p.tty ? (line) => p.note(line.replace(/^\[predict\] [^:]*: /, "")) : undefined,
    print: (text) => p.print(text),
    onRun: (s, simulatedMs) => {
      p.done({
        label: label(k),
        target: `${rate} ${rateUnit({ dataset: cfg.dataset.name })}`,
        achievedRps: s.request_throughput,
        p90TtftMs: num(s as unknown as Record<string, unknown>, "p90_ttft_ms"),
        simulatedS: simulatedMs / 1000,
        detail: s.saturated ? `stopped: ${s.saturation}` : null,
      });
      if (++k <= cfg.runs) p.start(label(k));
    },
  };
}

/** {@linkcode predictRun} with its progress on stderr (`[predict]` lines; a status line on a terminal). */
export async function predictPoint(
  topology: Topology,
  cfg: BenchConfig,
  o: PredictRunOptions,
): Promise<PredictRun> {
  using p = new Progress({ name: "predict", log: (l) => console.error(`[predict] ${l}`) });
  return await predictRun(topology, cfg, { ...o, ...pointProgress(p, cfg) });
}
