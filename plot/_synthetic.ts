/**
 * Writes synthetic run directories (deterministic queueing-shaped latencies) in
 * the bench output format, for plot tests and the plot perf entry: one run dir
 * per topology with one summary object per rate, requests.csv, and optionally
 * gpu.csv and server_metrics.csv.
 *
 * @module
 */
import { join } from "node:path";
import { CsvAppender } from "../lib/csv.ts";
import { GPU_COLUMNS, METRICS_COLUMNS, REQUEST_COLUMNS } from "../lib/result_schema.ts";
import { describe } from "../lib/stats.ts";

/** Options of {@linkcode writeSyntheticExperiment}. */
export interface SyntheticOptions {
  /** Topology names. @default ["agg", "pd-1p1d", "ppd-1p1d"] */
  topologies?: string[];
  /** Offered rates in req/s. @default [1, 2, 4, 8] */
  ratesRps?: number[];
  /** Requests per rate. @default 40 */
  requestsPerRate?: number;
  /** Turns per conversation (2+ makes multi-turn rows). @default 1 */
  turns?: number;
  /** Write gpu.csv and server_metrics.csv. @default false */
  timelines?: boolean;
  /** Workload name. @default "random" */
  workload?: string;
}

function rng(seed: number) {
  let s = seed >>> 0 || 1;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 4294967296);
}

/** How one synthetic topology behaves, and its random source. */
interface Shape {
  topo: string;
  gpus: number;
  /** Rate (req/s) where it saturates. */
  capRps: number;
  /** Unloaded TTFT and TPOT, ms. */
  ttft0: number;
  tpot0: number;
  rand: () => number;
}

/** Topology `ti` of the experiment: disaggregated ones start slower and saturate later. */
function shapeOf(ti: number, topo: string): Shape {
  const disagg = /pd/.test(topo);
  return {
    topo,
    gpus: /^agg/.test(topo) ? 1 : 2,
    capRps: (disagg ? 10 : 7) * (1 + ti * 0.05),
    ttft0: disagg ? 40 : 25,
    tpot0: disagg ? 8 : 10,
    rand: rng(ti * 7919 + 1),
  };
}

/** Request `i` of a rate starting at `t0` ms: queueing-shaped TTFT, failures near saturation. */
function requestRow(sh: Shape, rate: number, i: number, turns: number, t0: number) {
  const u = Math.min(0.97, rate / sh.capRps);
  const turn = 1 + (i % turns);
  const q = -Math.log(1 - sh.rand()) / (1 - u);
  const ttft = sh.ttft0 * (turn > 1 && /ppd/.test(sh.topo) ? 0.6 : 1) * (0.5 + q);
  const tpot = sh.tpot0 * (1 + u) * (0.9 + 0.2 * sh.rand());
  const sched = t0 + i * 1000 / rate;
  const fail = sh.rand() < Math.max(0, u - 0.9);
  return {
    run_id: sh.topo,
    load_point: String(rate),
    request_id: `r${i}`,
    conversation_id: `c${Math.floor(i / turns)}`,
    turn,
    scheduled_ms: sched,
    sent_ms: sched + 0.5,
    first_token_ms: fail ? null : sched + ttft,
    end_ms: sched + ttft + 15 * tpot,
    ttft_ms: fail ? null : ttft,
    e2e_ms: ttft + 15 * tpot,
    tpot_ms: fail ? null : tpot,
    itl_mean_ms: tpot,
    itl_max_ms: tpot * 2,
    prompt_tokens: 512,
    output_tokens: fail ? 0 : 16,
    cached_tokens: 0,
    status: fail ? 500 : 200,
    error: fail ? "HTTP 500" : "",
    backend: "",
  };
}

type Row = ReturnType<typeof requestRow>;

/** Latency statistics of the successful rows: overall per metric, and TTFT per turn. */
function latencyFields(s: Record<string, unknown>, ok: Row[], turns: number): void {
  const series: Record<string, number[]> = {
    ttft: ok.map((r) => r.ttft_ms!),
    tpot: ok.map((r) => r.tpot_ms!),
    itl: ok.map((r) => r.tpot_ms!),
    e2el: ok.map((r) => r.e2e_ms),
  };
  for (const [k, xs] of Object.entries(series)) {
    const d = describe(xs);
    s[`mean_${k}_ms`] = d.mean;
    s[`median_${k}_ms`] = d.median;
    for (const q of [50, 90, 95, 99]) s[`p${q}_${k}_ms`] = d.p[q];
  }
  for (let t = 1; t <= turns; t++) {
    const xs = ok.filter((r) => r.turn === t).map((r) => r.ttft_ms!);
    const d = describe(xs);
    (s.ttft_by_turn as Record<string, unknown>)[String(t)] = {
      count: d.count,
      mean_ms: d.mean,
      p50_ms: d.median,
      p99_ms: d.p[99],
    };
  }
}

