/**
 * vLLM's periodic server stats line (`Avg prompt throughput: ...`) in all its
 * wordings: v1 (`Engine 000:` / `N Engines Aggregated:` prefix, `Running/Waiting`,
 * optional `Preemptions`, `External prefix cache hit rate`, `MM cache hit rate`,
 * `Corrupted`), v0 (`Swapped`, `Pending`, `CPU KV cache usage`, trailing dot,
 * `Prefix cache hit rate: GPU: x%, CPU: y%`), with or without the
 * `(APIServer pid=N)` head (ANSI-coloured or not) and the `INFO mm-dd hh:mm:ss [file:N]` head.
 *
 * @module
 */

/** Columns of the stats CSV, in order. */
export const STATS_COLUMNS = [
  "file",
  "line",
  "timestamp",
  "process",
  "pid",
  "engine",
  "engines",
  "simulated",
  "prompt_tps",
  "gen_tps",
  "running",
  "waiting",
  "swapped",
  "preemptions",
  "corrupted",
  "kv_usage_pct",
  "cpu_kv_usage_pct",
  "prefix_hit_pct",
  "cpu_prefix_hit_pct",
  "external_prefix_hit_pct",
  "mm_hit_pct",
] as const;

/** One parsed stats line; null is a field the line did not carry. */
export type StatsRow = Record<typeof STATS_COLUMNS[number], string | number | boolean | null>;

/** Marker that makes a line a stats-line candidate. */
export const STATS_MARKER = "Avg prompt throughput:";

// label -> [column, unit]
const FIELDS: Record<string, [string, string]> = {
  "avg prompt throughput": ["prompt_tps", "tokens/s"],
  "avg generation throughput": ["gen_tps", "tokens/s"],
  "running": ["running", "reqs"],
  "waiting": ["waiting", "reqs"],
  "pending": ["waiting", "reqs"],
  "swapped": ["swapped", "reqs"],
  "preemptions": ["preemptions", ""],
  "corrupted": ["corrupted", "reqs"],
  "gpu kv cache usage": ["kv_usage_pct", "%"],
  "cpu kv cache usage": ["cpu_kv_usage_pct", "%"],
  "prefix cache hit rate": ["prefix_hit_pct", "%"],
  "gpu prefix cache hit rate": ["prefix_hit_pct", "%"],
  "cpu prefix cache hit rate": ["cpu_prefix_hit_pct", "%"],
  "external prefix cache hit rate": ["external_prefix_hit_pct", "%"],
  "mm cache hit rate": ["mm_hit_pct", "%"],
};

const PART = /^([A-Za-z][A-Za-z ]*?):\s*(-?\d+(?:\.\d+)?(?:e[-+]?\d+)?)\s*(tokens\/s|reqs|%)?$/i;
const HEAD_TIME =
  /\b(INFO|DEBUG|WARNING|WARN|ERROR)\s+(\d\d-\d\d \d\d:\d\d:\d\d)(?:\.\d+)?\s+\[?([^\]\s]*)\]/;
const HEAD_PID = /\((\w+) pid=(\d+)\)/;
const ENGINE_ONE = /Engine (\d+):\s*$/;
const ENGINE_AGG = /(\d+) Engines Aggregated:\s*$/;

/**
 * Parses one stats line (ANSI codes already removed). Returns the row, or a
 * reason string when the line carries the marker but does not parse.
 */
export function parseStatsLine(text: string, file: string, line: number): StatsRow | string {
  const at = text.indexOf(STATS_MARKER);
  if (at < 0) return `no "${STATS_MARKER}" in the line`;
  const head = text.slice(0, at);
  const row = Object.fromEntries(STATS_COLUMNS.map((c) => [c, null])) as StatsRow;
  row.file = file;
  row.line = line;
  const t = HEAD_TIME.exec(head);
  if (t) {
    row.timestamp = t[2];
    row.simulated = t[3] === "sim";
  } else row.simulated = false;
  const p = HEAD_PID.exec(head);
  if (p) {
    row.process = p[1];
    row.pid = Number(p[2]);
  }
  const one = ENGINE_ONE.exec(head);
  const agg = ENGINE_AGG.exec(head);
  if (one) {
    row.engine = one[1];
    row.engines = 1;
  } else if (agg) {
    row.engine = "aggregated";
    row.engines = Number(agg[1]);
  }
  let body = text.slice(at).trim();
  if (body.endsWith(".")) body = body.slice(0, -1);
  const parts = body.split(/,\s*/);
  for (let i = 0; i < parts.length; i++) {
    let part = parts[i].trim();
    // v0.6: "Prefix cache hit rate: GPU: 1.0%, CPU: 2.0%"
    const split = /^Prefix cache hit rate:\s*GPU:\s*(.*)$/i.exec(part);
    if (split) part = `GPU prefix cache hit rate: ${split[1]}`;
    else if (/^CPU:\s/i.test(part) && i > 0 && /prefix cache hit rate/i.test(parts[i - 1])) {
      part = `CPU prefix cache hit rate: ${part.slice(4).trim()}`;
    }
    const m = PART.exec(part);
    if (!m) return `cannot read field ${JSON.stringify(part)}`;
    const f = FIELDS[m[1].toLowerCase()];
    if (!f) return `unknown field ${JSON.stringify(m[1])}`;
    const unit = (m[3] ?? "").toLowerCase();
    if (unit !== f[1]) {
      return `field ${JSON.stringify(m[1])} has unit ${JSON.stringify(unit)}, expected ${
        JSON.stringify(f[1])
      }`;
    }
    row[f[0] as keyof StatsRow] = Number(m[2]);
  }
  for (const need of ["prompt_tps", "gen_tps", "running"] as const) {
    if (row[need] === null) return `missing field ${need}`;
  }
  return row;
}
