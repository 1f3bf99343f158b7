/**
 * The cluster client: `kubectl`, run as a subprocess. Why kubectl and not
 * `@kubernetes/client-node`: it is what a cluster's users already have, set up
 * with their context and credential plugins (EKS, GKE, OIDC `exec` entries
 * that a library would have to re-implement), it speaks every API version the
 * server does, and a recording fake on PATH (`tasks/dev/fake_kubectl.ts`)
 * tests the whole flow without a cluster. `TOPOBENCH_KUBECTL` names another
 * binary. Shared by `launch/` (up, down, status) and `bench/` (load pods).
 *
 * @module
 */
import { errorMessage } from "./errors.ts";
import { sleep } from "./net.ts";

/** Labels every object topobench creates carries. */
export const LABELS = {
  partOf: "app.kubernetes.io/part-of",
  component: "app.kubernetes.io/component",
  topology: "topobench.io/topology",
  instance: "topobench.io/instance",
  run: "topobench.io/run",
} as const;

/** kubectl's `--request-timeout` of one-shot requests. */
export const REQUEST_TIMEOUT = "60s";

/** Where commands go. */
export interface KubeTarget {
  namespace: string;
  /** kubeconfig context. @default the current context */
  context?: string;
}

/** A finished kubectl command. */
export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

type Obj = Record<string, unknown>;

/** Runs kubectl against one namespace (and context). */
export class Kubectl {
  /** The binary: `TOPOBENCH_KUBECTL`, else `kubectl` on PATH. */
  readonly bin: string;
  constructor(readonly target: KubeTarget) {
    this.bin = Deno.env.get("TOPOBENCH_KUBECTL") || "kubectl";
  }

  /**
   * `--context`/`--namespace` flags then `args`; one-shot requests (`get`,
   * `apply`, `logs`) give up after {@linkcode REQUEST_TIMEOUT} (an API server
   * that does not answer must not hang us), never `exec` streams or waits.
   */
  argv(args: string[]): string[] {
    const ctx = this.target.context ? ["--context", this.target.context] : [];
    const oneShot = ["get", "apply", "logs"].includes(args[0]);
    return [
      ...ctx,
      "--namespace",
      this.target.namespace,
      ...args,
      ...(oneShot ? [`--request-timeout=${REQUEST_TIMEOUT}`] : []),
    ];
  }

  /** Runs one command to its end; never throws for a non-zero exit. */
  async run(args: string[], stdin?: string): Promise<KubectlResult> {
    let child: Deno.ChildProcess;
    try {
      child = new Deno.Command(this.bin, {
        args: this.argv(args),
        stdin: stdin === undefined ? "null" : "piped",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) {
        throw new Error(
          `Cannot run ${this.bin} as the cluster client: current value is not on PATH (install kubectl and check kubectl config current-context, or set TOPOBENCH_KUBECTL)`,
        );
      }
      throw e;
    }
    // collect the output while stdin is written: a child that answers before it has read
    // all of its input must not block on a full pipe
    const done = child.output();
    if (stdin !== undefined) {
      const w = child.stdin.getWriter();
      await w.write(new TextEncoder().encode(stdin)).catch(() => {});
      await w.close().catch(() => {});
    }
    const r = await done;
    const dec = new TextDecoder();
    return { code: r.code, stdout: dec.decode(r.stdout), stderr: dec.decode(r.stderr) };
  }

  /** Runs a command that must succeed; throws with kubectl's own message. */
  async ok(args: string[], stdin?: string): Promise<string> {
    const r = await this.run(args, stdin);
    if (r.code !== 0) {
      throw new Error(
        `Cannot run kubectl ${
          args.slice(0, 3).join(" ")
        } in namespace ${this.target.namespace}: current value is exit ${r.code}: ${
          (r.stderr || r.stdout).trim().split("\n").slice(-3).join(" | ")
        }`,
      );
    }
    return r.stdout;
  }

  /** `kubectl get ... -o json`, parsed. */
  async json<T = Obj>(args: string[]): Promise<T> {
    const text = await this.ok([...args, "-o", "json"]);
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new SyntaxError(
        `Cannot parse kubectl ${args.join(" ")} output as JSON: current value starts ${
          JSON.stringify(text.slice(0, 80))
        }`,
      );
    }
  }

  /** Items of `kubectl get KIND -l SELECTOR -o json`. */
  async items(kind: string, selector: string): Promise<Obj[]> {
    const list = await this.json<{ items?: Obj[] }>(["get", kind, "-l", selector]);
    return list.items ?? [];
  }

  /** GET a path of a Service through the API server proxy (`kubectl get --raw`). */
  serviceProxy(service: string, port: string, path: string): Promise<KubectlResult> {
    const p = path.startsWith("/") ? path : `/${path}`;
    return this.run([
      "get",
      "--raw",
      `/api/v1/namespaces/${this.target.namespace}/services/${service}:${port}/proxy${p}`,
    ]);
  }
}

