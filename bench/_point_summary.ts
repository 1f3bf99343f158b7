/**
 * The end of one load point: the output-token check (a sample of answers
 * counted again), its summary with what bench adds (simulated, metric
 * definitions, KV usage by turn, streamed) and its classes' summaries,
 * `summary.json` written again, and vLLM's result block on stderr.
 *
 * @module
 */
import { LazyTokenizer } from "../lib/tokenizer.ts";
import { verdictText } from "../lib/saturation.ts";
import type { LoadPointSummary } from "../lib/result_schema.ts";
import { offeredUnit } from "../lib/rate_unit.ts";
import type { RunRows } from "./record.ts";
import type { Finished, RunState } from "./runner.ts";
import { classSummaries, summaryMeta } from "./run_files.ts";
import { kvUsageByTurn } from "./scrape.ts";
import { resultBlock, summarize } from "./summary.ts";
import type { PointOutcome } from "./_executor.ts";
import type { RunSession } from "./_session.ts";
import { serverTokenCounts } from "./_server_info.ts";
import type { SummaryRows } from "./summary_rows.ts";
import { percentile } from "../lib/stats.ts";

/** Answers whose output tokens are counted again, at most. */
const MISMATCH_SAMPLE = 500;

/** What a load point's answers say beyond their rows. */
export class AnswerChecks {
  /** Answers that came whole (not streamed). */
  whole = 0;
  /** Texts of answers whose token count came from the server, to count again. */
  readonly sample: { text: string; tokens: number }[] = [];

  add(f: Finished): void {
    if (!f.result.streamed) this.whole++;
    if (!f.result.error && !f.outputFromTokenizer && this.sample.length < MISMATCH_SAMPLE) {
      this.sample.push({ text: f.result.text, tokens: f.outputTokens });
    }
  }

  /** A sender thread's batch: answers that came whole, answers to count again. */
  addBatch(whole: number, samples: readonly { text: string; tokens: number }[]): void {
    this.whole += whole;
    for (const x of samples) if (this.sample.length < MISMATCH_SAMPLE) this.sample.push(x);
  }
}

/** A finished load point. */
export interface FinishedPoint {
  /** Its repeat index (0-based). */
  k: number;
  runId: string;
  originMs: number;
  sink: RunRows;
  state: RunState;
  checks: AnswerChecks;
  outcome: PointOutcome;
}

/** Summarizes a finished load point (and its classes), writes `summary.json`, prints the result block. */
export async function summarizePoint(s: RunSession, p: FinishedPoint): Promise<void> {
  const { cfg, log, target } = s;
  const mismatches = p.outcome.mismatches + await countMismatches(s, p.checks);
  const meta = {
    model: target.model,
    tokenizer: target.tok.name,
    date: s.started.toISOString(),
    runId: p.runId,
    runIndex: p.k + 1,
    complete: !s.stopped && p.outcome.complete,
    maxConcurrent: p.state.maxInFlight,
    gpus: cfg.gpus ?? null,
    timeScale: cfg.timeScale,
    saturated: p.state.saturated && verdictText(p.state.saturated),
  };
  const { rows, itls, tokensPerSecond } = p.sink;
  const sum = summarize(rows, itls, tokensPerSecond, {
    ...summaryMeta(cfg, meta),
    ...meta,
    outputTokenMismatches: mismatches,
  });
  sum.simulated = target.simulated;
  sum.metrics_compat = cfg.metricsCompat;
  if (p.outcome.senders !== undefined) sum.senders = p.outcome.senders;
  addKvUsage(s, p, sum);
  // answers that came whole: their TTFT is the full response time (nothing streamed before)
  sum.streamed = p.checks.whole === 0;
  if (p.checks.whole > 0) {
    const asked = target.streamAsked;
    (asked ? log.warn : log.info)(
      `${p.checks.whole} answers came whole (not streamed${
        asked ? " although a stream was asked for" : ""
      }): TTFT = E2E = the full response time for them`,
    );
  }
  s.summaries.push(sum);
  // request classes: one summary each after the run's (the same run id; `class` names it)
  const extra = { simulated: target.simulated, metrics_compat: cfg.metricsCompat };
  for (
    const cs of classSummaries(cfg, p.sink.byClass, sum, meta, { ...extra, streamed: sum.streamed })
  ) {
    s.summaries.push(cs);
    log.info(
      `class ${cs.class} (${cs.workload}): ${cs.completed} done, ${cs.failed} failed, ${cs.rate_target} ${
        offeredUnit(cs.workload)
      } offered, ${cs.rate_achieved} req/s sent, mean TTFT ${cs.mean_ttft_ms} ms`,
    );
  }
  p.sink.close();
  await s.saveSummaries();
  report(s, sum, p.sink.rows);
}

