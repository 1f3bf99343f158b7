/**
 * What one run plays, drawn lazily: each job's start offset with its request
 * (or conversation), in schedule order. Both clocks build their jobs here, so
 * a load point means the same load in `bench` and `predict`. The random
 * dataset and the arrival schedule are generators: memory stays flat in the
 * run's length and a run starts sending at once, whatever its size. Datasets
 * read from files (and multi-turn, images) are built up front for the number
 * of arrivals the schedule has.
 *
 * @module
 */
import { Rng } from "../lib/rng.ts";
import type { Tokenizer } from "../lib/tokenizer.ts";
import type { BenchConfig } from "./bench_config.ts";
import {
  arrivalOffsets,
  type ArrivalOptions,
  arrivalStream,
  expectedArrivals,
} from "./workload/arrivals.ts";
import {
  buildWorkload,
  type DatasetOptions,
  multiturnOptions,
  traceOptions,
} from "./workload/datasets.ts";
import { multiturnStream } from "./workload/multiturn.ts";
import { parseTrace, traceRequests } from "./workload/trace.ts";
import { randomRequests } from "./workload/random.ts";
import type { Conversation, RequestSpec } from "./workload/types.ts";

/** Closed-loop runs bounded only by --duration prepare this many requests (datasets built up front). */
export const CLOSED_LOOP_POOL = 10_000;

/** One unit of work: a single-turn request or a conversation, due at `offsetMs`. */
export interface Job {
  /** Start offset from run start (ms); 0 in a closed loop. */
  offsetMs: number;
  request?: RequestSpec;
  conversation?: Conversation;
  /** The request class (`--class`) it belongs to. */
  className?: string;
  /** A session (trace replay): sent only after the session's previous request has ended. */
  session?: string;
}

/** The jobs of one run, with what is known of their number. */
export interface WorkSource {
  jobs: Iterator<Job, void, undefined>;
  /** Jobs in the run when known up front, else null (drawn lazily). */
  count: number | null;
  /** Expected jobs (from rate × duration) when `count` is null; Infinity when unbounded. */
  expected: number;
  seed: number;
  durationMs: number | undefined;
  closedLoop: boolean;
}

/** Options of {@linkcode workSource}. */
export interface WorkSourceOptions {
  /** Keep user messages' token ids (the virtual clock). @default false */
  tokenIds?: boolean;
  /** Maps server-time offsets and think times to the clock the runner sleeps on. @default identity */
  toClockMs?: (ms: number) => number;
}

function arrivalOptions(cfg: BenchConfig, durationMs: number | undefined): ArrivalOptions {
  return {
    process: cfg.arrival,
    rateRps: cfg.rateRps,
    burstiness: cfg.burstiness,
    ramp: cfg.ramp,
    rampToRps: cfg.rampToRps,
    bursts: cfg.rateBursts,
    rampDurationMs: cfg.rampDurationS !== undefined ? cfg.rampDurationS * 1000 : undefined,
    count: cfg.numRequests,
    durationMs,
    vllmRescale: cfg.metricsCompat === "vllm",
  };
}

/**
 * The jobs of every class as one schedule: each class's own source (its seed
 * moved so classes never share prompts), merged by due time, ids prefixed
 * with the class name.
 */
async function classSource(
  tok: Tokenizer,
  cfg: BenchConfig,
  k: number,
  o: WorkSourceOptions,
): Promise<WorkSource> {
  const parts = await Promise.all(cfg.classes.map(async (c, i) => {
    const ccfg: BenchConfig = {
      ...c.cfg,
      classes: [],
      durationS: cfg.durationS ?? c.cfg.durationS,
      dataset: { ...c.cfg.dataset, seed: c.cfg.dataset.seed + 100_003 * (i + 1) },
    };
    return { name: c.name, src: await workSource(tok, ccfg, k, o) };
  }));
  const counts = parts.map((p) => p.src.count);
  return {
    ...runBasics(cfg, k),
    closedLoop: false,
    jobs: mergeByTime(parts.map((p) => ({ name: p.name, jobs: p.src.jobs }))),
    count: counts.every((c) => c !== null) ? counts.reduce((a, b) => a! + b!, 0) : null,
    expected: parts.reduce((a, p) => a + p.src.expected, 0),
  };
}

