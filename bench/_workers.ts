/**
 * Multi-host load (`--workers host1,host2`): the Poisson rate is split evenly
 * across N bench workers (a superposition of independent Poisson streams is
 * Poisson at the summed rate), each with its own seed, all starting at one
 * wall-clock instant (`--start-at`). `local` is a local subprocess; any other
 * name runs `ssh HOST <worker-cmd>` (the bundled dist/bench.js). Each worker
 * prepares its workload, prints {@linkcode READY_LINE} and reads the start
 * instant (Unix ms) from stdin; the coordinator sends it once all are ready
 * (clocks of remote hosts must agree, e.g. NTP). Their rows
 * come back (`ssh HOST cat`) and are merged, ids prefixed `w<i>-`. A worker
 * `k8s:POD` is a bench pod (`--platform kubernetes`, `_k8s_job.ts`), reached
 * with `kubectl exec`.
 *
 * @module
 */
import { BENCH_V8_FLAGS } from "../lib/heap.ts";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { FlagValues } from "../lib/args.ts";
import { parseCsv } from "../lib/csv.ts";
import { parseRequestRow, type RequestRow } from "../lib/result_schema.ts";
import type { Kubectl } from "../lib/kubectl.ts";
import { BENCH_FLAGS } from "./bench_config.ts";
import { BENCH_CONTAINER, POD_BENCH_STOP, podBenchCommand } from "./_k8s_job.ts";

/** Flags the coordinator sets itself for each worker. */
const OWN = new Set([
  "workers",
  "worker-cmd",
  "start-at",
  "config",
  "out",
  "rate",
  "seed",
  "num-requests",
  "help",
  "platform",
  "replicas",
  "namespace",
  "image",
  "context",
  "reset-prefix-cache",
]);
/** A worker prints this line when it is ready to start on the shared instant. */
export const READY_LINE = "bench worker ready";
/** Start margin after the last worker is ready: local, and with any remote worker (ssh latency). */
const START_MARGIN_MS = { local: 300, remote: 1500 };
/** Seed spacing between workers (runs use seed + k, warmup seed + 1000003). */
const SEED_STRIDE = 10_007;

/** One worker's spec. */
export interface WorkerSpec {
  /** `local`, or an ssh destination. */
  host: string;
  args: string[];
}

/** Worker arguments: every resolved option except the coordinator's own, rate/N, seed + i*stride. */
export function workerArgs(
  v: FlagValues,
  o: {
    index: number;
    count: number;
    rateRps: number;
    seed: number;
    out: string;
  },
): string[] {
  const args: string[] = [];
  for (const [k, d] of Object.entries(BENCH_FLAGS)) {
    const x = v[k];
    if (OWN.has(k) || x === undefined) continue;
    if (d.type === "boolean") {
      if (x === true) args.push(`--${k}`);
    } else args.push(`--${k}`, String(x));
  }
  // one reset of the server's prefix cache, by worker 0, not one per worker
  if (v["reset-prefix-cache"] === true && o.index === 0) args.push("--reset-prefix-cache");
  args.push(
    "--rate",
    Number.isFinite(o.rateRps) ? String(o.rateRps / o.count) : "inf",
    "--seed",
    String(o.seed + o.index * SEED_STRIDE),
    "--start-at",
    "stdin",
    "--out",
    o.out,
  );
  if (v["num-requests"] !== undefined) {
    const n = Number(v["num-requests"]);
    const share = Math.floor(n / o.count) + (o.index < n % o.count ? 1 : 0);
    args.push("--num-requests", String(Math.max(1, share)));
  }
  return args;
}

const shq = (s: string) => /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replaceAll("'", `'\\''`)}'`;

/** What one worker left behind. */
export interface WorkerResult {
  host: string;
  code: number;
  stderr: string;
  rows: RequestRow[];
  /** request_id to inter-token gaps (server ms). */
  itl: Map<string, number[]>;
  summary: Record<string, unknown> | null;
}

async function readBack(
  host: string,
  dir: string,
  file: string,
  kube?: Kubectl,
): Promise<string> {
  if (host === "local") return await Deno.readTextFile(join(dir, file)).catch(() => "");
  if (host.startsWith(POD)) {
    const r = await kube!.run([
      ...["exec", host.slice(POD.length), "-c", BENCH_CONTAINER, "--"],
      ...["cat", `${dir}/${file}`],
    ]);
    return r.code === 0 ? r.stdout : "";
  }
  const r = await new Deno.Command("ssh", {
    args: [host, `cat ${shq(`${dir}/${file}`)}`],
    stdout: "piped",
    stderr: "null",
    stdin: "null",
  }).output();
  return r.success ? new TextDecoder().decode(r.stdout) : "";
}

