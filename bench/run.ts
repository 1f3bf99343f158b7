/**
 * `deno task bench`: one streaming load run (or `--runs K` repeats) against an
 * OpenAI-compatible server, written to a run directory (DESIGN.md):
 * `config.json`, `requests.csv` (appended as requests finish), `itl.jsonl`,
 * `summary.json` (an array, one object per run/load point), optional `gpu.csv`
 * and `server_metrics.csv`; vLLM's result block on stderr; the run directory
 * path on stdout. Ctrl-C/SIGTERM stops sending, waits `--grace` for in-flight
 * requests, writes `"complete": false` and exits 130/143. Exit codes: 0 done, 1 bad
 * input, an error, or every request failed, 130/143 interrupted (SIGINT/SIGTERM).
 *
 *     deno task bench --url http://127.0.0.1:8000 --rate 20 --duration 60 \
 *       --dataset random --input-len 512 --output-len 128 --out results/exp1/agg
 *
 * @module
 */
import { parse as parseYaml } from "yaml";
import { type CommandHelp, type FlagValues, parseCommand, runMain } from "../lib/args.ts";
import { createLogger } from "../lib/log.ts";
import { readConfigText } from "../lib/read_config.ts";
import {
  BENCH_FLAGS,
  type BenchConfig,
  flagsWithoutDefaults,
  resolveBenchConfig,
  valuesFromFile,
} from "./bench_config.ts";
import { type LoadExecutor, startExecutor } from "./_executor.ts";
import { runLoadPoint } from "./_load_point.ts";
import { RunSession } from "./_session.ts";
import { openTarget } from "./_target.ts";
import { isSenderThread, serveSenderThread } from "./_sender_thread.ts";

const HELP: CommandHelp = {
  cmd: "deno task bench",
  summary: "Open-loop streaming load against an OpenAI-compatible server, measured like " +
    "`vllm bench serve` (vLLM's flag spellings are accepted as aliases).",
  flags: BENCH_FLAGS,
};

/** The resolved config, the `--config` file and the flags as given (file, then command line). */
async function settingsOf(
  values: FlagValues,
): Promise<{ cfg: BenchConfig; file?: string; given: FlagValues }> {
  const file = values.config as string | undefined;
  const fileValues = file
    ? valuesFromFile(parseYaml(await readConfigText(file, "a workload file")), file)
    : {};
  const cfg = resolveBenchConfig(values, fileValues);
  const given: FlagValues = { ...fileValues };
  for (const [k, x] of Object.entries(values)) if (x !== undefined && k !== "help") given[k] = x;
  return { cfg, file, given };
}

/** Runs the CLI; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  const parsed = parseCommand(args, flagsWithoutDefaults(), HELP);
  if (!parsed) return 0;
  const { values } = parsed;
  const { cfg, file, given } = await settingsOf(values);
  const log = createLogger({ name: "bench" });
  const target = await openTarget(cfg, log);
  const session = await RunSession.open(cfg, target, { args, file, log });
  // the load's executor: this process, --workers hosts, or the pods of a bench Job
  let executor: LoadExecutor | null = null;
  let ok = false;
  try {
    executor = await startExecutor(session, { selfUrl: import.meta.url, given });
    for (let k = 0; k < cfg.runs && !session.stopped; k++) {
      if (!await runLoadPoint(session, executor, k)) break;
    }
    ok = !session.stopped;
  } finally {
    await executor?.finish(ok);
    await session.close();
  }
  return await session.finish();
}

// the same file runs each sender thread of a run (`--senders`), bundled or not
if (isSenderThread()) serveSenderThread();
else if (import.meta.main) await runMain(main);
