/**
 * One log file to rows, the kind detected per line: vLLM stats lines, result
 * blocks (vLLM's or ours, with the rate printed before each) and router events.
 * Noise between lines is ignored; a line that looks like a target but does not
 * parse is kept as a skipped entry with its file and line number.
 *
 * @module
 */
import { parseStatsLine, STATS_MARKER, type StatsRow } from "./_parse_stats_line.ts";
import { BenchBlock, type BenchRow, BLOCK_START, blockContext } from "./_parse_bench_block.ts";

/** Columns of the router events CSV, in order. */
export const ROUTER_COLUMNS = [
  "file",
  "line",
  "timestamp",
  "level",
  "event",
  "backend",
  "message",
] as const;

/** One router log line. */
export type RouterRow = Record<typeof ROUTER_COLUMNS[number], string | number | null>;

/** A target-looking line that did not parse. */
export interface Skipped {
  file: string;
  line: number;
  reason: string;
  text: string;
}

/** Everything found in one log. */
export interface ParsedLog {
  stats: StatsRow[];
  bench: BenchRow[];
  router: RouterRow[];
  skipped: Skipped[];
}

// deno-lint-ignore no-control-regex
const ANSI = /\x1b\[[0-9;]*[A-Za-z]/g;
const ROUTER =
  /^(?:.*?\s)?(DEBUG|INFO|WARN|WARNING|ERROR)\s+(\d\d-\d\d \d\d:\d\d:\d\d)\s+\[router\]\s+(.*)$/;

function routerRow(file: string, line: number, m: RegExpExecArray): RouterRow {
  const msg = m[3];
  let event = "other";
  let backend: string | null = null;
  let b: RegExpExecArray | null;
  if ((b = /^Backend (\S+) .* taken out/.exec(msg))) [event, backend] = ["backend_out", b[1]];
  else if ((b = /^Backend (\S+) .* put back/.exec(msg))) [event, backend] = ["backend_in", b[1]];
  else if (/^Routing mode /.test(msg)) event = "mode";
  else if (/^Router \S+: kind=/.test(msg)) event = "start";
  else if (/^Router stopped/.test(msg)) event = "stop";
  return {
    file,
    line,
    timestamp: m[2],
    level: m[1] === "WARNING" ? "WARN" : m[1],
    event,
    backend,
    message: msg,
  };
}

/** Parses the text of one log file. */
export function parseLog(text: string, file: string): ParsedLog {
  const out: ParsedLog = { stats: [], bench: [], router: [], skipped: [] };
  const lines = text.split("\n");
  let block: BenchBlock | null = null;
  let context: { rate?: number; concurrency?: number } = {};
  for (let i = 0; i < lines.length; i++) {
    const n = i + 1;
    let t = lines[i];
    if (t.endsWith("\r")) t = t.slice(0, -1);
    if (t.includes("\x1b")) t = t.replace(ANSI, "");
    if (block) {
      if (BLOCK_START.test(t.trim())) {
        out.skipped.push({
          file,
          line: block.row.line as number,
          reason: "result block not closed",
          text: "",
        });
        block = new BenchBlock(file, n, context);
        continue;
      }
      if (block.feed(t, n)) {
        for (const x of block.issues) out.skipped.push({ file, ...x });
        out.bench.push(block.row);
        block = null;
        context = {};
      }
      continue;
    }
    if (t.includes(STATS_MARKER)) {
      const r = parseStatsLine(t, file, n);
      if (typeof r === "string") out.skipped.push({ file, line: n, reason: r, text: t });
      else out.stats.push(r);
      continue;
    }
    if (BLOCK_START.test(t.trim())) {
      block = new BenchBlock(file, n, context);
      continue;
    }
    if (t.includes("Serving Benchmark Result")) {
      out.skipped.push({ file, line: n, reason: "malformed result block opening", text: t });
      continue;
    }
    if (t.includes("[router]")) {
      const m = ROUTER.exec(t);
      if (m) out.router.push(routerRow(file, n, m));
      else {out.skipped.push({
          file,
          line: n,
          reason: "router line without level and time",
          text: t,
        });}
      continue;
    }
    const c = blockContext(t);
    if (c) context = { ...context, ...c };
  }
  if (block) {
    out.skipped.push({
      file,
      line: block.row.line as number,
      reason: "result block not closed before end of file",
      text: "",
    });
  }
  return out;
}
