/**
 * `up`, `down` and `status` of a `platform: kubernetes` topology, through
 * `kubectl` (lib/kubectl.ts): apply the manifests, wait until every pod is
 * Ready (failing fast on a crash or an image that does not pull, with the
 * pod's last log lines and events), check `/health` through the API server's
 * service proxy, write the state file; delete by label and wait for the pods
 * to go; read pods, endpoints and `/health` back.
 *
 * @module
 */
import { dirname, join } from "node:path";
import { bundleText, runningBundle } from "../../lib/bundle.ts";
import { errorMessage } from "../../lib/errors.ts";
import { Kubectl, LABELS } from "../../lib/kubectl.ts";
import { type PodState, waitForPods, waitPodsGone } from "../../lib/kube_pods.ts";
import { sleep } from "../../lib/net.ts";
import { SIGNAL_EXIT, stopOnSignals } from "../../lib/signals.ts";
import type { Plan } from "../_plan.ts";
import { removeState, startingState, type TopologyState, writeState } from "../_state.ts";
import {
  type KubeObject,
  kubernetesObjects,
  kubernetesPlan,
  objectName,
  topologySelector,
} from "./manifests.ts";

/**
 * The objects `up` applies: the manifests with the router's code, bundled
 * from this checkout (or, when `up` itself runs as a bundle, the router.js
 * beside it).
 */
export async function clusterObjects(plan: Plan): Promise<KubeObject[]> {
  if (!plan.router) return kubernetesObjects(plan);
  const self = runningBundle(import.meta.url);
  const beside = self && join(dirname(self), "router.js");
  const routerJs = beside
    ? await Deno.readTextFile(beside).catch(() => {
      throw new Error(
        `Cannot read ${beside} as the router to ship: current value is missing (deno task bundle writes launch.js and router.js side by side)`,
      );
    })
    : await bundleText("router", { minify: true });
  return kubernetesObjects(plan, { routerJs });
}

/** Kinds a topology may have on any cluster; LeaderWorkerSets where the cluster serves them. */
const BASE_KINDS = ["Deployment", "Service", "ConfigMap"];

/** Options of {@linkcode upKubernetes}. */
export interface ClusterUpOptions {
  stateDir: string;
  /** Seconds to wait for the pods to be Ready and healthy. */
  timeoutS: number;
  log: (line: string) => void;
  /** Aborting deletes what was applied and rejects. */
  signal?: AbortSignal;
  /** The command that deletes what is left, for errors. @default `deno task down NAME` */
  downCommand?: string;
}

/** Kinds in kubectl's spelling, each once, sorted. */
const kindNames = (kinds: Iterable<string>) =>
  [...new Set([...kinds].map((k) => k.toLowerCase()))].sort();

/** kubectl's answer for a kind the cluster does not serve (a CRD not installed). */
const UNKNOWN_KIND = /doesn't have a resource type|could not find the requested resource/;

/**
 * Deletes every object of `selector` of these kinds, one kind at a time (a
 * kind the cluster does not know is skipped, not a reason to delete nothing),
 * each waiting for its dependents (`--cascade=foreground`); then waits until no
 * pod of `selector` is left, terminating ones included.
 */
export async function deleteByLabel(
  k: Kubectl,
  selector: string,
  kinds: string[],
  o: { timeoutS: number; log: (line: string) => void },
): Promise<void> {
  let n = 0;
  const failed: string[] = [];
  for (const kind of kindNames(kinds)) {
    const r = await k.run([
      ...["delete", kind, "-l", selector, "--ignore-not-found"],
      ...["--cascade=foreground", "--wait=true", `--timeout=${Math.ceil(o.timeoutS)}s`],
    ]);
    if (r.code === 0) n += r.stdout.split("\n").filter((l) => l.includes("deleted")).length;
    else if (UNKNOWN_KIND.test(r.stderr)) o.log(`no ${kind} on this cluster: nothing to delete`);
    else failed.push(`${kind}: ${r.stderr.trim().split("\n").at(-1)}`);
  }
  o.log(`deleted ${n} object(s) labelled ${selector} in namespace ${k.target.namespace}`);
  if (failed.length) {
    throw new Error(
      `Cannot delete the objects labelled ${selector} in namespace ${k.target.namespace}: current value is ${
        failed.join("; ")
      }`,
    );
  }
  await waitPodsGone(k, selector, { timeoutMs: o.timeoutS * 1000, log: o.log });
}