/** What one pod is doing, from its status. */
export interface PodState {
  name: string;
  /** The pod object's uid: a pod of the same name with another uid was recreated. */
  uid?: string;
  labels: Record<string, string>;
  phase: string;
  /** Its Ready condition is True. */
  ready: boolean;
  /** Every container runs (for pods without a readiness probe). */
  running: boolean;
  restarts: number;
  /** Why it is not ready yet (a waiting reason, Unschedulable, ...). */
  reason?: string;
  /** Set when waiting longer cannot help: a crash, an image that does not pull, a failed pod. */
  fatal?: string;
  node?: string;
  ip?: string;
}

/**
 * Waiting reasons that do not heal by themselves. Not `ErrImagePull`: the
 * kubelet retries it, and a registry's rate limit or a timeout shows it once;
 * one that persists becomes `ImagePullBackOff`.
 */
const FATAL_WAITING = new Set([
  "CrashLoopBackOff",
  "ImagePullBackOff",
  "InvalidImageName",
  "CreateContainerConfigError",
  "CreateContainerError",
  "RunContainerError",
]);

/** Reads a pod object (as `kubectl get pods -o json` lists it). */
export function podState(pod: Obj): PodState {
  const meta = (pod.metadata ?? {}) as Obj;
  const status = (pod.status ?? {}) as Obj;
  const conds = (status.conditions ?? []) as Obj[];
  const cs = (status.containerStatuses ?? []) as Obj[];
  const out: PodState = {
    name: String(meta.name ?? "?"),
    ...(typeof meta.uid === "string" ? { uid: meta.uid } : {}),
    labels: (meta.labels ?? {}) as Record<string, string>,
    phase: String(status.phase ?? "Pending"),
    ready: conds.some((c) => c.type === "Ready" && c.status === "True"),
    running: cs.length > 0 && cs.every((c) => (c.state as Obj | undefined)?.running !== undefined),
    restarts: cs.reduce((n, c) => n + Number(c.restartCount ?? 0), 0),
    node: typeof (pod.spec as Obj | undefined)?.nodeName === "string"
      ? String((pod.spec as Obj).nodeName)
      : undefined,
    ip: typeof status.podIP === "string" ? status.podIP : undefined,
  };
  const unsched = conds.find((c) => c.type === "PodScheduled" && c.status === "False");
  if (unsched) out.reason = `${unsched.reason ?? "Unschedulable"}: ${unsched.message ?? ""}`.trim();
  for (const c of cs) {
    const st = (c.state ?? {}) as Obj;
    const waiting = st.waiting as Obj | undefined;
    const term = (st.terminated ?? (c.lastState as Obj | undefined)?.terminated) as
      | Obj
      | undefined;
    if (waiting?.reason) {
      out.reason = `${waiting.reason}${waiting.message ? `: ${waiting.message}` : ""}`;
      if (FATAL_WAITING.has(String(waiting.reason))) out.fatal = out.reason;
    }
    if (term && (Number(c.restartCount ?? 0) > 0 || term.exitCode !== 0)) {
      out.fatal = `container ${c.name} exited ${term.exitCode} (${term.reason ?? "Error"})${
        Number(c.restartCount ?? 0) ? `, ${c.restartCount} restart(s)` : ""
      }`;
    }
  }
  if (out.phase === "Failed") out.fatal ??= `pod failed: ${status.reason ?? status.message ?? ""}`;
  return out;
}

/** The pods of a selector, without those being deleted. */
export async function listPods(k: Kubectl, selector: string): Promise<PodState[]> {
  const pods = await k.items("pods", selector);
  return pods.filter((p) => !(p.metadata as Obj | undefined)?.deletionTimestamp).map(podState);
}

/** Waits until no pod of `selector` is left, terminating ones included. */
export async function waitPodsGone(
  k: Kubectl,
  selector: string,
  o: { timeoutMs: number; log?: (line: string) => void },
): Promise<void> {
  const deadline = performance.now() + o.timeoutMs;
  let last = -1;
  while (true) {
    const n = (await k.items("pods", selector)).length;
    if (n === 0) return;
    if (n !== last) o.log?.(`waiting for ${n} pod(s) to go`);
    last = n;
    if (performance.now() >= deadline) {
      throw new Error(
        `Cannot see the pods of ${selector} gone within ${
          Math.round(o.timeoutMs / 1000)
        } s: current value is ${n} left (kubectl get pods -l ${selector})`,
      );
    }
    await sleep(1000);
  }
}

