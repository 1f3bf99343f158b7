/**
 * One load point (or `--runs K` repeats) of one topology in virtual time, to a
 * run directory of the same contract as `deno task bench` (DESIGN.md):
 * `config.json` (with `"clock": "virtual"`), `requests.csv` streamed as
 * requests finish, `summary.json` from bench's own summary code. Same seed and
 * inputs give byte-identical `requests.csv` and `summary.json`; `step_terms.json`
 * says where each instance's simulated step time went (`step_terms_file.ts`).
 *
 * @module
 */
import { basename, dirname, join } from "node:path";
import { CsvAppender, LineAppender } from "../../lib/csv.ts";
import { loadTokenizer, type Tokenizer } from "../../lib/tokenizer.ts";
import {
  type LoadPointSummary,
  REQUEST_COLUMNS,
  type RequestRow,
} from "../../lib/result_schema.ts";
import {
  runCost,
  runFinding,
  scenarioFindings,
  scenarioReport,
} from "../../lib/scenario_metrics.ts";
import { writeJsonAtomic } from "../../lib/write_file.ts";
import { EventLoop } from "../../lib/event_loop.ts";
import { SaturationDetector, verdictText } from "../../lib/saturation.ts";
import { buildVocab, type OutputVocab } from "../../launch/sim/core/vocab.ts";
import type { Topology } from "../../launch/topology.ts";
import {
  type BenchConfig,
  flagsWithoutDefaults,
  resolveBenchConfig,
} from "../../bench/bench_config.ts";
import { parseFlags } from "../../lib/args.ts";
import { type BenchRun, flagArgs } from "../_bench_cmd.ts";
import { requestRow, RunRows } from "../../bench/record.ts";
import { newState, runLoad, type RunState } from "../../bench/load_driver.ts";
import { resultBlock, summarize } from "../../bench/summary.ts";
import { runBasics, workSource } from "../../bench/work_source.ts";
import {
  BENCH_VERSION,
  classSummaries,
  freshRunDir,
  loadPointLabel,
  runKey,
  stamp,
  summaryMeta,
  writeRunConfig,
  writeSummaries,
} from "../../bench/run_files.ts";
import { PromptTokens } from "../../lib/prompt_tokens.ts";
import { VirtualSender } from "./virtual_sender.ts";
import { predictTokens } from "./predict_tokens.ts";
import { VirtualTopology, type VirtualTopologyOptions } from "./virtual_topology.ts";
import { addRuns, type InstanceTerms, instanceTerms, writeStepTerms } from "./step_terms_file.ts";

/** Options of {@linkcode predictRun}. */
export interface PredictRunOptions extends VirtualTopologyOptions {
  /** Writes progress lines (simulated time, requests, speed-up) here. */
  progress?: (line: string) => void;
  /** Called as each run (of `--runs K`) finishes: its summary and simulated ms. @default none */
  onRun?: (summary: LoadPointSummary, simulatedMs: number) => void;
  /** Print vLLM's result block to stderr. @default false */
  resultBlock?: boolean;
  /** Where the result block goes (text ending in a newline). @default stderr */
  print?: (text: string) => void;
  /** Recorded in config.json. */
  argv?: string[];
  /** `start_time` in config.json and the run folder stamp. @default now */
  startTime?: Date;
  /**
   * Stops the run within about a wall second of its abort (Ctrl-C): the rows of
   * what finished are written whole, no summary (the point stays incomplete),
   * and the run throws the signal's reason. @default none
   */
  signal?: AbortSignal;
  /** Also write each request's inter-token gaps to `itl.jsonl`, as bench does. @default false */
  writeItl?: boolean;
  /** With `events`: the attainment target (percent) the scenario's recovery is judged by. @default 90 */
  targetPct?: number;
}

/** What a virtual run produced. */
export interface PredictRun {
  runDir: string;
  summaries: LoadPointSummary[];
  /** Virtual ms simulated, and wall ms taken. */
  simulatedMs: number;
  wallMs: number;
  events: number;
}

/** Output vocabularies per tokenizer (built once each). */
const vocabs = new WeakMap<Tokenizer, OutputVocab>();

