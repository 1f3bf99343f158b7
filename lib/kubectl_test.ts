import assert from "node:assert/strict";
import { podState } from "./kube_pods.ts";
import { serviceOfUrl } from "./kubectl.ts";

const pod = (status: unknown, labels = {}) => ({ metadata: { name: "p", labels }, status });

Deno.test("podState: Ready, still starting, unschedulable, crashed, image pull error, failed", () => {
  const ready = podState(pod({
    phase: "Running",
    podIP: "10.0.0.1",
    conditions: [{ type: "Ready", status: "True" }],
    containerStatuses: [{ name: "c", restartCount: 0, state: { running: {} } }],
  }));
  assert.equal(ready.ready, true);
  assert.equal(ready.running, true);
  assert.equal(ready.fatal, undefined);
  assert.equal(ready.ip, "10.0.0.1");

  const creating = podState(pod({
    phase: "Pending",
    containerStatuses: [{ name: "c", state: { waiting: { reason: "ContainerCreating" } } }],
  }));
  assert.equal(creating.ready, false);
  assert.equal(creating.reason, "ContainerCreating");
  assert.equal(creating.fatal, undefined);

  const unsched = podState(pod({
    phase: "Pending",
    conditions: [{
      type: "PodScheduled",
      status: "False",
      reason: "Unschedulable",
      message: "0/3 nodes are available: 3 Insufficient nvidia.com/gpu.",
    }],
  }));
  assert.match(unsched.reason!, /^Unschedulable: 0\/3 nodes/);
  assert.equal(unsched.fatal, undefined, "a cluster autoscaler may still add a node");

  const crashed = podState(pod({
    phase: "Running",
    containerStatuses: [{
      name: "engine",
      restartCount: 3,
      state: { waiting: { reason: "CrashLoopBackOff" } },
      lastState: { terminated: { exitCode: 137, reason: "OOMKilled" } },
    }],
  }));
  assert.equal(crashed.restarts, 3);
  assert.match(crashed.fatal!, /container engine exited 137 \(OOMKilled\), 3 restart/);

  // one restart after a clean exit is still a crash for a server
  const exited0 = podState(pod({
    phase: "Running",
    containerStatuses: [{
      name: "engine",
      restartCount: 1,
      state: { running: {} },
      lastState: { terminated: { exitCode: 0, reason: "Completed" } },
    }],
  }));
  assert.ok(exited0.fatal);

  const image = (reason: string) =>
    podState(pod({
      phase: "Pending",
      containerStatuses: [{ name: "c", state: { waiting: { reason, message: "nope" } } }],
    }));
  // a first pull error is retried by the kubelet (a registry's rate limit); the back-off is not
  assert.equal(image("ErrImagePull").fatal, undefined);
  assert.equal(image("ImagePullBackOff").fatal, "ImagePullBackOff: nope");

  const failed = podState(pod({ phase: "Failed", reason: "Evicted" }));
  assert.match(failed.fatal!, /Evicted/);
});

Deno.test("serviceOfUrl: in-cluster Service names only", () => {
  assert.deepEqual(serviceOfUrl("http://pd-router.llm.svc.cluster.local:10001/v1"), {
    service: "pd-router",
    namespace: "llm",
  });
  assert.deepEqual(serviceOfUrl("http://a.b.svc:1"), { service: "a", namespace: "b" });
  assert.equal(serviceOfUrl("http://127.0.0.1:8000"), null);
  assert.equal(serviceOfUrl("http://example.com"), null);
});