/** A pod's last log lines (of the crashed run when it restarted) and its events, for an error. */
export async function podDiagnosis(k: Kubectl, pod: PodState, tail = 20): Promise<string> {
  const logArgs = ["logs", pod.name, "--all-containers", `--tail=${tail}`];
  let logs = await k.run(pod.restarts > 0 ? [...logArgs, "--previous"] : logArgs);
  if (logs.code !== 0 && pod.restarts > 0) logs = await k.run(logArgs);
  const ev = await k.json<{ items?: Obj[] }>([
    "get",
    "events",
    "--field-selector",
    `involvedObject.name=${pod.name}`,
  ]).catch(() => ({ items: [] as Obj[] }));
  const events = (ev.items ?? []).slice(-8).map((e) =>
    `  ${e.type ?? ""} ${e.reason ?? ""}: ${String(e.message ?? "").trim()}`
  );
  return [
    `--- last ${tail} log lines of pod ${pod.name} ---`,
    (logs.code === 0 ? logs.stdout.trimEnd() : `(no logs: ${logs.stderr.trim()})`) || "(empty)",
    `--- events of pod ${pod.name} ---`,
    events.length ? events.join("\n") : "  (none)",
  ].join("\n");
}

/** Options of {@linkcode waitForPods}. */
export interface WaitForPodsOptions {
  /** `done` when the pods are as wanted; `waiting` says what is missing. */
  want: (pods: PodState[]) => { done: boolean; waiting: string };
  timeoutMs: number;
  /** @default 2000 */
  pollMs?: number;
  signal?: AbortSignal;
  /** Called when what is awaited changes. */
  onProgress?: (line: string) => void;
}

/**
 * Polls the pods of `selector` until `want` is done. Throws at once when a pod
 * is fatal (crashed, image pull error), and at the timeout, with the logs and
 * events of the pods that are not there yet.
 */
export async function waitForPods(
  k: Kubectl,
  selector: string,
  o: WaitForPodsOptions,
): Promise<PodState[]> {
  const deadline = performance.now() + o.timeoutMs;
  let last = "";
  const uids = new Map<string, string>();
  while (true) {
    o.signal?.throwIfAborted();
    const pods = await listPods(k, selector);
    // a pod name back with a new uid: its group was recreated after a crash (a
    // LeaderWorkerSet's RecreateGroupOnPodRestart resets every restart count)
    for (const p of pods) {
      const before = p.uid && uids.get(p.name);
      if (before && before !== p.uid) p.fatal ??= "recreated: its group restarted after a crash";
      if (p.uid) uids.set(p.name, p.uid);
    }
    const bad = pods.find((p) => p.fatal);
    if (bad) {
      throw new Error(
        `Cannot get pod ${bad.name} Ready: current value is ${bad.fatal}\n${await podDiagnosis(
          k,
          bad,
        )}`,
      );
    }
    const w = o.want(pods);
    if (w.done) return pods;
    if (w.waiting !== last) o.onProgress?.(`waiting for ${w.waiting}`);
    last = w.waiting;
    if (performance.now() >= deadline) {
      const notReady = pods.filter((p) => !p.ready).slice(0, 3);
      const diag = await Promise.all(
        notReady.map((p) => podDiagnosis(k, p).catch((e) => `(${p.name}: ${errorMessage(e)})`)),
      );
      throw new Error(
        `Cannot get the pods of ${selector} Ready within ${
          Math.round(o.timeoutMs / 1000)
        } s: current value is waiting for ${w.waiting}${
          notReady.map((p) => `; ${p.name} ${p.phase}${p.reason ? ` (${p.reason})` : ""}`).join("")
        }\n${diag.join("\n")}`,
      );
    }
    await sleep(Math.min(o.pollMs ?? 2000, Math.max(1, deadline - performance.now())), o.signal);
  }
}

/** `NAME.NAMESPACE.svc[.cluster.local]` of an in-cluster Service URL, or null. */
export function serviceOfUrl(url: string): { service: string; namespace: string } | null {
  const m = /^([a-z0-9-]+)\.([a-z0-9-]+)\.svc(\.cluster\.local)?\.?$/.exec(new URL(url).hostname);
  return m ? { service: m[1], namespace: m[2] } : null;
}

/**
 * A `fetch` for GETs from outside the cluster: in-cluster Service URLs
 * (`http://NAME.NS.svc.cluster.local:PORT/path`) go through the API server's
 * service proxy, any other URL to `fetch`.
 */
export function clusterFetch(k: Kubectl): (url: string, init?: RequestInit) => Promise<Response> {
  return async (url, init) => {
    const svc = serviceOfUrl(url);
    if (!svc) return await fetch(url, init);
    const kk = svc.namespace === k.target.namespace
      ? k
      : new Kubectl({ namespace: svc.namespace, context: k.target.context });
    const u = new URL(url);
    const r = await kk.serviceProxy(svc.service, u.port || "80", u.pathname + u.search);
    return new Response(r.code === 0 ? r.stdout : r.stderr, { status: r.code === 0 ? 200 : 502 });
  };
}