/** What every run of one prediction shares. */
interface Shared {
  topology: Topology;
  cfg: BenchConfig;
  o: PredictRunOptions;
  tok: Tokenizer;
  vocab: OutputVocab;
  prompts: PromptTokens;
  model: string;
  date: string;
  /** The first run's topology, built up front (it validates the topology); taken by that run. */
  first: RunTopology | null;
}

/** A fresh topology on its own event loop, for the run of one seed. */
interface RunTopology {
  loop: EventLoop;
  topo: VirtualTopology;
  seed: number;
}

/** A fresh topology and event loop: --reset-prefix-cache and a cold start, as bench gets. */
function runTopology(
  sh: Pick<Shared, "topology" | "o" | "tok" | "prompts" | "vocab">,
  seed: number,
): RunTopology {
  const loop = new EventLoop();
  const topo = new VirtualTopology(sh.topology, loop, sh.o, {
    tokenizer: sh.tok,
    prompts: sh.prompts,
    vocab: sh.vocab,
    seed,
  });
  return { loop, topo, seed };
}

/** Runs the load of `cfg` against `topology` in virtual time; writes one run directory. */
export async function predictRun(
  topology: Topology,
  cfg: BenchConfig,
  o: PredictRunOptions = {},
): Promise<PredictRun> {
  if (cfg.workers.length) {
    throw new RangeError(
      `Cannot use --workers in virtual time: current value is ${
        cfg.workers.join(",")
      }; allowed: none (one process simulates any rate)`,
    );
  }
  let tok: Tokenizer;
  try {
    tok = await loadTokenizer(cfg.tokenizer, { buildOnUse: true });
  } catch (e) {
    new VirtualTopology(topology, new EventLoop(), o); // an invalid topology is named first
    throw e;
  }
  let vocab = vocabs.get(tok);
  if (!vocab) vocabs.set(tok, vocab = buildVocab(tok));
  const prompts = new PromptTokens(tok);
  // built before any file is written (it validates the topology), and played by the first run:
  // one build, not a throwaway one to validate and another to run
  const first = runTopology({ topology, o, tok, prompts, vocab }, runBasics(cfg, 0).seed);
  const started = o.startTime ?? new Date();
  const dir = await freshRunDir(dirname(cfg.out), `${stamp(started)}-${basename(cfg.out)}`);
  const model = cfg.model ?? topology.model;
  const sh: Shared = {
    topology,
    cfg,
    o,
    tok,
    vocab,
    prompts,
    model,
    date: started.toISOString(),
    first,
  };
  await writePredictConfig(dir, sh);
  // rows held and written about 64 KiB at a time (and at least every wall second): one
  // write per row would cost more than the row itself
  const csv = new CsvAppender(join(dir, "requests.csv"), REQUEST_COLUMNS, { holdBytes: 1 << 16 });
  const itl = o.writeItl ? new LineAppender(join(dir, "itl.jsonl")) : null;
  const summaries: LoadPointSummary[] = [];
  const t0 = performance.now();
  let simulatedMs = 0;
  let events = 0;
  let terms: InstanceTerms[] | null = null;
  try {
    for (let k = 0; k < cfg.runs; k++) {
      const runId = cfg.runs > 1 ? `${basename(dir)}-r${k + 1}` : basename(dir);
      const run = await playRun(sh, k, new RunRows(runId, csv, itl));
      if (run.topo.faults) await writeScenario(dir, sh, run, k);
      simulatedMs += run.loop.nowMs();
      events += run.loop.events;
      terms = addRuns(terms, instanceTerms(run.topo));
      const s = runSummaries(sh, run, k);
      run.sink.close();
      summaries.push(...s);
      await writeSummaries(dir, summaries);
      await writeStepTerms(dir, terms, simulatedMs);
      if (o.resultBlock) {
        (o.print ?? ((t: string) => Deno.stderr.writeSync(new TextEncoder().encode(t))))(
          `${
            resultBlock(s[0])
          }\nServer: topobench SIMULATED engine, virtual clock (no host in the loop)\n`,
        );
      }
      o.onRun?.(s[0], run.loop.nowMs());
    }
  } finally {
    csv.close();
    itl?.close();
  }
  return { runDir: dir, summaries, simulatedMs, wallMs: performance.now() - t0, events };
}

