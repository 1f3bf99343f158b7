/**
 * A multi-node engine instance (`nodes > 1`) as a LeaderWorkerSet
 * (`leaderworkerset.x-k8s.io/v1`, the LWS controller must be installed).
 * Without data parallelism as vLLM's own LWS recipe runs it: every pod of the
 * group joins one Ray cluster through the vLLM image's
 * `multi-node-serving.sh`; the leader then runs the instance's `vllm serve`
 * (TP within a node, PP across nodes), the workers only Ray. With data
 * parallelism as llm-d's wide-EP manifests run it
 * (llm-d/llm-d `guides/wide-ep-lws/manifests/modelserver/base/decode.yaml`):
 * every pod runs `vllm serve` for its node's ranks, starting at rank
 * `LWS_WORKER_INDEX × ranks per node`, meeting the leader at
 * `LWS_LEADER_ADDRESS`; with internal balancing the workers are `--headless`
 * (the leader's API server reaches all ranks), with hybrid balancing every pod
 * serves HTTP (`--data-parallel-hybrid-lb`). Only the leader carries the
 * instance label, so the instance's Service and readiness are the leader's.
 *
 * @module
 */
import type { IContainer } from "kubernetes-models/v1/Container";
import type { IPodSpec } from "kubernetes-models/v1/PodSpec";

/** The Ray helper script in vLLM's image. */
export const RAY_SCRIPT = "/vllm-workspace/examples/online_serving/multi-node-serving.sh";
/**
 * Seconds the script waits for the group's Ray nodes (its default is 300): a
 * worker pulling the multi-GB vLLM image on a fresh node can take longer.
 */
export const RAY_INIT_TIMEOUT_S = 1800;

/** Options of {@linkcode leaderWorkerSet}. */
export interface LwsOptions {
  name: string;
  namespace: string;
  /** Labels of the object and of the leader pod (with the instance label). */
  labels: Record<string, string>;
  /** Labels of the worker pods (without the instance label). */
  workerLabels: Record<string, string>;
  /** Pods per group (the instance's nodes). */
  size: number;
  /** The engine container as a single pod would run it (command = [cmd], args). */
  container: IContainer;
  /** The rest of a pod spec (volumes, node selector, tolerations). */
  podSpec: (containers: IContainer[]) => IPodSpec;
  /** How the pods start. @default { kind: "ray" } */
  start?: LwsStart;
}

/**
 * How a group's pods start: a Ray cluster the leader's `vllm serve` spans
 * (pipeline parallel), or vLLM's data-parallel ranks, `ranksPerNode` in each
 * pod (workers `--headless` unless `hybrid`, where each pod serves HTTP).
 */
export type LwsStart = { kind: "ray" } | { kind: "dp"; ranksPerNode: number; hybrid: boolean };

/** The leader and worker containers of a data-parallel group (no Ray). */
function dpContainers(o: LwsOptions, ranksPerNode: number, hybrid: boolean) {
  const { command = [], args = [], readinessProbe, ports, ...rest } = o.container;
  // the leader holds ranks 0 .. ranksPerNode-1; hybrid says so as every pod does
  const leader: IContainer = {
    ...rest,
    command,
    args: [...args, ...(hybrid ? ["--data-parallel-start-rank", "0"] : [])],
    ports,
    readinessProbe,
  };
  // "$0" "$@": the engine's argv passes through sh untouched; the shell works out the start rank
  // from the worker's index (LWS sets LWS_WORKER_INDEX; "$$" is Kubernetes' escape of "$")
  const start = `--data-parallel-start-rank $$((LWS_WORKER_INDEX * ${ranksPerNode}))`;
  const worker: IContainer = {
    ...rest,
    command: ["sh", "-c", `exec "$0" "$@" ${hybrid ? "" : "--headless "}${start}`],
    args: [...command, ...args],
    ...(hybrid ? { ports, readinessProbe } : {}),
  };
  return { leader, worker };
}

/** One group of `size` pods: a leader serving, `size - 1` workers (Ray, or vLLM's ranks). */
export function leaderWorkerSet(o: LwsOptions): {
  apiVersion: "leaderworkerset.x-k8s.io/v1";
  kind: "LeaderWorkerSet";
  metadata: { name: string; namespace: string; labels: Record<string, string> };
  spec: unknown;
} {
  const start = o.start ?? { kind: "ray" };
  const { leader, worker } = start.kind === "dp"
    ? dpContainers(o, start.ranksPerNode, start.hybrid)
    : rayContainers(o);
  return {
    apiVersion: "leaderworkerset.x-k8s.io/v1",
    kind: "LeaderWorkerSet",
    metadata: { name: o.name, namespace: o.namespace, labels: o.labels },
    spec: {
      replicas: 1,
      leaderWorkerTemplate: {
        size: o.size,
        restartPolicy: "RecreateGroupOnPodRestart",
        leaderTemplate: { metadata: { labels: o.labels }, spec: o.podSpec([leader]) },
        workerTemplate: { metadata: { labels: o.workerLabels }, spec: o.podSpec([worker]) },
      },
    },
  };
}

/** The leader and worker containers of a Ray group (vLLM's LWS recipe). */
function rayContainers(o: LwsOptions) {
  const { command = [], args = [], readinessProbe, ports, ...rest } = o.container;
  // "$0" "$@": the engine's argv passes through sh untouched (no quoting of its JSON flags)
  const leader: IContainer = {
    ...rest,
    command: [
      "sh",
      "-c",
      `bash ${RAY_SCRIPT} leader --ray_cluster_size=$(LWS_GROUP_SIZE) --ray_init_timeout=${RAY_INIT_TIMEOUT_S} && exec "$0" "$@"`,
    ],
    args: [...command, ...args],
    ports,
    readinessProbe,
  };
  const worker: IContainer = {
    ...rest,
    command: [
      "sh",
      "-c",
      `bash ${RAY_SCRIPT} worker --ray_address=$(LWS_LEADER_ADDRESS) --ray_init_timeout=${RAY_INIT_TIMEOUT_S}`,
    ],
  };
  return { leader, worker };
}