/** Jobs of several named streams in due order, each tagged with its stream's name. */
function* mergeByTime(
  streams: { name: string; jobs: Iterator<Job, void, undefined> }[],
): Generator<Job, void, undefined> {
  const heads = streams.map((s) => ({ ...s, cur: s.jobs.next() }));
  for (;;) {
    let best = -1;
    for (let i = 0; i < heads.length; i++) {
      const h = heads[i].cur;
      if (h.done) continue;
      if (
        best < 0 || h.value.offsetMs < (heads[best].cur as IteratorYieldResult<Job>).value.offsetMs
      ) best = i;
    }
    if (best < 0) return;
    const h = heads[best];
    const job = (h.cur as IteratorYieldResult<Job>).value;
    h.cur = h.jobs.next();
    yield {
      ...job,
      className: h.name,
      ...(job.request
        ? { request: { ...job.request, requestId: `${h.name}-${job.request.requestId}` } }
        : {}),
      ...(job.conversation
        ? {
          conversation: {
            ...job.conversation,
            conversationId: `${h.name}-${job.conversation.conversationId}`,
          },
        }
        : {}),
    };
  }
}

/** What a finished job iterator answers. */
const DONE: IteratorReturnResult<void> = Object.freeze({ done: true, value: undefined });

/**
 * Offsets zipped with work items, ending with the shorter (neither is drawn
 * again after). One iterator object, no generator layers per job.
 */
class Zipped implements Iterator<Job, void, undefined> {
  #over = false;
  #first: IteratorResult<Job, void> | null = null;

  /**
   * @param isConversation whether the items are conversations (else requests)
   * @param toClockMs maps each offset to the clock's ms
   * @param prime draw the first job now (dataset set-up, e.g. the word list,
   *   happens before the run's clock starts)
   */
  constructor(
    readonly offsets: Iterator<number, void, undefined>,
    readonly items: Iterator<RequestSpec | Conversation, void, undefined>,
    readonly isConversation: boolean,
    readonly toClockMs: (ms: number) => number,
    prime = false,
  ) {
    if (prime) this.#first = this.#draw();
  }

  next(): IteratorResult<Job, void> {
    const first = this.#first;
    if (first === null) return this.#draw();
    this.#first = null;
    return first;
  }

  #draw(): IteratorResult<Job, void> {
    if (this.#over) return DONE;
    const o = this.offsets.next();
    const it = o.done ? o : this.items.next();
    if (o.done || it.done) {
      this.#over = true;
      return DONE;
    }
    const offsetMs = this.toClockMs(o.value);
    return {
      done: false,
      value: this.isConversation
        ? { offsetMs, conversation: it.value as Conversation }
        : { offsetMs, request: it.value as RequestSpec },
    };
  }
}

/** `xs` each through `f`, drawn as read. */
function mapIter<T, U>(
  xs: Iterator<T, void, undefined>,
  f: (x: T) => U,
): Iterator<U, void, undefined> {
  return {
    next(): IteratorResult<U, void> {
      const r = xs.next();
      return r.done ? r : { done: false, value: f(r.value) };
    },
  };
}

function* zeros(n: number): Generator<number, void, undefined> {
  for (let i = 0; i < n; i++) yield 0;
}

/** Seed, duration and loop kind of repeat `k` (0-based) of a config. */
export function runBasics(
  cfg: BenchConfig,
  k: number,
): { seed: number; durationMs: number | undefined; closedLoop: boolean } {
  return {
    seed: cfg.dataset.seed + k,
    durationMs: cfg.durationS !== undefined ? cfg.durationS * 1000 : undefined,
    closedLoop: cfg.rateRps === Infinity && cfg.concurrency !== undefined,
  };
}

/** What every dataset's source starts from: the repeat's basics, dataset and arrivals. */
interface SourceInputs {
  tok: Tokenizer;
  cfg: BenchConfig;
  base: ReturnType<typeof runBasics>;
  dataset: DatasetOptions;
  arrivals: ArrivalOptions | null;
  toClockMs: (ms: number) => number;
  /** Whether think times go to the clock's ms (`WorkSourceOptions.toClockMs` given). */
  scaleThink: boolean;
}

/** A trace is the schedule: its own times (sped up), cut by --duration / --num-requests. */
async function traceSource(x: SourceInputs): Promise<WorkSource> {
  const { tok, cfg, base, dataset, toClockMs } = x;
  let records = parseTrace(await Deno.readTextFile(dataset.path!), dataset.path!);
  if (cfg.numRequests !== undefined) records = records.slice(0, cfg.numRequests);
  const { requests, offsetsMs } = traceRequests(tok, records, traceOptions(dataset));
  let n = offsetsMs.length;
  if (base.durationMs !== undefined) n = offsetsMs.filter((t) => t < base.durationMs!).length;
  const offs = offsetsMs.slice(0, n).map(toClockMs);
  return {
    ...base,
    closedLoop: false,
    jobs: offs.map((offsetMs, i) => ({
      offsetMs,
      request: requests[i],
      ...(records[i].sessionId !== undefined ? { session: records[i].sessionId } : {}),
    }))[Symbol.iterator](),
    count: n,
    expected: n,
  };
}

