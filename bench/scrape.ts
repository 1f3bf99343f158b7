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

/** Columns of `server_metrics.csv`. */
export const METRICS_COLUMNS = ["t_ms", "metric", "labels", "value"] as const;

/** One series value of the exposition text. */
export interface Sample {
  metric: string;
  labels: string;
  value: number;
}

/** Parses Prometheus text exposition (comments skipped, `_bucket` series dropped). */
export function parseMetrics(text: string): Sample[] {
  const out: Sample[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m || m[1].endsWith("_bucket")) continue;
    const value = Number(m[3]);
    if (Number.isNaN(value) && m[3] !== "NaN") continue;
    out.push({ metric: m[1], labels: m[2] ?? "", value });
  }
  return out;
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
}

/** A running scraper. */
export interface Scraper {
  readonly scrapes: number;
  /** Takes one last sample and stops. */
  stop(): Promise<void>;
}

/** Starts sampling at once and every interval. */
export function startScraper(o: ScraperOptions): Scraper {
  const csv = new CsvAppender(o.path, METRICS_COLUMNS);
  let scrapes = 0;
  let warned = false;
  let busy: Promise<void> = Promise.resolve();
  const once = async () => {
    const t = (performance.now() - o.originMs) * (o.timeScale ?? 1);
    try {
      const res = await fetch(o.url, { signal: AbortSignal.timeout(5000) });
      const text = await res.text();
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      csv.appendMany(parseMetrics(text).map((s) => ({ t_ms: t, ...s })));
      scrapes++;
    } catch (e) {
      if (!warned) o.warn(`Cannot scrape ${o.url}: ${e instanceof Error ? e.message : e}`);
      warned = true;
    }
  };
  const tick = () => {
    busy = busy.then(once);
  };
  tick();
  const timer = setInterval(tick, o.intervalMs ?? 1000);
  return {
    get scrapes() {
      return scrapes;
    },
    async stop() {
      clearInterval(timer);
      tick();
      await busy;
      csv.close();
    },
  };
}
