/**
 * `deno task ls [results]`: run directories newest first, one line each:
 * date, experiment, topology, model, rates, requests, complete or not, plots present.
 *
 * @module
 */
import { join } from "node:path";
import { type CommandHelp, parseCommand, runMain } from "../lib/args.ts";
import { isRunDir, readRunDir } from "../lib/run_dir.ts";

/** One listed run. */
export interface RunListing {
  path: string;
  date: string;
  experiment: string;
  topology: string;
  model: string;
  rates: string;
  requests: number;
  complete: boolean;
  plots: boolean;
}

async function countLines(path: string): Promise<number> {
  try {
    const text = await Deno.readTextFile(path);
    let n = 0;
    for (let i = text.indexOf("\n"); i >= 0; i = text.indexOf("\n", i + 1)) n++;
    return Math.max(0, n - 1);
  } catch {
    return 0;
  }
}

async function hasPlots(dir: string): Promise<boolean> {
  try {
    for await (const e of Deno.readDir(join(dir, "plots"))) if (e.isFile) return true;
  } catch { /* none */ }
  return false;
}

/** Lists run directories under `root` (up to three levels deep), newest first. */
export async function listRuns(root: string): Promise<RunListing[]> {
  const dirs: string[] = [];
  const walk = async (p: string, depth: number) => {
    if (await isRunDir(p)) {
      dirs.push(p);
      return;
    }
    if (depth >= 3) return;
    try {
      for await (const e of Deno.readDir(p)) {
        if (e.isDirectory) await walk(join(p, e.name), depth + 1);
      }
    } catch (e) {
      if (depth === 0) {
        throw new RangeError(
          `Cannot use ${JSON.stringify(root)} as a results folder: current value cannot be read (${
            e instanceof Error ? e.message : e
          })`,
        );
      }
    }
  };
  await walk(root, 0);
  const out: RunListing[] = [];
  for (const d of dirs) {
    const rd = await readRunDir(d);
    const s = rd.summaries;
    const rates = [...new Set(s.map((x) => String(x.load_point ?? x.rate_target ?? "")))];
    const st = rd.stamp;
    out.push({
      path: d,
      date: st
        ? `${st.slice(0, 4)}-${st.slice(4, 6)}-${st.slice(6, 8)} ${st.slice(9, 11)}:${
          st.slice(11, 13)
        }:${st.slice(13, 15)}`
        : String(rd.config.start_time ?? ""),
      experiment: rd.experiment,
      topology: String(s[0]?.topology ?? rd.config.topology ?? rd.label),
      model: String(s[0]?.model_id ?? rd.config.model ?? ""),
      rates: rates.filter(Boolean).join(","),
      requests: await countLines(join(d, "requests.csv")),
      complete: s.length > 0 && s.every((x) => x.complete === true),
      plots: await hasPlots(d),
    });
  }
  return out.sort((a, b) => b.date.localeCompare(a.date) || a.path.localeCompare(b.path));
}

const HELP: CommandHelp = { cmd: "deno task ls [results]", summary: "Lists runs, newest first." };

/** Runs the CLI. */
export async function main(args: string[]): Promise<number> {
  const parsed = parseCommand(args, {}, HELP, { allowPositionals: true });
  if (!parsed) return 0;
  const root = parsed.positionals[0] ?? "results";
  const runs = await listRuns(root);
  const head = [
    "date",
    "experiment",
    "topology",
    "model",
    "rates",
    "requests",
    "complete",
    "plots",
  ];
  const rows = runs.map((r) => [
    r.date,
    r.experiment,
    r.topology,
    r.model,
    r.rates,
    String(r.requests),
    r.complete ? "yes" : "NO",
    r.plots ? "yes" : "no",
  ]);
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  console.log(head.map((h, i) => h.padEnd(w[i])).join("  "));
  for (const r of rows) console.log(r.map((c, i) => c.padEnd(w[i])).join("  ").trimEnd());
  if (rows.length === 0) console.log(`(no runs under ${root})`);
  return 0;
}

if (import.meta.main) await runMain(main);