/**
 * Output-token mismatches in the sample: counted by the server's /tokenize
 * when it has one (no tokenizer loaded into this process), else by the client tokenizer.
 */
async function countMismatches(s: RunSession, checks: AnswerChecks): Promise<number> {
  const { tok } = s.target;
  const sample = checks.sample;
  const lazyTok = tok instanceof LazyTokenizer && !tok.loaded;
  const byServer = sample.length && lazyTok
    ? await serverTokenCounts(s.cfg.url, s.target.model, sample.map((c) => c.text))
    : null;
  if (sample.length && !byServer && tok instanceof LazyTokenizer) await tok.load();
  return sample.filter((c, i) => (byServer ? byServer[i] : tok.encode(c.text).length) !== c.tokens)
    .length;
}

/** `kv_usage_by_turn` from the scraped KV usage (the scraper's clock starts at t0, the point's at its origin). */
function addKvUsage(s: RunSession, p: FinishedPoint, sum: LoadPointSummary): void {
  if (!s.scraper) return;
  const shift = s.toServer(p.originMs - s.t0);
  const kv = kvUsageByTurn(
    [...p.sink.rows],
    s.scraper.kvUsage.map((x) => ({ ...x, tMs: x.tMs - shift })),
  );
  if (kv !== null) sum.kv_usage_by_turn = kv;
}

/** Send-lag p99s (ms) of a point's first second and of the rest, in real time. */
interface StartLag {
  firstP99Ms: number;
  restP99Ms: number;
}

/**
 * The send lag of the requests scheduled in the point's first second against
 * the rest's, for a real-time point without a warmup that has both; else null.
 */
function startLag(s: RunSession, rows: SummaryRows): StartLag | null {
  const { cfg } = s;
  if (cfg.timeScale !== 1 || cfg.warmup > 0 || cfg.warmupS) return null;
  const first: number[] = [], rest: number[] = [];
  rows.forEachRow((r) => (r.scheduled_ms < 1000 ? first : rest).push(r.sent_ms - r.scheduled_ms));
  if (!first.length || !rest.length) return null;
  return { firstP99Ms: percentile(first, 99), restP99Ms: percentile(rest, 99) };
}

/**
 * Why a point lagged, when only its first second did: a process that starts
 * at thousands of requests a second is still compiling its code and growing
 * its heap then (bench at 5,000 req/s: p99 30–170 ms in the first second,
 * 3–8 ms after, docs/performance.md).
 */
export function startLagNote(lag: StartLag | null): string {
  if (!lag || lag.restP99Ms > 5 || lag.firstP99Ms <= 5) return "";
  return `; it is the first second's (p99 ${lag.firstP99Ms.toFixed(1)} ms there, ${
    lag.restP99Ms.toFixed(1)
  } ms after): the process was still warming up at this rate, and --warmup 1s sends a second of this load first (its rows to warmup.csv)`;
}

/** vLLM's result block on stderr, and what makes the numbers doubtful. */
function report(s: RunSession, sum: LoadPointSummary, rows: SummaryRows): void {
  console.error(resultBlock(sum));
  if (s.target.simulated) console.error("Server: topobench SIMULATED engine (not a real GPU)");
  if (sum.client_saturated) {
    const [load] = Deno.loadavg();
    s.log.warn(
      `send lag p99 ${sum.send_lag_p99_ms} ms > 5 ms: requests left late against their schedule (this host's load average ${
        load.toFixed(1)
      } on ${navigator.hardwareConcurrency} cores); TTFT from schedule counts the lateness, TTFT from the send does not${
        startLagNote(startLag(s, rows))
      }`,
    );
  }
}
