/**
 * Runs `bench/run.ts` as a child process for one sweep point and reads back what
 * it wrote: the run directory (bench's last stdout line) and its `summary.json`.
 * Also finds finished run directories of a label (for resuming) and whether this
 * checkout's bench knows `--time-scale`.
 *
 * @module
 */
import { BENCH_V8_FLAGS } from "../lib/heap.ts";
import { basename, dirname, join, resolve } from "node:path";
import { ROOT } from "./_experiment.ts";

/** bench's entry point. */
export const BENCH_ENTRY = resolve(ROOT, "bench/run.ts");

let timeScaleKnown: Promise<boolean> | null = null;

/** Whether `deno task bench --help` lists `--time-scale` (checked once per process). */
export function benchHasTimeScale(): Promise<boolean> {
  timeScaleKnown ??= new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", BENCH_ENTRY, "--help"],
    stdout: "piped",
    stderr: "null",
    stdin: "null",
  }).output().then((o) => /--time-scale\b/.test(new TextDecoder().decode(o.stdout)));
  return timeScaleKnown;
}

/** Flag object -> argv (`{rate: 2, "no-itl": true}` -> `--rate 2 --no-itl`; false/null dropped). */
export function flagArgs(
  flags: Record<string, string | number | boolean | string[] | null | undefined>,
) {
  const out: string[] = [];
  for (const [k, v] of Object.entries(flags)) {
    if (v === false || v === null || v === undefined) continue;
    // a list repeats the flag (--class a:... --class b:...)
    if (Array.isArray(v)) { for (const x of v) out.push(`--${k}`, x); }
    else {
      out.push(`--${k}`);
      if (v !== true) out.push(String(v));
    }
  }
  return out;
}

/** Result of {@linkcode runBench}. */
export interface BenchRun {
  /** Exit code of bench. */
  code: number;
  /** Run directory (null when bench failed before making one). */
  runDir: string | null;
  /** `summary.json` objects (empty when missing). */
  summaries: Record<string, unknown>[];
  /** Last lines of bench's stderr (for error messages). */
  stderrTail: string;
}

/** Options of {@linkcode runBench}. */
export interface RunBenchOptions {
  /** Forward bench's console output (result block) to ours. @default false */
  verbose?: boolean;
  /** Aborting sends SIGTERM to bench (it then writes a partial summary). */
  signal?: AbortSignal;
}

/** Runs bench with `flags` and returns its run directory and summaries. */
export async function runBench(
  flags: Record<string, string | number | boolean | null | undefined>,
  o: RunBenchOptions = {},
): Promise<BenchRun> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", BENCH_V8_FLAGS, BENCH_ENTRY, ...flagArgs(flags)],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const onAbort = () => {
    try {
      child.kill("SIGTERM");
    } catch { /* already gone */ }
  };
  o.signal?.addEventListener("abort", onAbort, { once: true });
  const dec = new TextDecoder();
  const pump = async (s: ReadableStream<Uint8Array>, sink: (t: string) => void) => {
    let all = "";
    for await (const chunk of s) {
      const t = dec.decode(chunk, { stream: true });
      all += t;
      if (all.length > 200_000) all = all.slice(-100_000);
      sink(t);
    }
    return all;
  };
  const write = (fd: typeof Deno.stderr) => (t: string) => {
    if (o.verbose) fd.writeSync(new TextEncoder().encode(t));
  };
  const [out, err, st] = await Promise.all([
    pump(child.stdout, write(Deno.stderr)),
    pump(child.stderr, write(Deno.stderr)),
    child.status,
  ]);
  o.signal?.removeEventListener("abort", onAbort);
  const last = out.trimEnd().split("\n").at(-1)?.trim() ?? "";
  const runDir = last && (await isDir(last)) ? resolve(last) : null;
  return {
    code: st.code,
    runDir,
    summaries: runDir ? await readSummaries(runDir) : [],
    stderrTail: err.trimEnd().split("\n").slice(-8).join("\n"),
  };
}

async function isDir(p: string): Promise<boolean> {
  try {
    return (await Deno.stat(p)).isDirectory;
  } catch {
    return false;
  }
}

/** Whether `path` exists. */
async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

/** `summary.json` of a run directory as a list ([] when missing or unreadable). */
export async function readSummaries(runDir: string): Promise<Record<string, unknown>[]> {
  try {
    const v = JSON.parse(await Deno.readTextFile(join(runDir, "summary.json")));
    return Array.isArray(v) ? v : [v];
  } catch {
    return [];
  }
}

/**
 * Run directories of `label` in `expDir` (`<stamp>-<label>`), oldest first,
 * and whether each is finished: its summary complete and its point recorded
 * (`experiment.json`, written by the sweep right after the summary; an
 * attempt stopped between the two is unfinished).
 */
async function labelRuns(
  expDir: string,
  label: string,
  runs: number,
): Promise<{ dir: string; finished: boolean }[]> {
  const out: { dir: string; finished: boolean }[] = [];
  try {
    for await (const e of Deno.readDir(expDir)) {
      if (!e.isDirectory || !/^\d{8}-\d{6}-/.test(e.name)) continue;
      if (e.name.replace(/^\d{8}-\d{6}-(\d{8}T\d{6}-)?/, "") !== label) continue;
      const s = await readSummaries(join(expDir, e.name));
      const recorded = await exists(join(expDir, e.name, "experiment.json"));
      const finished = recorded && s.length >= runs && s.every((x) => x.complete !== false);
      out.push({ dir: join(expDir, e.name), finished });
    }
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  return out.sort((a, b) => basename(a.dir).localeCompare(basename(b.dir)));
}

/**
 * Finished run directories of `label` in `expDir` (`<stamp>-<label>`, summary
 * complete and holding `runs` entries, the point recorded), newest last.
 */
export async function finishedRuns(expDir: string, label: string, runs = 1): Promise<string[]> {
  return (await labelRuns(expDir, label, runs)).filter((r) => r.finished).map((r) => r.dir);
}

/**
 * Unfinished run directories of `label` in `expDir`: attempts that were
 * interrupted (no summary, `complete: false`, fewer than `runs` runs, or no
 * `experiment.json`).
 */
export async function unfinishedRuns(expDir: string, label: string, runs = 1): Promise<string[]> {
  return (await labelRuns(expDir, label, runs)).filter((r) => !r.finished).map((r) => r.dir);
}

/** Folder (inside an experiment folder) that interrupted attempts are moved to. */
export const INTERRUPTED_DIR = ".interrupted";

/**
 * Moves a run directory into `.interrupted/` beside it (hidden: merge, plot
 * and globs do not see it), under a fresh name if taken; returns where it went.
 */
export async function moveAside(runDir: string): Promise<string> {
  const aside = join(dirname(runDir), INTERRUPTED_DIR);
  await Deno.mkdir(aside, { recursive: true });
  for (let k = 1;; k++) {
    const to = join(aside, k === 1 ? basename(runDir) : `${basename(runDir)}-${k}`);
    try {
      await Deno.stat(to);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
      await Deno.rename(runDir, to);
      return to;
    }
  }
}

/** Number field of a summary, or null. */
export function num(s: Record<string, unknown> | undefined, k: string): number | null {
  const v = s?.[k];
  return typeof v === "number" && Number.isFinite(v) ? v : null;
}
