/**
 * The fake kubectl's cluster model (`fake_kubectl.ts`): stored objects, the
 * pods a Deployment, Job or LeaderWorkerSet makes, and their status as the
 * scenario file says.
 *
 * @module
 */
import { join } from "node:path";
import { shortHash as hash } from "../../lib/rng.ts";

/** A Kubernetes object as JSON. */
export type Obj = Record<string, unknown>;
/** An applied object and when it was applied (and deleted). */
export interface Stored {
  obj: Obj;
  appliedAt: number;
  deletedAt?: number;
}
/** How a pod of the scenario behaves. */
export interface Behaviour {
  behavior?: "ready" | "crash" | "pending" | "image";
  readyAfterMs?: number;
  logs?: string[];
}
/** `scenario.json`. */
export interface Scenario {
  pods?: Record<string, Behaviour>;
  proxy?: Record<string, string>;
  /** The cluster has no LeaderWorkerSet CRD. */
  noLws?: boolean;
}

/** A deleted object's pods are listed (terminating) this long. */
export const GONE_AFTER_MS = 300;

/** Whether labels match an equality selector (`a=b,c=d`). */
export const matches = (labels: Obj | undefined, selector?: string) =>
  !selector || selector.split(",").every((kv) => {
    const [k, v] = kv.split("=");
    return (labels ?? {})[k] === v;
  });

/** An object's metadata. */
export const meta = (o: Obj) => (o.metadata ?? {}) as Obj;

/** A pod status whose one container waits (and may have ended before). */
function waiting(
  container: unknown,
  phase: string,
  restartCount: number,
  why: { reason: string; message?: string },
  lastState?: Obj,
): Obj {
  return {
    phase,
    conditions: [{ type: "Ready", status: "False" }],
    containerStatuses: [{
      name: container,
      ready: false,
      restartCount,
      state: { waiting: why },
      ...(lastState ? { lastState } : {}),
    }],
  };
}

/** The pods a workload object makes: name, labels, template. */
function podShapes(o: Obj): { pod: string; labels: Record<string, string>; template: Obj }[] {
  const name = String(meta(o).name);
  const spec = (o.spec ?? {}) as Obj;
  const lbl = (t: Obj) => ({ ...(meta(t).labels ?? {}) as Record<string, string> });
  if (o.kind === "LeaderWorkerSet") {
    const lw = spec.leaderWorkerTemplate as Obj;
    const set = { "leaderworkerset.sigs.k8s.io/name": name };
    return Array.from({ length: Number(lw.size ?? 1) }, (_, k) => {
      const t = (k === 0 ? lw.leaderTemplate : lw.workerTemplate ?? lw.leaderTemplate) as Obj;
      return {
        pod: k === 0 ? `${name}-0` : `${name}-0-${k}`,
        labels: { ...lbl(t), ...set, "leaderworkerset.sigs.k8s.io/worker-index": String(k) },
        template: t,
      };
    });
  }
  const template = (spec.template ?? {}) as Obj;
  if (o.kind === "Job") {
    return Array.from({ length: Number(spec.parallelism ?? 1) }, (_, i) => ({
      pod: `${name}-${i}-${hash(name + i)}`,
      labels: {
        ...lbl(template),
        "job-name": name,
        "batch.kubernetes.io/job-completion-index": String(i),
      },
      template,
    }));
  }
  return Array.from({ length: Number(spec.replicas ?? 1) }, (_, i) => ({
    pod: `${name}-${hash(name + (i || ""))}`,
    labels: lbl(template),
    template,
  }));
}

/** The pods of a stored object as `kubectl get pods -o json` lists them. */
export function podsOf(st: Stored, dir: string, scenario: Scenario, now: number): Obj[] {
  const o = st.obj;
  const name = String(meta(o).name);
  const out: Obj[] = [];
  if (st.deletedAt !== undefined && now > st.deletedAt + GONE_AFTER_MS) return out;
  for (const [i, { pod: podName, labels, template }] of podShapes(o).entries()) {
    const b = scenario.pods?.[labels["topobench.io/instance"] ?? ""] ?? scenario.pods?.[podName] ??
      scenario.pods?.[name] ?? scenario.pods?.[labels["app.kubernetes.io/component"] ?? ""] ?? {};
    const behavior = b.behavior ?? "ready";
    const after = st.appliedAt + (b.readyAfterMs ?? 0);
    const done = existsSync(join(dir, "pods", podName, "tmp", "topobench-done"));
    let status: Obj;
    const cname = (((template.spec as Obj)?.containers as Obj[]) ?? [{}])[0].name ?? "main";
    if (behavior === "pending") {
      status = {
        phase: "Pending",
        conditions: [{
          type: "PodScheduled",
          status: "False",
          reason: "Unschedulable",
          message: "0/2 nodes are available: 2 Insufficient nvidia.com/gpu.",
        }],
      };
    } else if (now < after) {
      status = waiting(cname, "Pending", 0, { reason: "ContainerCreating" });
    } else if (behavior === "image") {
      status = waiting(cname, "Pending", 0, {
        reason: "ImagePullBackOff",
        message: 'Back-off pulling image "example.invalid/none"',
      });
    } else if (behavior === "crash") {
      status = waiting(cname, "Running", 2, {
        reason: "CrashLoopBackOff",
        message: "back-off 20s restarting",
      }, { terminated: { exitCode: 1, reason: "Error" } });
    } else {
      status = {
        phase: done ? "Succeeded" : "Running",
        podIP: `10.0.0.${10 + i}`,
        conditions: [{ type: "PodScheduled", status: "True" }, {
          type: "Ready",
          status: done ? "False" : "True",
        }],
        containerStatuses: [{
          name: cname,
          ready: !done,
          restartCount: 0,
          state: done
            ? { terminated: { exitCode: 0, reason: "Completed" } }
            : { running: { startedAt: new Date(after).toISOString() } },
        }],
      };
    }
    out.push({
      apiVersion: "v1",
      kind: "Pod",
      metadata: {
        name: podName,
        namespace: meta(o).namespace,
        labels,
        ...(st.deletedAt !== undefined
          ? { deletionTimestamp: new Date(st.deletedAt).toISOString() }
          : {}),
      },
      spec: { nodeName: behavior === "pending" ? undefined : "fake-node-1" },
      status,
      _behaviour: b,
    });
  }
  return out;
}

function existsSync(p: string): boolean {
  try {
    Deno.statSync(p);
    return true;
  } catch {
    return false;
  }
}