/** config.json of a virtual run. */
function writePredictConfig(dir: string, sh: Shared): Promise<void> {
  const { topology, cfg, o } = sh;
  return writeRunConfig(dir, {
    tool: "topobench predict",
    version: BENCH_VERSION,
    clock: "virtual",
    simulated: true,
    deno: Deno.version,
    start_time: sh.date,
    argv: o.argv ?? [],
    model: sh.model,
    server_version: "topobench-sim (virtual time)",
    tokenizer: sh.tok.name,
    topology: cfg.topology,
    topology_file: topology.file,
    topology_spec: topology,
    router_hop_ms: o.routerHopMs ?? null,
    seed: cfg.dataset.seed,
    run_key: runKey(cfg, sh.model),
    bench: cfg,
  });
}

/** One run played to its end. */
interface PlayedRun {
  loop: EventLoop;
  topo: VirtualTopology;
  sink: RunRows;
  state: RunState;
  k: number;
  /** Its rows, kept when it plays a scenario (events). */
  rows: RequestRow[];
}

/**
 * `scenario.json` (`scenario-r<k>.json` for a repeat): what the scenario's
 * events cost (`lib/scenario_metrics.ts`), from the rows and the fault log,
 * with the per-second samples of every instance. SIMULATED, virtual clock.
 */
async function writeScenario(dir: string, sh: Shared, run: PlayedRun, k: number): Promise<void> {
  const faults = run.topo.faults!;
  const report = scenarioReport({
    rows: run.rows,
    events: sh.o.events ?? [],
    records: faults.log,
    slo: sh.cfg.slo ?? {},
    targetPct: sh.o.targetPct ?? 90,
    durationMs: sh.cfg.durationS !== undefined ? sh.cfg.durationS * 1000 : undefined,
  });
  const name = k === 0 ? "scenario.json" : `scenario-r${k + 1}.json`;
  // GPU-hours up to the load's end or the last request's, whichever is later
  let endMs = (sh.cfg.durationS ?? 0) * 1000;
  for (const r of run.rows) endMs = Math.max(endMs, r.end_ms);
  const cost = runCost(
    run.rows,
    sh.cfg.slo ?? {},
    faults.gpuHours(endMs),
    run.topo.autoscaler?.actions ?? null,
  );
  await writeJsonAtomic(join(dir, name), {
    clock: "virtual",
    simulated: true,
    ...report,
    ...cost,
    findings: [...scenarioFindings(report), runFinding(cost)],
    // the router's retry of a request whose leg failed before any token: off unless router.retries
    router_retries: run.topo.routing.spec.retries ?? 0,
    retried: run.topo.retried,
    instances: faults.samples,
  });
}

/** Run `k`: its jobs through the one load driver, on a fresh topology and event loop. */
async function playRun(sh: Shared, k: number, sink: RunRows): Promise<PlayedRun> {
  const { cfg } = sh;
  const work = await workSource(sh.tok, cfg, k, { tokenIds: true });
  // a fresh topology per run (the one built up front for the first)
  const pre = sh.first?.seed === work.seed ? sh.first : null;
  sh.first = null;
  const { loop, topo } = pre ?? runTopology(sh, work.seed);
  const tokens = predictTokens(sh.prompts, sh.vocab);
  const loadPoint = loadPointLabel(cfg);
  const state = newState();
  const what = `${cfg.topology} ${loadPoint}`;
  const rows: RequestRow[] = [];
  const keep = topo.faults !== null;
  const done = runLoad(
    {
      tokenizer: sh.tok,
      endpoint: cfg.dataset.endpoint,
      jobs: work.jobs,
      concurrency: cfg.concurrency,
      closedLoop: work.closedLoop,
      durationMs: work.durationMs,
    },
    loop,
    new VirtualSender(loop, topo, tokens),
    {
      state,
      saturation: saturationDetector(cfg),
      onSaturated: (v) => sh.o.progress?.(`[predict] ${what}: stopped, ${verdictText(v)}`),
      onResult: (f) => {
        const { row, itlMs } = requestRow(f, sink.runId, loadPoint);
        sink.add(row, itlMs);
        if (keep) rows.push(row);
      },
    },
  );
  await stepWithProgress(loop, state, sh.o, what, sink);
  sink.flush();
  sh.o.signal?.throwIfAborted();
  // a loop that runs dry with requests still in flight (an engine that never answers
  // them) ends the run as it stands, with the rows of what finished
  await Promise.race([done, state]);
  return { loop, topo, sink, state, k, rows };
}