/** Synthetic multi-turn chat on a schedule: conversations drawn as they arrive. */
function multiturnSource(x: SourceInputs, arrivals: ArrivalOptions): WorkSource {
  const { tok, base, dataset, toClockMs } = x;
  // a long run holds the conversations in flight, not all of them
  const drawn = multiturnStream(tok, multiturnOptions(dataset));
  const conversations = x.scaleThink
    ? mapIter(drawn, (c) => ({ ...c, thinkTimeMs: c.thinkTimeMs.map(toClockMs) }))
    : drawn;
  return {
    ...base,
    jobs: new Zipped(
      arrivalStream(arrivals, new Rng(`arrivals:${base.seed}`)),
      conversations,
      true,
      toClockMs,
      true,
    ),
    count: arrivals.durationMs === undefined ? arrivals.count! : null,
    expected: expectedArrivals(arrivals),
  };
}

/** The random dataset, drawn as sent (no limit on the schedule). */
function randomSource(x: SourceInputs): WorkSource {
  const { tok, cfg, base, dataset, arrivals, toClockMs } = x;
  const limit = base.closedLoop ? cfg.numRequests ?? Infinity : Infinity;
  const requests = randomRequests(tok, {
    count: limit,
    seed: base.seed,
    endpoint: dataset.endpoint,
    inputLen: dataset.inputLen,
    outputLen: dataset.outputLen,
    rangeRatio: dataset.rangeRatio,
    prefixLen: dataset.prefixLen,
    ignoreEos: dataset.ignoreEos,
    inputDist: dataset.inputDist,
    outputDist: dataset.outputDist,
    tokenIds: dataset.tokenIds,
  });
  const offsets = arrivals
    ? arrivalStream(arrivals, new Rng(`arrivals:${base.seed}`))
    : zeros(limit);
  return {
    ...base,
    jobs: new Zipped(offsets, requests, false, toClockMs, true),
    count: arrivals ? (arrivals.durationMs === undefined ? arrivals.count! : null) : null,
    expected: arrivals ? expectedArrivals(arrivals) : limit,
  };
}

/** Any other dataset (and a closed loop's conversations), built up front. */
async function builtSource(x: SourceInputs): Promise<WorkSource> {
  const { tok, cfg, base, dataset, arrivals, toClockMs } = x;
  const offsets = arrivals ? arrivalOffsets(arrivals, new Rng(`arrivals:${base.seed}`)) : null;
  const count = offsets ? offsets.length : cfg.numRequests ?? CLOSED_LOOP_POOL;
  const work = await buildWorkload(tok, dataset, count);
  const multi = work.conversations.length > 0;
  const items: (RequestSpec | Conversation)[] = multi
    ? x.scaleThink
      ? work.conversations.map((c) => ({ ...c, thinkTimeMs: c.thinkTimeMs.map(toClockMs) }))
      : work.conversations
    : work.requests;
  return {
    ...base,
    jobs: new Zipped(
      (offsets ?? zeros(count))[Symbol.iterator](),
      items[Symbol.iterator](),
      multi,
      toClockMs,
    ),
    count: Math.min(count, items.length),
    expected: Math.min(count, items.length),
  };
}

/**
 * The jobs of repeat `k` (0-based) of a config: seed `dataset.seed + k`, its
 * arrivals (none in a closed loop) and its dataset.
 */
export async function workSource(
  tok: Tokenizer,
  cfg: BenchConfig,
  k: number,
  o: WorkSourceOptions = {},
): Promise<WorkSource> {
  if (cfg.classes.length) return await classSource(tok, cfg, k, o);
  const base = runBasics(cfg, k);
  const x: SourceInputs = {
    tok,
    cfg,
    base,
    dataset: { ...cfg.dataset, seed: base.seed, tokenIds: o.tokenIds },
    arrivals: base.closedLoop ? null : arrivalOptions(cfg, base.durationMs),
    toClockMs: o.toClockMs ?? ((ms: number) => ms),
    scaleThink: o.toClockMs !== undefined,
  };
  const name = x.dataset.name;
  if (name === "mooncake" || name === "trace") return await traceSource(x);
  if (name === "multiturn" && x.arrivals) return multiturnSource(x, x.arrivals);
  if (name === "random") return randomSource(x);
  return await builtSource(x);
}

/** Jobs of a list of requests, all due at once (warmup). */
export function burst(requests: RequestSpec[]): Iterator<Job, void, undefined> {
  return requests.map((request) => ({ offsetMs: 0, request }))[Symbol.iterator]();
}