/** The `summary.json` object of one rate's rows. */
function rateSummary(sh: Shape, rate: number, rows: Row[], turns: number, workload: string) {
  const n = rows.length;
  const ok = rows.filter((r) => !r.error);
  const dur = n / rate;
  const s: Record<string, unknown> = {
    model_id: "meta-llama/Llama-3.1-8B-Instruct",
    run_id: sh.topo,
    run_index: 1,
    load_point: String(rate),
    complete: true,
    rate_target: rate,
    rate_achieved: rate * 0.98,
    completed: ok.length,
    failed: n - ok.length,
    total_input_tokens: ok.length * 512,
    request_throughput: ok.length / dur,
    output_throughput: ok.length * 16 / dur,
    success_rate: ok.length / n,
    slo: null,
    slo_attainment: null,
    max_concurrency: null,
    topology: sh.topo,
    workload,
    gpus: sh.gpus,
    ttft_by_turn: {} as Record<string, unknown>,
  };
  latencyFields(s, ok, turns);
  return s;
}

/** gpu.csv and server_metrics.csv over `[0, endMs]`, load rising with time. */
function writeTimelines(runDir: string, sh: Shape, endMs: number): void {
  const g = new CsvAppender(join(runDir, "gpu.csv"), GPU_COLUMNS);
  const m = new CsvAppender(join(runDir, "server_metrics.csv"), METRICS_COLUMNS);
  for (let t = 0; t <= endMs; t += 500) {
    const load = (t / endMs) * 0.9;
    for (let gi = 0; gi < sh.gpus; gi++) {
      g.append({
        t_ms: t,
        timestamp: "",
        index: gi,
        name: "NVIDIA H100 80GB HBM3",
        utilization_gpu_pct: Math.round(100 * load * (0.8 + 0.2 * sh.rand())),
        memory_used_mib: 70000 + Math.round(5000 * load),
        memory_total_mib: 81559,
        power_draw_w: 200 + 400 * load,
      });
    }
    m.appendMany([
      {
        t_ms: t,
        metric: "vllm:num_requests_running",
        labels: 'engine="0"',
        value: Math.round(30 * load),
      },
      {
        t_ms: t,
        metric: "vllm:num_requests_waiting",
        labels: 'engine="0"',
        value: Math.round(10 * load * load),
      },
      { t_ms: t, metric: "vllm:kv_cache_usage_perc", labels: 'engine="0"', value: load * 0.8 },
    ]);
  }
  g.close();
  m.close();
}

/** The run dir of topology `ti`: requests.csv, summary.json, config.json (and timelines). */
async function writeRun(dir: string, ti: number, topo: string, o: SyntheticOptions) {
  const rates = o.ratesRps ?? [1, 2, 4, 8];
  const n = o.requestsPerRate ?? 40;
  const turns = o.turns ?? 1;
  const runDir = join(dir, `20260101-000000-${topo}`);
  await Deno.mkdir(runDir, { recursive: true });
  const sh = shapeOf(ti, topo);
  const csv = new CsvAppender(join(runDir, "requests.csv"), REQUEST_COLUMNS);
  const summaries = [];
  let t0 = 0;
  for (const rate of rates) {
    const rows: Row[] = [];
    for (let i = 0; i < n; i++) rows.push(requestRow(sh, rate, i, turns, t0));
    csv.appendMany(rows);
    summaries.push(rateSummary(sh, rate, rows, turns, o.workload ?? "random"));
    t0 += n / rate * 1000;
  }
  csv.close();
  await Deno.writeTextFile(join(runDir, "summary.json"), JSON.stringify(summaries, null, 2));
  await Deno.writeTextFile(
    join(runDir, "config.json"),
    JSON.stringify({ tool: "synthetic", topology: topo, engine: "sim" }, null, 2),
  );
  if (o.timelines) writeTimelines(runDir, sh, t0);
  return runDir;
}

/** Writes the experiment under `dir` (one `20260101-000000-<topology>` run dir each); returns the run dirs. */
export async function writeSyntheticExperiment(
  dir: string,
  o: SyntheticOptions = {},
): Promise<string[]> {
  const tops = o.topologies ?? ["agg", "pd-1p1d", "ppd-1p1d"];
  const out: string[] = [];
  for (const [ti, topo] of tops.entries()) out.push(await writeRun(dir, ti, topo, o));
  return out;
}