/**
 * Runs the loop dry; about every wall second, the rows held are written, a
 * progress line goes out, and (with a signal) the host's events get a turn, so
 * that Ctrl-C is heard: an aborted run stops there.
 */
async function stepWithProgress(
  loop: EventLoop,
  state: RunState,
  o: PredictRunOptions,
  what: string,
  sink: RunRows,
): Promise<void> {
  const { progress, signal } = o;
  const w0 = performance.now();
  let nextReport = w0 + 1000;
  // once the saturation stop has ended every request, what the engines still hold is dropped
  while (loop.step() && !(state.saturated && state.inFlight === 0)) {
    if ((loop.events & 1023) === 0 && performance.now() >= nextReport) {
      nextReport = performance.now() + 1000;
      sink.flush();
      if (signal) {
        await new Promise((r) => setTimeout(r, 0));
        if (signal.aborted) return;
      }
      if (!progress) continue;
      const wall = (performance.now() - w0) / 1000;
      progress(
        `[predict] ${what}: simulated ${
          (loop.nowMs() / 1000).toFixed(0)
        } s, done ${state.done}/${state.sent}, ${
          (loop.nowMs() / 1000 / wall).toFixed(0)
        }x real time`,
      );
    }
  }
}

/**
 * The saturation stop of a virtual run: on unless `--saturation-stop off`;
 * the TTFT floor is the SLO's TTFT when that is above the rule's 2 s (the
 * requests it then ends would have missed the SLO anyway).
 */
export function saturationDetector(cfg: BenchConfig): SaturationDetector | null {
  if (cfg.saturationStop === "off") return null;
  return new SaturationDetector({ ttftFloorMs: Math.max(2000, cfg.slo?.ttftMs ?? 0) });
}

/** The run's summary, then one per request class. */
function runSummaries(sh: Shared, run: PlayedRun, k: number): LoadPointSummary[] {
  const { cfg } = sh;
  const { sink, state, topo } = run;
  const meta = {
    runId: sink.runId,
    runIndex: k + 1,
    complete: true,
    maxConcurrent: state.maxInFlight,
    gpus: cfg.gpus ?? topo.gpus,
    saturated: state.saturated && verdictText(state.saturated),
  };
  const s = summarize(sink.rows, sink.itls, sink.tokensPerSecond, {
    ...summaryMeta(cfg, { model: sh.model, tokenizer: sh.tok.name, date: sh.date }),
    ...meta,
    outputTokenMismatches: 0,
  });
  Object.assign(s, { simulated: true, clock: "virtual" });
  return [
    s,
    ...classSummaries(cfg, sink.byClass, s, {
      model: sh.model,
      tokenizer: sh.tok.name,
      date: sh.date,
      ...meta,
    }, { simulated: true, clock: "virtual" }),
  ];
}

/** Stands in for bench's `--url` in virtual time (no server is contacted). */
export const VIRTUAL_URL = "http://virtual.invalid";

/** Bench flags -> bench's own config (same parser and validation), with no server to contact. */
export function benchConfigOf(
  flags: Record<string, string | number | boolean | string[] | null | undefined>,
): { cfg: BenchConfig; args: string[] } {
  const args = flagArgs({ ...flags, url: VIRTUAL_URL, "time-scale": null });
  return { cfg: resolveBenchConfig(parseFlags(args, flagsWithoutDefaults()).values), args };
}

/**
 * Bench flags (as the sweep builds them for `deno task bench`) -> a virtual
 * run of `topology`, answered like {@linkcode runBench}: the same flag parser
 * and validation as bench, so a point means the same load in both clocks.
 */
export async function predictFlags(
  topology: Topology,
  flags: Record<string, string | number | boolean | string[] | null | undefined>,
  o: PredictRunOptions = {},
): Promise<BenchRun> {
  const { cfg, args } = benchConfigOf(flags);
  const r = await predictRun(topology, cfg, { ...o, argv: args });
  return {
    code: 0,
    runDir: r.runDir,
    summaries: r.summaries as unknown as Record<string, unknown>[],
    stderrTail: "",
  };
}
