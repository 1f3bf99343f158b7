/**
 * The figures of `deno task validate`, written beside validation.json as PNG
 * and SVG: `validation_cdf` (real vs SIMULATED CDFs of TTFT, TPOT, E2E, and
 * ITL when the recording has per-token times) and, when the recording has a
 * running/waiting series, `validation_state` (both series over time). Specs
 * from `plot/charts/validation.ts`, rendered by the plot module.
 *
 * @module
 */
import { join } from "node:path";
import type { RecordedRun } from "../../lib/recorded_run.ts";
import { writeFileAtomic } from "../../lib/write_file.ts";
import { specToSvg } from "../../plot/render.ts";
import { svgToPng } from "../../plot/raster.ts";
import type { VlSpec } from "../../plot/_common.ts";
import {
  type CdfPanel,
  validationCdf,
  type ValidationLabels,
  validationState,
} from "../../plot/charts/validation.ts";
import type { Replay } from "./replay.ts";
import { METRICS, metricSamples, parallelText, type Validation } from "./validation.ts";

/** Legend labels and caption lines: which side is which, on which clock and hardware. */
export function figureLabels(v: Validation): ValidationLabels {
  const r = v.recorded;
  const clock = r.latencyClock === "engine"
    ? "engine clock, from queued"
    : "client clock, from send";
  const hw = `recorded on ${r.gpu ?? "an unknown GPU"} · simulated on ${v.simulated.gpuName}` +
    ` (--gpu ${v.simulated.gpu}), model profile ${v.simulated.modelProfile}`;
  return {
    real: r.engine === "vllm"
      ? `real vLLM run (${clock})`
      : `recorded run of the SIMULATED engine, live (${clock})`,
    sim: "SIMULATED replay (virtual clock)",
    ...(r.engine === "simulated" ? { recordedName: "recorded SIMULATED run" } : {}),
    model: r.model,
    notes: [
      `${r.requests} requests of ${r.dir} · ${hw}`,
      `${
        parallelText(r)
      }, max_num_seqs ${r.maxNumSeqs}, max_num_batched_tokens ${r.maxNumBatchedTokens}` +
      (r.arrivals === "rebuilt" ? " · arrivals REBUILT from the request rate, not recorded" : ""),
      ...(v.itlAbsent ? [`ITL not shown: ${v.itlAbsent}`] : []),
    ],
  };
}

async function writeFigure(spec: VlSpec, base: string): Promise<string> {
  const svg = await specToSvg(spec);
  await writeFileAtomic(`${base}.svg`, svg);
  await writeFileAtomic(`${base}.png`, svgToPng(svg));
  return `${base}.png`;
}

/** Writes the figures into `outDir`; returns the PNG paths. */
export async function writeFigures(
  v: Validation,
  run: RecordedRun,
  rp: Replay,
  outDir: string,
): Promise<string[]> {
  const l = figureLabels(v);
  const s = metricSamples(run, rp.rows);
  const panels: CdfPanel[] = METRICS.map(([k, label]) => ({
    axisTitle: `${label} (ms)`,
    real: s[k].real,
    sim: s[k].sim,
  }));
  if (v.itl) {
    panels.push({
      axisTitle: "ITL, every gap pooled (ms)",
      real: run.requests.flatMap((r) => r.itlMs ?? []),
      sim: rp.itlMs,
    });
  }
  const out = [await writeFigure(validationCdf(panels, l), join(outDir, "validation_cdf"))];
  const ts = v.timeseries;
  if (ts) {
    const samples = ts.samples.map((x) => ({ ...x, tS: x.tS - ts.offsetS }));
    // the state figure has no latencies: the ITL line would only distract
    const state = { ...l, notes: l.notes.filter((n) => !n.startsWith("ITL not shown")) };
    out.push(await writeFigure(validationState(samples, state), join(outDir, "validation_state")));
  }
  return out;
}
