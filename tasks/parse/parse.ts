/**
 * `deno task parse <log...> --out file.csv`: logs to CSV, the kind of log
 * detected per line: vLLM server stats lines (`stats`), `vllm bench serve` and
 * topobench result blocks (`bench`; `--save-result` JSON files import as bench
 * rows too) and router events (`router`).
 *
 * One kind found: it goes to `--out`. Several: `--out a.csv` becomes `a.stats.csv`,
 * `a.bench.csv`, `a.router.csv` (or pick one with `--kind`). Lines that look like a
 * target but do not parse are printed on stderr as `file:line: reason`, and the
 * exit code is 2 when anything was skipped.
 *
 * @module
 */
import { dirname } from "node:path";
import { type CommandHelp, enumFlag, parseCommand, runMain } from "../../lib/args.ts";
import { csvText } from "../../lib/csv.ts";
import { writeFileAtomic } from "../../lib/write_file.ts";
import { mergedCell } from "../../lib/merged_schema.ts";
import { type ParsedLog, parseLog, ROUTER_COLUMNS } from "./_parse_log.ts";
import { STATS_COLUMNS } from "./_parse_stats_line.ts";
import { BENCH_COLUMNS, type BenchRow } from "./_parse_bench_block.ts";
import { readVllmResult } from "../../lib/vllm_json.ts";

const KINDS = ["stats", "bench", "router"] as const;
/** A kind of parsed row. */
export type LogKind = typeof KINDS[number];

const COLUMNS: Record<LogKind, readonly string[]> = {
  stats: STATS_COLUMNS,
  bench: BENCH_COLUMNS,
  router: ROUTER_COLUMNS,
};

const FLAGS = {
  out: { type: "string" as const, help: "Output CSV (one kind) or name stem (several kinds)" },
  kind: { type: "string" as const, help: `Keep one kind only: ${KINDS.join(", ")}` },
};

const HELP: CommandHelp = { cmd: "deno task parse <log|json...>", summary: "Logs to CSV." };

/** Converts a `--save-result` JSON text to one bench row. */
export function vllmJsonRow(text: string, file: string): BenchRow {
  const { result } = readVllmResult(text, file);
  const row: BenchRow = Object.fromEntries(BENCH_COLUMNS.map((c) => [c, null]));
  for (const c of BENCH_COLUMNS) {
    const v = result[c];
    if (typeof v === "number" || typeof v === "string" || typeof v === "boolean") row[c] = v;
  }
  row.file = file;
  row.line = 1;
  row.source = "vllm-json";
  row.complete = true;
  return row;
}

/** Parses files (logs or `--save-result` JSON); the result of all of them together. */
export async function parseFiles(paths: string[]): Promise<ParsedLog> {
  const all: ParsedLog = { stats: [], bench: [], router: [], skipped: [] };
  for (const p of paths) {
    const text = await Deno.readTextFile(p);
    if (p.endsWith(".json") || /^\s*\{/.test(text.slice(0, 64))) {
      all.bench.push(vllmJsonRow(text, p));
      continue;
    }
    const r = parseLog(text, p);
    all.stats.push(...r.stats);
    all.bench.push(...r.bench);
    all.router.push(...r.router);
    all.skipped.push(...r.skipped);
  }
  return all;
}

/** Output path of one kind: `out` itself when it is the only kind written. */
export function kindPath(out: string, kind: LogKind, several: boolean): string {
  if (!several) return out;
  return out.endsWith(".csv") ? `${out.slice(0, -4)}.${kind}.csv` : `${out}.${kind}.csv`;
}

/** Runs the CLI; 0 when all went well, 2 when lines were skipped. */
export async function main(args: string[]): Promise<number> {
  const cli = parseCommand(args, FLAGS, HELP, { allowPositionals: true });
  if (!cli) return 0;
  const { values, positionals } = cli;
  const out = values.out as string | undefined;
  if (!out) {
    throw new TypeError("Cannot use --out as an output CSV path: current value is missing");
  }
  if (positionals.length === 0) {
    throw new TypeError("Cannot use the arguments as log files: current value is none");
  }
  const only = enumFlag(values, "kind", KINDS);
  const parsed = await parseFiles(positionals);
  const kinds = (only ? [only] : KINDS.filter((k) => parsed[k].length > 0)) as LogKind[];
  for (const k of kinds) {
    const path = kindPath(out, k, kinds.length > 1);
    await Deno.mkdir(dirname(path) || ".", { recursive: true });
    const rows = parsed[k] as Record<string, unknown>[];
    await writeFileAtomic(
      path,
      csvText(
        COLUMNS[k],
        rows.map((r) => Object.fromEntries(COLUMNS[k].map((c) => [c, mergedCell(r[c])]))),
      ),
    );
    console.log(`${path}: ${rows.length} ${k} rows`);
  }
  if (kinds.length === 0) console.log("no stats lines, result blocks or router lines found");
  for (const s of parsed.skipped) {
    console.error(`${s.file}:${s.line}: skipped: ${s.reason}${s.text ? `: ${s.text.trim()}` : ""}`);
  }
  return parsed.skipped.length ? 2 : 0;
}

if (import.meta.main) await runMain(main);