/** Options of {@linkcode runWorkers}. */
export interface RunWorkersOptions {
  workers: WorkerSpec[];
  /** Command line of a remote worker (split on spaces). */
  workerCmd: string;
  /** `import.meta.url` of the bench entry, run by local workers. */
  selfUrl: string;
  /** Forwarded to the workers (Ctrl-C / SIGTERM). */
  signal: AbortSignal;
  /** Each stderr line of a worker. */
  onLine?: (host: string, line: string) => void;
  /** The cluster of `k8s:POD` workers (`--platform kubernetes`). */
  kube?: Kubectl;
  /**
   * After a stop, how long a pod's bench may take to finish before the local
   * `kubectl exec` is cut (its rows are then lost; the Job goes with the run). @default 30000
   */
  stopGraceMs?: number;
}

/** Host prefix of a worker that is a bench pod: `k8s:POD`. */
export const POD = "k8s:";

/** Runs the workers to completion and reads their rows back. */
export async function runWorkers(o: RunWorkersOptions): Promise<WorkerResult[]> {
  const barrier = new StartBarrier(o.workers);
  return await Promise.all(o.workers.map((w, i) => runWorker(o, w, i, barrier)));
}

/** The shared start: once every worker is ready (or gone), each reads one start instant. */
class StartBarrier {
  #pending: number;
  readonly #remote: boolean;
  readonly #stdins: WritableStreamDefaultWriter<Uint8Array>[] = [];

  constructor(workers: WorkerSpec[]) {
    this.#pending = workers.length;
    this.#remote = workers.some((w) => w.host !== "local");
  }

  /** A worker's stdin, where its start instant goes. */
  add(stdin: WritableStreamDefaultWriter<Uint8Array>): void {
    this.#stdins.push(stdin);
  }

