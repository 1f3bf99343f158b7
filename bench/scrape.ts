/**
 * `--scrape-metrics URL`: samples a Prometheus `/metrics` endpoint into
 * `server_metrics.csv` in long format, one row per sample and series:
 * `t_ms, metric, labels, value` (labels as in the exposition text, e.g.
 * `model_name="x"`). Histogram `_bucket` series are skipped to keep the file small;
 * their `_sum` and `_count` are kept.
 *
 * @module
 */
import { CsvAppender } from "../lib/csv.ts";
import { parsePrometheus, type Sample } from "../lib/prometheus.ts";
import { METRICS_COLUMNS } from "../lib/result_schema.ts";

export type { Sample };

/** Parses Prometheus text exposition (comments skipped, `_bucket` series dropped). */
export function parseMetrics(text: string): Sample[] {
  return parsePrometheus(text).filter((s) => !s.metric.endsWith("_bucket"));
}

/** Options of {@linkcode startScraper}. */
export interface ScraperOptions {
  url: string;
  path: string;
  /** @default 1000 */
  intervalMs?: number;
  originMs: number;
  /** `t_ms` is real ms since `originMs` times this (server time, `--time-scale`). @default 1 */
  timeScale?: number;
  /** Called once when a scrape fails. */
  warn: (msg: string) => void;
  /** The GET (`clusterFetch` reaches in-cluster URLs from outside). @default fetch */
  get?: (url: string, init?: RequestInit) => Promise<Response>;
}

/** KV-cache usage series (vLLM V1's name, and the older one). */
const KV_USAGE = new Set(["vllm:kv_cache_usage_perc", "vllm:gpu_cache_usage_perc"]);

/** A running scraper. */
export interface Scraper {
  readonly scrapes: number;
  /** Mean KV-cache usage (0..1, over engines) of each sample, `t_ms` as in the file. */
  readonly kvUsage: { tMs: number; value: number }[];
  /** Takes one last sample and stops. */
  stop(): Promise<void>;
}

/** Starts sampling at once and every interval. */
export function startScraper(o: ScraperOptions): Scraper {
  const csv = new CsvAppender(o.path, METRICS_COLUMNS);
  let scrapes = 0;
  let warned = false;
  const kvUsage: { tMs: number; value: number }[] = [];
  let busy: Promise<void> = Promise.resolve();
  const once = async () => {
    const t = (performance.now() - o.originMs) * (o.timeScale ?? 1);
    try {
      const res = await (o.get ?? fetch)(o.url, { signal: AbortSignal.timeout(5000) });
      const text = await res.text();
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const samples = parseMetrics(text);
      csv.appendMany(samples.map((s) => ({ t_ms: t, ...s })));
      const kv = samples.filter((s) => KV_USAGE.has(s.metric) && Number.isFinite(s.value));
      if (kv.length) {
        kvUsage.push({
          tMs: t,
          value: kv.reduce((a, s) => a + s.value, 0) / kv.length,
        });
      }
      scrapes++;
    } catch (e) {
      if (!warned) o.warn(`Cannot scrape ${o.url}: ${e instanceof Error ? e.message : e}`);
      warned = true;
    }
  };
  let inFlight = false;
  // a slow scrape (a cluster's API server) is not queued behind: the next tick is skipped
  const tick = () => {
    if (inFlight) return;
    inFlight = true;
    busy = busy.then(once).finally(() => inFlight = false);
  };
  tick();
  const timer = setInterval(tick, o.intervalMs ?? 1000);
  return {
    get scrapes() {
      return scrapes;
    },
    kvUsage,
    async stop() {
      clearInterval(timer);
      await busy;
      tick();
      await busy;
      csv.close();
    },
  };
}

/**
 * Mean KV-cache usage while each turn's requests were in flight: for turn t,
 * the samples inside some [sent, end] of a turn-t request (times in the run's
 * clock), as a `;` list of turns 1..T (empty cells: no sample). Null when the
 * rows are single-turn or there are no samples.
 */
export function kvUsageByTurn(
  rows: readonly { turn: number; sent_ms: number; end_ms: number }[],
  samples: readonly { tMs: number; value: number }[],
): string | null {
  const turns = rows.reduce((a, r) => Math.max(a, r.turn), 0);
  if (turns < 2 || samples.length === 0) return null;
  const out: string[] = [];
  for (let t = 1; t <= turns; t++) {
    // the turn's busy time as merged intervals, then the samples inside them
    const iv = rows.filter((r) => r.turn === t).map((r) => [r.sent_ms, r.end_ms])
      .sort((a, b) => a[0] - b[0]);
    const merged: number[][] = [];
    for (const [a, b] of iv) {
      const last = merged.at(-1);
      if (last && a <= last[1]) last[1] = Math.max(last[1], b);
      else merged.push([a, b]);
    }
    let sum = 0, n = 0, k = 0;
    for (const s of [...samples].sort((a, b) => a.tMs - b.tMs)) {
      while (k < merged.length && merged[k][1] < s.tMs) k++;
      if (k < merged.length && merged[k][0] <= s.tMs) {
        sum += s.value;
        n++;
      }
    }
    out.push(n ? String(Math.round((sum / n) * 1e4) / 1e4) : "");
  }
  return out.join(";");
}
