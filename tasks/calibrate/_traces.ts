/**
 * The trace rows of `deno task calibrate`: each real vLLM run of
 * `fixtures/calibration/traces` replayed in virtual time as `deno task
 * validate` replays it (engine-side arrivals and settings, the recorded GPU's
 * profile), with the error of mean, p50 and p90 of TTFT, TPOT and E2E. Gates
 * (issue 30): mean and p50 within 10%, p90 within 15%.
 *
 * The physical parameters are the same for every row and trace; the ones fitted
 * on a trace say so where they are defined (`PCIE_COLLECTIVE_LATENCY_MS`,
 * `PCIE_COMM_EFFICIENCY` in cost_model.ts).
 *
 * @module
 */
import { join } from "node:path";
import { ROOT } from "../_experiment.ts";
import { readRecorded } from "../../lib/recorded_run.ts";
import { gpuToSimulate, recordedGpuOf } from "../validate/gpu.ts";
import { replayRun } from "../validate/replay.ts";
import { METRICS, parallelText, validation } from "../validate/validation.ts";

/** The recorded runs calibrate replays. */
export const TRACE_DIR = join(ROOT, "fixtures/calibration/traces");

/** One statistic of one metric of one trace. */
export interface TraceRow {
  /** Folder name, e.g. `RTXPRO6000_Qwen3-32B`. */
  id: string;
  /** What ran: model, parallelism, simulated GPU profile. */
  what: string;
  /** e.g. `mean TTFT (ms)`. */
  metric: string;
  real: number;
  simulated: number;
  errorPct: number;
  /** The gate: 10% for mean and p50, 15% for p90. */
  tolerancePct: number;
  agrees: boolean;
}

const STATS = [["mean", 10], ["p50", 10], ["p90", 15]] as const;

/** Replays every trace folder (run directories under `dir`) and returns its rows. */
export async function traceRows(dir: string): Promise<TraceRow[]> {
  const rows: TraceRow[] = [];
  const names = [...Deno.readDirSync(TRACE_DIR)].filter((e) => e.isDirectory).map((e) => e.name);
  for (const id of names.sort()) {
    const folder = join(TRACE_DIR, id);
    const run = await readRecorded(folder);
    const { gpu: real } = recordedGpuOf({ ...run, gpuName: run.meta.gpuName }, undefined);
    const gpu = gpuToSimulate(undefined, real, folder);
    const rp = await replayRun(run, { gpu, outDir: join(dir, id) });
    const v = validation(run, rp, real?.name ?? null);
    const what = `${v.recorded.model}, ${parallelText(v.recorded)}, on ${rp.gpu.id}`;
    for (const [key, label] of METRICS) {
      const m = v.metrics[key];
      for (const [stat, tolerancePct] of STATS) {
        const real = m.real[stat];
        const simulated = m.sim[stat];
        const errorPct = (simulated / real - 1) * 100;
        rows.push({
          id,
          what,
          metric: `${stat} ${label} (ms)`,
          real,
          simulated,
          errorPct,
          tolerancePct,
          agrees: Math.abs(errorPct) <= tolerancePct,
        });
      }
    }
  }
  return rows;
}
