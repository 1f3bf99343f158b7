/**
 * `bench --platform kubernetes --replicas N`: the load runs in N pods of one
 * Indexed Job (any image with Deno 2 and a shell: the stock `denoland/deno`).
 * Each pod holds until told it is done; the coordinator copies the bundled
 * bench into it (`kubectl exec -i ... cat >`; the running bundle itself, or one
 * built from this checkout) and runs it there through `kubectl exec -i`, so the worker protocol is the `--workers`
 * one: every pod prints the ready line, reads the shared start instant from
 * stdin, sends rate/N with its own seed, and its rows come back with
 * `kubectl exec POD -- cat` (see `_workers.ts`). The pods' clocks are their
 * nodes' clocks (NTP, as for ssh workers).
 *
 * @module
 */
import { BENCH_V8_FLAGS } from "../lib/heap.ts";
import { basename, dirname } from "node:path";
import type { FlagValues } from "../lib/args.ts";
import { shortHash } from "../lib/rng.ts";
import type { IJob } from "kubernetes-models/batch/v1/Job";
import { type Kubectl, LABELS } from "../lib/kubectl.ts";
import { waitForPods } from "../lib/kube_pods.ts";

/** The file a pod waits for before it exits 0. */
export const DONE_FILE = "/tmp/topobench-done";
/** The container name in the bench pods. */
export const BENCH_CONTAINER = "bench";
/** Where the bundled bench is copied in each pod. */
export const BENCH_ENTRY = "/tmp/topobench/bench.js";
/** The pid of the bench running in a pod (to stop it from outside, gracefully). */
export const BENCH_PID = "/tmp/topobench/bench.pid";

/** The command that runs the bench in a pod with `args`, its pid written first. */
export function podBenchCommand(args: string[]): string[] {
  // "$@": the arguments pass through sh untouched
  return [
    "sh",
    "-c",
    `echo $$ > ${BENCH_PID}; exec deno run -A ${BENCH_V8_FLAGS} ${BENCH_ENTRY} "$@"`,
    "sh",
    ...args,
  ];
}

/**
 * The command that asks a pod's bench to stop (SIGTERM: stop sending, finish,
 * write the rows); it waits up to 10 s for the pid file of a bench just started.
 */
export const POD_BENCH_STOP = [
  "sh",
  "-c",
  `i=0; while [ ! -s ${BENCH_PID} ] && [ $i -lt 20 ]; do sleep 0.5; i=$((i+1)); done; kill -TERM "$(cat ${BENCH_PID})"`,
];

/** Options of {@linkcode benchJob}. */
export interface BenchJobOptions {
  /** Job name (a DNS label). */
  name: string;
  namespace: string;
  replicas: number;
  image: string;
  /** Longest life of the Job, s. @default 21600 */
  deadlineS?: number;
}

/** The Job: N pods at once, each waiting for {@linkcode DONE_FILE}. */
export function benchJob(o: BenchJobOptions): IJob {
  const labels = {
    [LABELS.partOf]: "topobench",
    [LABELS.component]: "bench",
    [LABELS.run]: o.name,
  };
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name: o.name, namespace: o.namespace, labels },
    spec: {
      completions: o.replicas,
      parallelism: o.replicas,
      completionMode: "Indexed",
      backoffLimit: 0,
      ttlSecondsAfterFinished: 600,
      activeDeadlineSeconds: o.deadlineS ?? 21_600,
      template: {
        metadata: { labels },
        spec: {
          restartPolicy: "Never",
          terminationGracePeriodSeconds: 5,
          containers: [{
            name: BENCH_CONTAINER,
            image: o.image,
            // PID 1 ignores signals it has no handler for: exit at once when the pod is deleted
            command: [
              "sh",
              "-c",
              `trap 'exit 0' TERM; while [ ! -f ${DONE_FILE} ]; do sleep 1 & wait $!; done`,
            ],
            resources: { requests: { cpu: "1", memory: "512Mi" } },
          }],
        },
      },
    },
  };
}

/** Flags whose value may be a file of this machine (a template may also be inline JSON). */
const FILE_FLAGS = ["dataset-path", "sample-prompts-file", "request-body-template"] as const;

/**
 * This machine's files among the given flags, to copy into each pod under
 * `/tmp/topobench/data/`, and the flags with the pods' paths in their place.
 * Throws naming the flag when a file cannot be read.
 */