/** A topology's pod: by instance label, or the router's by component. */
export function podOf(
  pods: PodState[],
  instance: { name: string; role: string },
): PodState | undefined {
  const mine = pods.filter((p) =>
    instance.role === "router"
      ? p.labels[LABELS.component] === "router"
      : p.labels[LABELS.instance] === instance.name
  );
  return mine.find((p) => p.ready) ?? mine[0];
}

/** Applies the topology, waits until it serves, writes the state file; deletes it again on failure. */
export async function upKubernetes(plan: Plan, o: ClusterUpOptions): Promise<TopologyState> {
  const t = plan.topology;
  const ns = t.kubernetes.namespace;
  const k = new Kubectl({ namespace: ns, context: t.kubernetes.context });
  const selector = topologySelector(t.name);
  const objs = await clusterObjects(plan);
  const kinds = kindNames(objs.map((x) => x.kind));
  const lws = await checkLwsApi(k, t.name, kinds);
  await refuseLeftovers(k, plan, selector, kindNames([...kinds, ...BASE_KINDS, ...lws]), o);
  const state = clusterState(plan, objs, selector);
  await writeState(o.stateDir, state); // before applying: `down` finds it after any crash
  using stop = stopOnSignals({
    signal: o.signal,
    message: (sig) => `Cannot finish up: interrupted by ${sig}; deleted what was applied`,
    onForce: (sig) => Deno.exit(SIGNAL_EXIT[sig]), // the state file stays for down
  });
  const signal = stop.signal;
  const deadline = performance.now() + o.timeoutS * 1000;
  try {
    o.log(`applying ${objs.length} objects to namespace ${ns} (${selector})`);
    await k.ok(
      ["apply", "-f", "-"],
      JSON.stringify({ apiVersion: "v1", kind: "List", items: objs }),
    );
    const instances = state.kubernetes!.instances;
    await waitServing(k, selector, instances, {
      timeoutS: o.timeoutS,
      deadline,
      log: o.log,
      signal,
    });
    state.status = "up";
    await writeState(o.stateDir, state);
    o.log(`${t.name} is up in namespace ${ns}: ${state.endpoint} (inside the cluster)`);
    return state;
  } catch (e) {
    const why = signal.aborted ? signal.reason : e;
    o.log(`deleting what was applied after: ${errorMessage(why)}`);
    try {
      await deleteByLabel(k, selector, kinds, { timeoutS: 120, log: o.log });
      await removeState(o.stateDir, t.name);
    } catch (d) {
      // the state file stays: `down` finds what is left
      o.log(
        `could not delete everything (${errorMessage(d)}); run ${
          o.downCommand ?? `deno task down ${t.name}`
        }`,
      );
    }
    throw why;
  }
}

/**
 * `["leaderworkerset"]` when the cluster serves the LeaderWorkerSet API, else
 * `[]`; throws when the objects need it and it is not there.
 */
async function checkLwsApi(k: Kubectl, name: string, kinds: string[]): Promise<string[]> {
  // kubectl lists what it found and still exits 1 when another aggregated API is down: the
  // answer is in what it printed
  const r = await k.run(["api-resources", "--api-group=leaderworkerset.x-k8s.io", "-o", "name"]);
  const lws = /^leaderworkersets\./m.test(r.stdout);
  if (kinds.includes("leaderworkerset") && !lws) {
    throw new Error(
      `Cannot start ${name} with nodes > 1 as LeaderWorkerSets: current value is no leaderworkerset.x-k8s.io API on this cluster (install the LWS controller: lws.sigs.k8s.io/docs/installation)${
        r.code !== 0 ? `; kubectl: ${r.stderr.trim().split("\n").at(-1)}` : ""
      }`,
    );
  }
  return lws ? ["leaderworkerset"] : [];
}

/**
 * Throws when anything of this topology is already there, of any kind it may
 * have applied before (an earlier up with nodes > 1 left a LeaderWorkerSet):
 * apply would silently change it.
 */
