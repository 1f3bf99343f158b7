/**
 * The plain Kubernetes objects the manifests are made of (a pod spec with the
 * topology's scheduling settings, a one-replica Deployment, a Service), typed
 * by kubernetes-models' interfaces (type-only: no runtime cost) and validated
 * in the tests.
 *
 * @module
 */
import type { IDeployment } from "kubernetes-models/apps/v1/Deployment";
import type { IContainer } from "kubernetes-models/v1/Container";
import type { IPodSpec } from "kubernetes-models/v1/PodSpec";
import type { IService } from "kubernetes-models/v1/Service";
import type { IToleration } from "kubernetes-models/v1/Toleration";
import type { IVolume } from "kubernetes-models/v1/Volume";
import type { KubernetesSpec } from "../topology.ts";

/** Object labels (and selectors). */
export type Labels = Record<string, string>;

/** A pod of `containers` with `volumes`, on the nodes the topology's selector and tolerations allow. */
export function podSpec(
  k: KubernetesSpec,
  containers: IContainer[],
  volumes: IVolume[] = [],
): IPodSpec {
  return {
    containers,
    ...(volumes.length ? { volumes } : {}),
    ...(Object.keys(k.nodeSelector).length ? { nodeSelector: k.nodeSelector } : {}),
    ...(k.tolerations.length ? { tolerations: k.tolerations as IToleration[] } : {}),
  };
}

/** A Deployment of one pod running `container`. */
export function deployment(
  k: KubernetesSpec,
  name: string,
  lbl: Labels,
  container: IContainer,
  volumes: IVolume[] = [],
): IDeployment {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, namespace: k.namespace, labels: lbl },
    spec: {
      replicas: 1,
      selector: { matchLabels: lbl },
      template: { metadata: { labels: lbl }, spec: podSpec(k, [container], volumes) },
    },
  };
}

/** A Service of the pods labelled `lbl` (or matching `o.selector`), each port to the same port of the pod. */
export function service(
  namespace: string,
  name: string,
  lbl: Labels,
  ps: { name: string; port: number }[],
  o: { type?: "ClusterIP" | "NodePort" | "LoadBalancer"; selector?: Labels } = {},
): IService {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name, namespace, labels: lbl },
    spec: {
      type: o.type ?? "ClusterIP",
      selector: o.selector ?? lbl,
      ports: ps.map((p) => ({ name: p.name, port: p.port, targetPort: p.port, protocol: "TCP" })),
    },
  };
}
