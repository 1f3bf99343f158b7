/**
 * Timelines of one run: GPU memory and utilisation from `gpu.csv`, and
 * running/waiting requests and KV-cache usage from `server_metrics.csv`.
 *
 * @module
 */
import {
  type ChartContext,
  type ChartResult,
  quantitative,
  topLevel,
  type VlSpec,
} from "../_common.ts";

/** One panel of a timeline: `y` over the time since run start, with its own data when given. */
function timePanel(values: unknown[] | null, mark: VlSpec, y: VlSpec, color?: VlSpec): VlSpec {
  return {
    width: 560,
    height: 160,
    ...(values ? { data: { values } } : {}),
    mark,
    encoding: {
      x: quantitative("t_s", "Time since run start (s)"),
      y,
      ...(color ? { color } : {}),
    },
  };
}

const n = (s: string | undefined) => (s === undefined || s === "" ? NaN : Number(s));

/** Builds the GPU timeline (utilisation % and memory GiB over time, one colour per GPU). */
export function gpuTimeline(
  records: Record<string, string>[] | null,
  ctx: ChartContext,
  run: string,
): ChartResult {
  if (!records) return { skip: `run ${run} has no gpu.csv (bench --gpu-monitor)` };
  const data = records.map((r) => ({
    t_s: n(r.t_ms) / 1000,
    gpu: `GPU ${r.index}${r.name ? ` (${r.name})` : ""}`,
    util_pct: n(r.utilization_gpu_pct),
    mem_gib: n(r.memory_used_mib) / 1024,
  })).filter((d) => Number.isFinite(d.t_s));
  if (!data.length) return { skip: `run ${run} has an empty gpu.csv` };
  const gpu = { field: "gpu", type: "nominal", title: "GPU", legend: { orient: "right" } };
  const panel = (field: string, title: string) =>
    timePanel(null, { type: "line", strokeWidth: 1.5 }, quantitative(field, title), gpu);
  return {
    spec: topLevel(ctx, `GPU timeline: ${run}`, {
      data: { values: data },
      vconcat: [panel("util_pct", "GPU utilisation (%)"), panel("mem_gib", "Memory used (GiB)")],
    }),
  };
}

/** Server metric names read for the server timeline, newest vLLM names first. */
export const SERVER_SERIES: Record<string, string[]> = {
  running: ["vllm:num_requests_running"],
  waiting: ["vllm:num_requests_waiting"],
  kv: ["vllm:kv_cache_usage_perc", "vllm:gpu_cache_usage_perc"],
};

/** Sums running/waiting and averages KV usage over label sets, per sample time. */
export function serverSeries(records: Record<string, string>[]) {
  const byT = new Map<number, { running: number[]; waiting: number[]; kv: number[] }>();
  for (const r of records) {
    const kind = Object.entries(SERVER_SERIES).find(([, names]) => names.includes(r.metric))?.[0];
    if (!kind) continue;
    const t = n(r.t_ms), v = n(r.value);
    if (!Number.isFinite(t) || !Number.isFinite(v)) continue;
    if (!byT.has(t)) byT.set(t, { running: [], waiting: [], kv: [] });
    byT.get(t)![kind as "running" | "waiting" | "kv"].push(v);
  }
  const reqs: { t_s: number; series: string; requests: number }[] = [];
  const kv: { t_s: number; kv_pct: number }[] = [];
  for (const [t, s] of [...byT].sort((a, b) => a[0] - b[0])) {
    if (s.running.length) {
      reqs.push({
        t_s: t / 1000,
        series: "running",
        requests: s.running.reduce((a, b) => a + b),
      });
    }
    if (s.waiting.length) {
      reqs.push({
        t_s: t / 1000,
        series: "waiting",
        requests: s.waiting.reduce((a, b) => a + b),
      });
    }
    if (s.kv.length) {
      kv.push({
        t_s: t / 1000,
        kv_pct: 100 * s.kv.reduce((a, b) => a + b) / s.kv.length,
      });
    }
  }
  return { reqs, kv };
}

/** Builds the server timeline: running/waiting requests and KV-cache usage over time. */
export function serverTimeline(
  records: Record<string, string>[] | null,
  ctx: ChartContext,
  run: string,
): ChartResult {
  if (!records) return { skip: `run ${run} has no server_metrics.csv (bench --scrape-metrics)` };
  const { reqs, kv } = serverSeries(records);
  if (!reqs.length && !kv.length) {
    return { skip: `run ${run}: server_metrics.csv has no vllm:num_requests_* or KV usage series` };
  }
  const panels: VlSpec[] = [];
  if (reqs.length) {
    panels.push(timePanel(
      reqs,
      { type: "line", strokeWidth: 1.5, interpolate: "step-after" },
      quantitative("requests", "Requests"),
      {
        field: "series",
        type: "nominal",
        title: "Queue",
        scale: { domain: ["running", "waiting"], range: ["#4e79a7", "#e15759"] },
        legend: { orient: "right" },
      },
    ));
  }
  if (kv.length) {
    panels.push(timePanel(
      kv,
      { type: "line", strokeWidth: 1.5, color: "#59a14f" },
      quantitative("kv_pct", "KV cache usage (%)", { scale: { domain: [0, 100] } }),
    ));
  }
  return { spec: topLevel(ctx, `Server timeline: ${run}`, { vconcat: panels }) };
}
