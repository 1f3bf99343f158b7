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
  const self = fileURLToPath(o.selfUrl);
  let pending = o.workers.length;
  const stdins: (WritableStreamDefaultWriter<Uint8Array> | null)[] = [];
  const ready = () => {
    if (--pending > 0) return;
    const remote = o.workers.some((w) => w.host !== "local");
    const at = Date.now() + START_MARGIN_MS[remote ? "remote" : "local"];
    for (const w of stdins) w?.write(new TextEncoder().encode(`${at}\n`)).catch(() => {});
  };
  return await Promise.all(o.workers.map(async (w, i): Promise<WorkerResult> => {
    const local = w.host === "local";
    const remote = [...o.workerCmd.split(/\s+/).filter(Boolean), ...w.args].map(shq).join(" ");
    const pod = w.host.startsWith(POD) ? w.host.slice(POD.length) : null;
    // ssh -tt: closing our end hangs up the remote worker (SIGHUP) if we die; a pod's
    // bench is stopped in its pod (below), or with its Job
    const child = new Deno.Command(local ? Deno.execPath() : pod ? o.kube!.bin : "ssh", {
      args: local
        ? ["run", "-A", self, ...w.args]
        : pod
        ? o.kube!.argv(["exec", "-i", pod, "-c", BENCH_CONTAINER, "--", ...podBenchCommand(w.args)])
        : ["-tt", w.host, remote],
      stdout: "piped",
      stderr: "piped",
      stdin: "piped",
    }).spawn();
    stdins[i] = child.stdin.getWriter();
    let isReady = false;
    const onLine = (l: string) => {
      if (!isReady && l.includes(READY_LINE)) {
        isReady = true;
        ready();
      }
    };
    // a pod's bench is asked to stop where it runs: it finishes, prints its folder, and the
    // rows come back as after a whole run (killing the local kubectl would lose them)
    let cut: ReturnType<typeof setTimeout> | undefined;
    const kill = pod
      ? () => {
        o.kube!.run(["exec", pod, "-c", BENCH_CONTAINER, "--", ...POD_BENCH_STOP]).then(
          (r) => {
            if (r.code !== 0) o.onLine?.(`w${i}@${w.host}`, `could not stop: ${r.stderr.trim()}`);
          },
          () => {},
        );
        cut = setTimeout(() => {
          try {
            child.kill("SIGTERM");
          } catch { /* already gone */ }
        }, o.stopGraceMs ?? 30_000);
      }
      : () => {
        try {
          child.kill("SIGTERM");
        } catch { /* already gone */ }
      };
    o.signal.addEventListener("abort", kill, { once: true });
    const errText: string[] = [];
    const pumpErr = (async () => {
      let buf = "";
      for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
        buf += chunk;
        const lines = buf.split(/\r?\n/);
        buf = lines.pop()!;
        for (const l of lines) {
          errText.push(l);
          onLine(l);
          o.onLine?.(`w${i}@${w.host}`, l);
        }
      }
    })();
    // ssh -tt merges the remote stderr into stdout: watch it for the ready line too
    let out = "";
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
      out += chunk;
      for (const l of chunk.split(/\r?\n/)) onLine(l);
    }
    const status = await child.status;
    await pumpErr;
    if (!isReady) ready(); // a worker that died before ready must not hold the others
    await stdins[i]!.close().catch(() => {});
    o.signal.removeEventListener("abort", kill);
    clearTimeout(cut);
    const dir = out.trim().split(/\r?\n/).at(-1)?.trim() ?? "";
    const res: WorkerResult = {
      host: w.host,
      code: status.code,
      stderr: errText.join("\n"),
      rows: [],
      itl: new Map(),
      summary: null,
    };
    if (!dir) return res;
    const prefix = `w${i}-`;
    const csv = await readBack(w.host, dir, "requests.csv", o.kube);
    if (csv) {
      res.rows = parseCsv(csv).map((r) => {
        const row = parseRequestRow(r, `${w.host}:${dir}/requests.csv`);
        return {
          ...row,
          request_id: prefix + row.request_id,
          conversation_id: prefix + row.conversation_id,
        };
      });
    }
    for (const line of (await readBack(w.host, dir, "itl.jsonl", o.kube)).split("\n")) {
      if (!line.trim()) continue;
      const j = JSON.parse(line);
      res.itl.set(prefix + j.request_id, j.itl_ms);
    }
    const s = await readBack(w.host, dir, "summary.json", o.kube);
    if (s) res.summary = (JSON.parse(s) as Record<string, unknown>[])[0] ?? null;
    return res;
  }));
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