export async function podFiles(
  given: FlagValues,
): Promise<{ files: { path: string; text: Promise<string> }[]; given: FlagValues }> {
  const files: { path: string; text: Promise<string> }[] = [];
  const out = { ...given };
  for (const [i, f] of FILE_FLAGS.entries()) {
    const v = given[f];
    if (typeof v !== "string" || (f === "request-body-template" && v.trimStart().startsWith("{"))) {
      continue;
    }
    const text = await Deno.readTextFile(v).catch((e) => {
      throw new RangeError(
        `Cannot read --${f} ${v} to copy it into the bench pods: current value is ${
          e instanceof Error ? e.message : e
        }`,
      );
    });
    const path = `${dirname(BENCH_ENTRY)}/data/${i}-${basename(v).replace(/[^\w.-]/g, "_")}`;
    files.push({ path, text: Promise.resolve(text) });
    out[f] = path;
  }
  return { files, given: out };
}

/**
 * A Job name for a run directory's name: a DNS label short enough that its
 * pods' `NAME-INDEX` host names are labels too (Indexed Jobs), ending in a
 * hash of the whole run name (two long ones cut alike stay apart).
 */
export function jobName(runName: string, replicas: number): string {
  const hash = shortHash(runName);
  const max = 63 - 1 - String(Math.max(0, replicas - 1)).length - hash.length - 1;
  const x = `topobench-bench-${runName}`.toLowerCase().replace(/[^a-z0-9-]+/g, "-");
  return `${x.slice(0, max).replace(/-+$/, "")}-${hash}`;
}

/** A started Job: its pods by completion index, and how to end it. */
export interface StartedJob {
  pods: string[];
  /** Lets the pods exit 0 (the Job completes; kept 10 min) or, when `ok` is false, deletes it. */
  finish(ok: boolean): Promise<void>;
}

/** Applies the Job and waits until its N pods run; deletes it again on failure. */
export async function startBenchJob(
  k: Kubectl,
  o: BenchJobOptions & {
    /**
     * Files every pod gets (awaited once the pods run): the bundled bench at
     * {@linkcode BENCH_ENTRY}, and this machine's dataset or template files.
     */
    files: { path: string; text: Promise<string> }[];
    timeoutS: number;
    log: (line: string) => void;
    signal?: AbortSignal;
  },
): Promise<StartedJob> {
  const job = benchJob(o);
  const selector = `${LABELS.run}=${o.name}`;
  const remove = async () => {
    await k.run(["delete", "job", o.name, "--ignore-not-found", "--wait=false"]);
  };
  o.log(`starting ${o.replicas} bench pod(s): job/${o.name} in namespace ${o.namespace}`);
  await k.ok(["apply", "-f", "-"], JSON.stringify(job));
  let pods: string[];
  try {
    const ps = await waitForPods(k, selector, {
      want: (ps) => {
        const n = ps.filter((p) => p.phase === "Running" && p.running).length;
        return { done: n >= o.replicas, waiting: `${n}/${o.replicas} bench pods running` };
      },
      timeoutMs: o.timeoutS * 1000,
      signal: o.signal,
      onProgress: o.log,
    });
    const index = (p: { labels: Record<string, string> }) =>
      Number(p.labels["batch.kubernetes.io/job-completion-index"] ?? 0);
    pods = ps.filter((p) => p.phase === "Running").sort((a, b) => index(a) - index(b))
      .map((p) => p.name);
  } catch (e) {
    // the CLI prints an error's first line: the pod's logs and events go to the log first
    const detail = e instanceof Error ? e.message.split("\n").slice(1).join("\n") : "";
    if (detail) o.log(detail);
    await remove();
    throw e;
  }
  try {
    for (const f of o.files) {
      const text = await f.text;
      o.log(
        `copying ${f.path} (${(text.length / 2 ** 20).toFixed(1)} MiB) into ${pods.length} pod(s)`,
      );
      await Promise.all(pods.map(async (p) => {
        const r = await k.run([
          ...["exec", "-i", p, "-c", BENCH_CONTAINER, "--", "sh", "-c"],
          `mkdir -p '${dirname(f.path)}' && cat > '${f.path}'`,
        ], text);
        if (r.code !== 0) {
          throw new Error(
            `Cannot copy ${f.path} into pod ${p}: current value is exit ${r.code}: ${r.stderr.trim()}`,
          );
        }
      }));
    }
  } catch (e) {
    await remove();
    throw e;
  }
  return {
    pods,
    async finish(ok) {
      if (!ok) return await remove();
      await Promise.all(
        pods.map((p) => k.run(["exec", p, "-c", BENCH_CONTAINER, "--", "touch", DONE_FILE])),
      );
    },
  };
}
