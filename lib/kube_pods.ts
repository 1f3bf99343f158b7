/**
 * Pods as the cluster reports them: what one is doing (`podState`: Ready,
 * fatal), waiting for a selector's pods to be as wanted (failing fast on a
 * crash, with the pod's last log lines and events) or gone.
 *
 * @module
 */
import { errorMessage } from "./errors.ts";
import type { Kubectl } from "./kubectl.ts";
import { sleep } from "./net.ts";

type Obj = Record<string, unknown>;

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
