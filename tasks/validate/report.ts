/**
 * The text `deno task validate` prints: what was replayed on what (and what
 * was assumed: settings from flags or defaults, rebuilt arrivals), the table
 * (rows TTFT, TPOT, E2E and, when the recording has per-token times, ITL, each
 * as real / sim / error lines; columns mean, p50, p90, p95, p99 in ms, and the
 * KS distance; else a line saying why ITL is absent), and the running/waiting
 * series error when the recording has one.
 *
 * @module
 */
import { type MetricComparison, type Stat, STATS } from "./compare.ts";
import type { SeriesError } from "./compare.ts";
import { METRICS, parallelText, type Validation } from "./validation.ts";

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

const line = (cells: string[]) =>
  cells[0].padEnd(7) + cells[1].padEnd(6) +
  cells.slice(2).map((c) => c.padStart(W)).join("").trimEnd();

/** The three lines (real, sim, error with KS) of one metric. */
function metricLines(label: string, m: MetricComparison): string[] {
  const of = (f: (s: Stat) => string) => STATS.map(f);
  return [
    line([label, "real", ...of((s) => msCell(m.real[s])), ""]),
    line(["", "sim", ...of((s) => msCell(m.sim[s])), ""]),
    line([
      "",
      "error",
      ...of((s) => pctCell(m.errorPct[s])),
      Number.isFinite(m.ks) ? m.ks.toFixed(3) : "-",
    ]),
  ];
}

/** The metric table: a header, then three lines per metric (ITL when the recording has it). */
export function metricTable(v: Validation): string[] {
  const out = [line(["metric", "", ...STATS, "KS"])];
  for (const [key, label] of METRICS) out.push(...metricLines(label, v.metrics[key]));
  if (v.itl) out.push(...metricLines("ITL", v.itl));
  return out;
}

function seriesLine(name: string, e: SeriesError, check: SeriesError): string {
  return `${name}: mean |sim − real| ${e.maeRequests.toFixed(1)} requests (${
    pctCell(e.maePctOfMean).replace(/^\+/, "")
  } of the real mean ${e.realMean.toFixed(1)}), max ${e.maxAbsRequests}; counting the recorded ` +
    `requests the same way: ${check.maeRequests.toFixed(1)}`;
}

/**
 * Issue 30's goals on this run: mean and p50 within 10%, p90 within 15% for
 * TTFT, TPOT and E2E; "met", or the statistics that miss them.
 */
export function goalsLine(v: Validation): string {
  const miss: string[] = [];
  for (const [key, label] of METRICS) {
    const e = v.metrics[key].errorPct;
    for (const [stat, tol] of [["mean", 10], ["p50", 10], ["p90", 15]] as const) {
      const x = e[stat];
      if (x === null || Math.abs(x) > tol) {
        miss.push(`${stat} ${label} ${x === null ? "n/a" : `${x > 0 ? "+" : ""}${x.toFixed(1)}%`}`);
      }
    }
  }
  return `goals (mean and p50 within 10%, p90 within 15%): ${
    miss.length ? `missed: ${miss.join(", ")}` : "met"
  }`;
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
  const clock = r.latencyClock === "engine"
    ? "real latencies engine-side (from queued, engine clock)"
    : "real latencies client-side (from the send, client clock)";
  const out = [
    `validate: ${r.requests} requests of ${r.dir} [${r.format}] (${r.model}${
      r.vllmVersion ? `, vLLM ${r.vllmVersion}` : ""
    }, ${
      parallelText(r)
    }, max_num_seqs ${r.maxNumSeqs}, max_num_batched_tokens ${r.maxNumBatchedTokens})`,
    `replayed: SIMULATED engine, virtual clock, ${s.gpuName} (--gpu ${s.gpu}), model profile ${s.modelProfile}; ${
      s.simulatedS.toFixed(1)
    } s simulated in ${s.wallS.toFixed(2)} s${
      s.failed ? `; ${s.failed} of ${s.requests} requests failed` : ""
    }`,
    `note: ${hw}`,
    ...(s.gpuAssumed ? [`note: the ${s.gpu} profile assumes ${s.gpuAssumed}`] : []),
    `note: ${clock}; simulated from the replay's send, no router hop`,
    ...r.notes.map((n) => `note: ${n}`),
    "",
    "latency (ms), pooled per request (ITL: over all gaps); error = (sim − real) / real; KS = the",
    "largest gap between the sim and real CDFs (0: the same distribution, 1: no overlap)",
    ...metricTable(v),
    ...(v.itlAbsent ? [`ITL not shown: ${v.itlAbsent}`] : []),
    goalsLine(v),
  ];
  const ts = v.timeseries;
  if (ts) {
    out.push(
      "",
      `engine state, ${ts.running.samples} samples (${
        r.format === "trace-folder" ? "timeseries.csv, once a second" : "server_metrics.csv scrapes"
      }):`,
      seriesLine("running", ts.running, ts.derivationCheck.running),
      seriesLine("waiting", ts.waiting, ts.derivationCheck.waiting),
    );
  }
  return out.join("\n");
}
