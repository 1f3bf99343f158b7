/**
 * The text `deno task validate` prints: what was replayed on what, the table
 * (rows TTFT, TPOT, E2E, each as real / sim / error lines; columns mean, p50,
 * p90, p95, p99 in ms, and the KS distance), and the running/waiting series
 * error when the recording has one.
 *
 * @module
 */
import { type Stat, STATS } from "./compare.ts";
import type { SeriesError } from "./compare.ts";
import { METRICS, type Validation } from "./validation.ts";

const W = 10;

/** A value in ms as the table shows it; "-" for none. */
export function msCell(v: number): string {
  if (!Number.isFinite(v)) return "-";
  return Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(1);
}

/** An error as the table shows it: signed, one decimal, "%"; "-" for none. */
export function pctCell(v: number | null): string {
  if (v === null || !Number.isFinite(v)) return "-";
  return `${v >= 0 ? "+" : "−"}${Math.abs(v).toFixed(1)}%`;
}

/** The metric table: a header, then three lines per metric. */
export function metricTable(v: Validation): string[] {
  const head = ["metric", "", ...STATS, "KS"];
  const line = (cells: string[]) =>
    cells[0].padEnd(7) + cells[1].padEnd(6) +
    cells.slice(2).map((c) => c.padStart(W)).join("").trimEnd();
  const out = [line(head)];
  for (const [key, label] of METRICS) {
    const m = v.metrics[key];
    const of = (f: (s: Stat) => string) => STATS.map(f);
    out.push(line([label, "real", ...of((s) => msCell(m.real[s])), ""]));
    out.push(line(["", "sim", ...of((s) => msCell(m.sim[s])), ""]));
    out.push(
      line([
        "",
        "error",
        ...of((s) => pctCell(m.errorPct[s])),
        Number.isFinite(m.ks) ? m.ks.toFixed(3) : "-",
      ]),
    );
  }
  return out;
}

function seriesLine(name: string, e: SeriesError, check: SeriesError): string {
  return `${name}: mean |sim − real| ${e.maeRequests.toFixed(1)} requests (${
    pctCell(e.maePctOfMean).replace(/^\+/, "")
  } of the real mean ${e.realMean.toFixed(1)}), max ${e.maxAbsRequests}; counting the recorded ` +
    `requests the same way: ${check.maeRequests.toFixed(1)}`;
}

/** The whole report. */
export function reportText(v: Validation): string {
  const r = v.recorded;
  const s = v.simulated;
  const hw = v.hardwareDiffers === null
    ? "the recorded GPU is unknown (give --real-gpu): whether the hardware matches is not known"
    : v.hardwareDiffers
    ? `the hardware differs: recorded on ${r.gpu}, simulated on ${s.gpuName} (--gpu ${s.gpu})`
    : `same GPU: ${s.gpuName}`;
  const out = [
    `validate: ${r.requests} requests of ${r.dir} (${r.model}${
      r.vllmVersion ? `, vLLM ${r.vllmVersion}` : ""
    }, TP ${r.tensorParallelSize}, max_num_seqs ${r.maxNumSeqs}, max_num_batched_tokens ${r.maxNumBatchedTokens})`,
    `replayed: SIMULATED engine, virtual clock, ${s.gpuName} (--gpu ${s.gpu}), model profile ${s.modelProfile}; ${
      s.simulatedS.toFixed(1)
    } s simulated in ${s.wallS.toFixed(2)} s${
      s.failed ? `; ${s.failed} of ${s.requests} requests failed` : ""
    }`,
    `note: ${hw}`,
    "",
    "latency (ms), pooled per request; error = (sim − real) / real",
    ...metricTable(v),
  ];
  const ts = v.timeseries;
  if (ts) {
    out.push(
      "",
      `engine state, ${ts.running.samples} samples (timeseries.csv, once a second):`,
      seriesLine("running", ts.running, ts.derivationCheck.running),
      seriesLine("waiting", ts.waiting, ts.derivationCheck.waiting),
    );
  }
  return out.join("\n");
}
