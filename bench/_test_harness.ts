/**
 * Test harness of the bench CLI tests: a simulated engine as a process on a
 * free port, `bench` as a process against it, and its run directory read back.
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { type ReadyProcess, startReady } from "../lib/ready_process.ts";
import { readCsv } from "../lib/csv.ts";
import { parseRequestRow, type RequestRow } from "../lib/result_schema.ts";
import { parseFlags } from "../lib/args.ts";
import { LazyTokenizer } from "../lib/tokenizer.ts";
import { type BenchConfig, flagsWithoutDefaults, resolveBenchConfig } from "./bench_config.ts";
import { type WorkSource, workSource } from "./work_source.ts";

/** The checkout's root. */
export const ROOT = fileURLToPath(new URL("..", import.meta.url));
const SIM = join(ROOT, "launch/sim/live/main.ts");
const RUN = join(ROOT, "bench/run.ts");

/** Starts the simulated engine (`--speed 100` plus `args`) on a free port. */
export async function sim(...args: string[]): Promise<ReadyProcess & { url: string }> {
  const p = await startReady({
    cmd: Deno.execPath(),
    args: ["run", "-A", SIM, "--port", "0", "--speed", "100", ...args],
    ready: /Starting vLLM API server 0 on (http:\/\/\S+)/,
  });
  return Object.assign(p, { url: p.match[1] });
}

/** What a bench run left: exit code, run dir, stderr, rows and summaries. */
export interface BenchOut {
  code: number;
  dir: string;
  stderr: string;
  rows: RequestRow[];
  // deno-lint-ignore no-explicit-any
  summary: any[];
}

/** `bench` against `url`, writing under `outRoot/label`. */
export function benchCmd(
  args: string[],
  label: string,
  { url, outRoot, env }: { url: string; outRoot: string; env?: Record<string, string> },
): Deno.Command {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", RUN, "--url", url, "--out", join(outRoot, label), ...args],
    ...(env ? { env } : {}),
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
  });
}

/** Reads a finished bench's run directory (its path is the last stdout line). */
export async function collect(out: Deno.CommandOutput): Promise<BenchOut> {
  const dir = new TextDecoder().decode(out.stdout).trim().split("\n").at(-1)!;
  const stderr = new TextDecoder().decode(out.stderr);
  if (!dir) throw new Error(`bench printed no run directory:\n${stderr}`);
  const rows = (await readCsv(join(dir, "requests.csv"))).map((r) => parseRequestRow(r));
  const summary = JSON.parse(await Deno.readTextFile(join(dir, "summary.json")));
  return { code: out.code, dir, stderr, rows, summary };
}

/** A test file's shared engine and output folder, with `bench` bound to them. */
export interface BenchSetup {
  tmp: string;
  server: ReadyProcess & { url: string };
  /** `bench` against `url` (the shared engine by default), writing under `outRoot/label`. */
  benchCmd(args: string[], label?: string, o?: { url?: string; outRoot?: string }): Deno.Command;
  /** Runs `bench` against the shared engine and reads its run directory. */
  bench(...args: string[]): Promise<BenchOut>;
}

/** Starts a test file's engine and temporary folder. */
export async function benchSetup(prefix: string): Promise<BenchSetup> {
  const tmp = await Deno.makeTempDir({ prefix });
  const server = await sim();
  const bc: BenchSetup["benchCmd"] = (args, label = "t", o = {}) =>
    benchCmd(args, label, { url: o.url ?? server.url, outRoot: o.outRoot ?? join(tmp, "exp") });
  return {
    tmp,
    server,
    benchCmd: bc,
    bench: async (...args) => collect(await bc(args).output()),
  };
}

/** Bench flags as the CLI resolves them (against a placeholder `--url`), and run 0's jobs. */
export async function benchWork(
  ...args: string[]
): Promise<{ cfg: BenchConfig; work: WorkSource }> {
  const { values } = parseFlags(["--url", "http://127.0.0.1:1", ...args], flagsWithoutDefaults());
  const cfg = resolveBenchConfig(values);
  return { cfg, work: await workSource(new LazyTokenizer(), cfg, 0) };
}

/** The start offsets (ms) of every job a source draws. */
export function offsetsOf(work: WorkSource): number[] {
  const out: number[] = [];
  for (let j = work.jobs.next(); !j.done; j = work.jobs.next()) out.push(j.value.offsetMs);
  return out;
}