  /** One worker is ready (or gone); the last one starts them all. */
  arrive(): void {
    if (--this.#pending > 0) return;
    const at = Date.now() + START_MARGIN_MS[this.#remote ? "remote" : "local"];
    for (const w of this.#stdins) w.write(new TextEncoder().encode(`${at}\n`)).catch(() => {});
  }
}

/** One worker: started, released at the shared instant, stopped with the run, its results read back. */
async function runWorker(
  o: RunWorkersOptions,
  w: WorkerSpec,
  i: number,
  barrier: StartBarrier,
): Promise<WorkerResult> {
  const label = `w${i}@${w.host}`;
  const child = spawnWorker(o, w);
  const stdin = child.stdin.getWriter();
  barrier.add(stdin);
  let isReady = false;
  const onLine = (l: string) => {
    if (!isReady && l.includes(READY_LINE)) {
      isReady = true;
      barrier.arrive();
    }
  };
  const unwatch = stopWithRun(o, child, podOf(w.host), label);
  const { out, errText } = await drain(child, onLine, (l) => o.onLine?.(label, l));
  const status = await child.status;
  if (!isReady) barrier.arrive(); // a worker that died before ready must not hold the others
  await stdin.close().catch(() => {});
  unwatch();
  const dir = out.trim().split(/\r?\n/).at(-1)?.trim() ?? "";
  const res: WorkerResult = {
    host: w.host,
    code: status.code,
    stderr: errText.join("\n"),
    rows: [],
    itl: new Map(),
    summary: null,
  };
  return dir ? { ...res, ...await readResults(w.host, dir, i, o.kube) } : res;
}

/** The pod of a `k8s:POD` worker, else null. */
const podOf = (host: string) => host.startsWith(POD) ? host.slice(POD.length) : null;

/**
 * Starts a worker: a local subprocess, a pod's bench (`kubectl exec`), or
 * `ssh -tt HOST <worker-cmd>` (closing our end hangs up the remote worker,
 * SIGHUP, if we die).
 */
function spawnWorker(o: RunWorkersOptions, w: WorkerSpec): Deno.ChildProcess {
  const pod = podOf(w.host);
  const remote = [...o.workerCmd.split(/\s+/).filter(Boolean), ...w.args].map(shq).join(" ");
  const [cmd, args] = w.host === "local"
    ? [Deno.execPath(), ["run", "-A", BENCH_V8_FLAGS, fileURLToPath(o.selfUrl), ...w.args]]
    : pod
    ? [
      o.kube!.bin,
      o.kube!.argv(["exec", "-i", pod, "-c", BENCH_CONTAINER, "--", ...podBenchCommand(w.args)]),
    ]
    : ["ssh", ["-tt", w.host, remote]];
  return new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped", stdin: "piped" })
    .spawn();
}

/**
 * Stops a worker when the run stops. A pod's bench is asked to stop where it
 * runs: it finishes, prints its folder, and the rows come back as after a
 * whole run (killing the local kubectl would lose them; it is cut only after
 * the grace). Returns the cleanup.
 */
function stopWithRun(
  o: RunWorkersOptions,
  child: Deno.ChildProcess,
  pod: string | null,
  label: string,
): () => void {
  let cut: ReturnType<typeof setTimeout> | undefined;
  const term = () => {
    try {
      child.kill("SIGTERM");
    } catch { /* already gone */ }
  };
  const kill = pod
    ? () => {
      o.kube!.run(["exec", pod, "-c", BENCH_CONTAINER, "--", ...POD_BENCH_STOP]).then(
        (r) => {
          if (r.code !== 0) o.onLine?.(label, `could not stop: ${r.stderr.trim()}`);
        },
        () => {},
      );
      cut = setTimeout(term, o.stopGraceMs ?? 30_000);
    }
    : term;
  o.signal.addEventListener("abort", kill, { once: true });
  return () => {
    o.signal.removeEventListener("abort", kill);
    clearTimeout(cut);
  };
}

/**
 * Reads a worker's output to its end: stderr lines (kept, and passed to both
 * callbacks) and stdout (its last line is the run folder; ssh -tt merges the
 * remote stderr into it, so it is watched for the ready line too).
 */
async function drain(
  child: Deno.ChildProcess,
  watch: (line: string) => void,
  onLine: (line: string) => void,
): Promise<{ out: string; errText: string[] }> {
  const errText: string[] = [];
  const pumpErr = (async () => {
    let buf = "";
    for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
      buf += chunk;
      const lines = buf.split(/\r?\n/);
      buf = lines.pop()!;
      for (const l of lines) {
        errText.push(l);
        watch(l);
        onLine(l);
      }
    }
  })();
  let out = "";
  for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
    out += chunk;
    for (const l of chunk.split(/\r?\n/)) watch(l);
  }
  await pumpErr;
  return { out, errText };
}

/** The rows, gaps and summary a worker left in `dir`, ids prefixed `w<i>-`. */
async function readResults(
  host: string,
  dir: string,
  i: number,
  kube?: Kubectl,
): Promise<Pick<WorkerResult, "rows" | "itl" | "summary">> {
  const prefix = `w${i}-`;
  const csv = await readBack(host, dir, "requests.csv", kube);
  const rows = csv
    ? parseCsv(csv).map((r) => {
      const row = parseRequestRow(r, `${host}:${dir}/requests.csv`);
      return {
        ...row,
        request_id: prefix + row.request_id,
        conversation_id: prefix + row.conversation_id,
      };
    })
    : [];
  const itl = new Map<string, number[]>();
  for (const line of (await readBack(host, dir, "itl.jsonl", kube)).split("\n")) {
    if (!line.trim()) continue;
    const j = JSON.parse(line);
    itl.set(prefix + j.request_id, j.itl_ms);
  }
  const s = await readBack(host, dir, "summary.json", kube);
  const summary = s ? (JSON.parse(s) as Record<string, unknown>[])[0] ?? null : null;
  return { rows, itl, summary };
}

/** Peak number of requests in flight, from the rows' send and end times. */
export function peakInFlight(rows: readonly Pick<RequestRow, "sent_ms" | "end_ms">[]): number {
  const ev = rows.flatMap((r) => [[r.sent_ms, 1], [r.end_ms, -1]]).sort((a, b) =>
    a[0] - b[0] || a[1] - b[1]
  );
  let cur = 0;
  let max = 0;
  for (const [, d] of ev) max = Math.max(max, cur += d);
  return max;
}

/** What a distributed run brings back: rows in send order, with what the workers counted. */
export interface DistributedRun {
  rows: { row: RequestRow; itl: number[] }[];
  /** Output-token mismatches the workers counted. */
  mismatches: number;
  /** Every worker exited 0 with a complete summary. */
  complete: boolean;
  /** One line per worker that did not (exit code, rows, last stderr lines). */
  problems: string[];
}

/** Runs the workers and merges their rows under `runId` and `loadPoint` (ids prefixed `w<i>-`). */
export async function runDistributed(
  o: RunWorkersOptions & {
    runId: string;
    /** The run's load point label (each worker labels its rows with its own rate/N). */
    loadPoint: string;
  },
): Promise<DistributedRun> {
  const results = await runWorkers(o);
  const rows = results.flatMap((w) =>
    w.rows.map((row) => ({
      row: { ...row, run_id: o.runId, load_point: o.loadPoint },
      itl: w.itl.get(row.request_id) ?? [],
    }))
  ).sort((a, b) => a.row.sent_ms - b.row.sent_ms);
  let mismatches = 0;
  const problems: string[] = [];
  for (const w of results) {
    mismatches += Number(w.summary?.output_token_mismatches ?? 0);
    if (w.code !== 0 || w.summary?.complete !== true) {
      problems.push(
        `worker ${w.host} exited ${w.code} with ${w.rows.length} rows: ${
          w.stderr.split("\n").filter(Boolean).slice(-3).join(" | ")
        }`,
      );
    }
  }
  return { rows, mismatches, complete: problems.length === 0, problems };
}