async function refuseLeftovers(
  k: Kubectl,
  plan: Plan,
  selector: string,
  known: string[],
  o: ClusterUpOptions,
): Promise<void> {
  const t = plan.topology;
  const there = await k.items(known.join(","), selector);
  if (!there.length) return;
  throw new Error(
    `Cannot start ${t.name} in namespace ${t.kubernetes.namespace}: current value is already there (${
      there.slice(0, 6).map((d) =>
        `${String(d.kind).toLowerCase()}/${(d.metadata as { name: string }).name}`
      ).join(", ")
    }${there.length > 6 ? ", ..." : ""}); run ${o.downCommand ?? `deno task down ${t.name}`} first`,
  );
}

type ClusterInstance = NonNullable<TopologyState["kubernetes"]>["instances"][number];

/** The state file of a topology being applied: its objects and instances with their in-cluster URLs. */
function clusterState(plan: Plan, objs: KubeObject[], selector: string): TopologyState {
  const t = plan.topology;
  const kp = kubernetesPlan(plan);
  const instances: ClusterInstance[] = kp.instances.map((i) => ({
    name: i.name,
    role: i.role as string,
    object: objectName(t.name, i.name),
    url: i.url,
    ...(i.nodes ? { nodes: i.nodes } : {}),
  }));
  if (kp.router) {
    instances.push({
      name: "router",
      role: "router",
      object: objectName(t.name, "router"),
      url: kp.router.url,
    });
  }
  return {
    ...startingState(t, kp.router?.url ?? instances[0].url, kp.router?.url),
    platform: "kubernetes",
    kubernetes: {
      namespace: t.kubernetes.namespace,
      ...(t.kubernetes.context ? { context: t.kubernetes.context } : {}),
      selector,
      objects: objs.map((x) => `${x.kind}/${(x.metadata as { name: string }).name}`),
      instances,
    },
  };
}

/**
 * Waits until every instance's pod is Ready, then until each answers
 * `/health` through the API server (Ready means the kubelet's probe passed;
 * the proxy proves the Service routes): the pods within `timeoutS`, the
 * health checks until `deadline` (`performance.now()` ms).
 */
async function waitServing(
  k: Kubectl,
  selector: string,
  instances: ClusterInstance[],
  o: { timeoutS: number; deadline: number; log: (line: string) => void; signal: AbortSignal },
): Promise<void> {
  const { timeoutS, deadline, log, signal } = o;
  await waitForPods(k, selector, {
    want: (pods) => {
      const missing = instances.filter((i) => !podOf(pods, i)?.ready);
      return {
        done: missing.length === 0,
        waiting: `${instances.length - missing.length}/${instances.length} pods Ready (not yet: ${
          missing.slice(0, 4).map((i) => i.object).join(", ")
        }${missing.length > 4 ? ", ..." : ""})`,
      };
    },
    timeoutMs: timeoutS * 1000,
    signal,
    onProgress: log,
  });
  for (const i of instances) {
    while (true) {
      signal.throwIfAborted();
      const r = await k.serviceProxy(i.object, "http", "/health");
      if (r.code === 0) break;
      if (performance.now() > deadline) {
        throw new Error(
          `Cannot reach ${i.object} /health through the API server proxy: current value is ${r.stderr.trim()}`,
        );
      }
      await sleep(1000, signal);
    }
  }
}

/** Options of {@linkcode downKubernetes}. */
export interface ClusterDownOptions {
  name: string;
  namespace: string;
  context?: string;
  /** Objects applied (`Kind/name` strings of the state file); their kinds are deleted too. */
  objects?: string[];
  /** The label selector the state file recorded. @default the topology's */
  selector?: string;
  stateDir: string;
  /** Seconds to wait for the deletion and the pods to go. */
  timeoutS: number;
  log: (line: string) => void;
}

/** Deletes a topology's objects by label, waits for its pods to go, removes the state file. */
export async function downKubernetes(o: ClusterDownOptions): Promise<void> {
  const k = new Kubectl({ namespace: o.namespace, context: o.context });
  // besides what the state lists, every kind a topology may have (a kind the cluster lacks is
  // skipped by the delete)
  const kinds = [
    ...(o.objects ?? []).map((x) => x.split("/")[0]),
    ...BASE_KINDS,
    "LeaderWorkerSet",
  ];
  await deleteByLabel(k, o.selector ?? topologySelector(o.name), kinds, o);
  await removeState(o.stateDir, o.name);
  o.log(`${o.name} is down`);
}
