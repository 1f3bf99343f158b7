/**
 * `status` of a `platform: kubernetes` topology: each instance's pod (phase,
 * Ready, restarts, node), a LeaderWorkerSet's group, the Ready addresses
 * behind its Service, `/health` and the router's `/status` through the API
 * server.
 *
 * @module
 */
import { Kubectl } from "../../lib/kubectl.ts";
import { listPods } from "../../lib/kube_pods.ts";
import type { TopologyState } from "../_state.ts";
import { podOf } from "./cluster.ts";
import { lwsName } from "./manifests.ts";

/** The label the LWS controller puts on every pod of a group. */
const LWS_NAME = "leaderworkerset.sigs.k8s.io/name";

/** One instance's view from the cluster. */
export interface ClusterInstanceStatus {
  name: string;
  role: string;
  pod?: string;
  node?: string;
  phase: string;
  ready: boolean;
  restarts: number;
  /** Ready addresses behind its Service. */
  endpoints: number;
  /** A multi-node instance's pods (its LeaderWorkerSet's): Ready and all. */
  group?: { ready: number; size: number };
  healthy: boolean;
  health: string;
  url: string;
}

/** Pods, endpoints and /health (through the API server) of a topology on a cluster. */
export async function clusterStatus(
  state: TopologyState,
): Promise<{ instances: ClusterInstanceStatus[]; router?: unknown }> {
  const ks = state.kubernetes!;
  const k = new Kubectl({ namespace: ks.namespace, context: ks.context });
  const [pods, eps] = await Promise.all([
    listPods(k, ks.selector),
    k.items("endpoints", ks.selector),
  ]);
  const instances = await Promise.all(ks.instances.map(async (i) => {
    const pod = podOf(pods, i);
    const ep = eps.find((e) => (e.metadata as { name?: string })?.name === i.object);
    const subsets = (ep?.subsets ?? []) as { addresses?: unknown[] }[];
    const r = await k.serviceProxy(i.object, "http", "/health");
    const lws = pods.filter((p) => p.labels[LWS_NAME] === lwsName(i.object));
    return {
      ...(lws.length
        ? { group: { ready: lws.filter((p) => p.ready).length, size: lws.length } }
        : {}),
      name: i.name,
      role: i.role,
      pod: pod?.name,
      node: pod?.node,
      phase: pod?.phase ?? "Missing",
      ready: pod?.ready ?? false,
      restarts: pod?.restarts ?? 0,
      endpoints: subsets.reduce((n, s) => n + (s.addresses?.length ?? 0), 0),
      healthy: r.code === 0,
      health: r.code === 0 ? "HTTP 200" : (r.stderr.trim().split("\n").at(-1) ?? `exit ${r.code}`),
      url: i.url,
    };
  }));
  const router = ks.instances.find((i) => i.role === "router");
  let body: unknown;
  if (router) {
    const r = await k.serviceProxy(router.object, "http", "/status");
    if (r.code === 0) {
      try {
        body = JSON.parse(r.stdout);
      } catch { /* not JSON */ }
    }
  }
  return { instances, router: body };
}
