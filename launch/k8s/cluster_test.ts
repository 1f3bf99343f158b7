/**
 * `up` / `status` / `down` of a `platform: kubernetes` topology, run as a user
 * runs them, against the recording fake kubectl on PATH
 * (`tasks/dev/fake_kubectl.ts`): what was applied, waited for and deleted, and
 * the errors of a pod that is never scheduled and of one that crashes.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  fakeCalls,
  installFakeKubectl,
  rejectedByRealKubectl,
} from "../../tasks/dev/fake_kubectl.ts";
import { ROOT } from "../_launch.ts";

const TOPOLOGY = join(ROOT, "fixtures", "topologies", "vllm_pd.yaml");
const NAME = "vllm-pd-4p4d";
const SELECTOR = `app.kubernetes.io/part-of=topobench,topobench.io/topology=${NAME}`;

async function setup(scenario: unknown = {}) {
  const dir = await Deno.makeTempDir({ prefix: "topobench-k8s-" });
  const fake = join(dir, "fake");
  await installFakeKubectl(join(dir, "bin"), fake);
  await Deno.writeTextFile(join(fake, "scenario.json"), JSON.stringify(scenario));
  const state = join(dir, "state");
  const cli = async (script: string, args: string[]) => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", join(ROOT, "launch", script), ...args, "--state-dir", state],
      cwd: ROOT,
      env: { PATH: `${join(dir, "bin")}:${Deno.env.get("PATH")}` },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const dec = new TextDecoder();
    return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
  };
  const sets = ["--set", "platform=kubernetes", "--set", "kubernetes.namespace=llm"];
  const objects = async () =>
    JSON.parse(await Deno.readTextFile(join(fake, "objects.json"))) as {
      obj: { kind: string; metadata: { name: string } };
      deletedAt?: number;
    }[];
  return { dir, fake, state, cli, sets, objects };
}

const verbs = (calls: { argv: string[] }[]) => calls.map((c) => c.argv.slice(0, 2).join(" "));

Deno.test("kubernetes up applies, waits for Ready and /health, writes state; status reads pods; down deletes by label", async () => {
  const s = await setup();
  // the dry run prints what up applies (a List kubectl apply -f - takes) and asks the cluster nothing
  const dry = await s.cli("up.ts", [TOPOLOGY, ...s.sets, "--dry-run", "--json"]);
  assert.equal(dry.code, 0, dry.stderr);
  const list = JSON.parse(dry.stdout);
  assert.equal(list.kind, "List");
  assert.equal(list.items.length, 19);
  assert.deepEqual(await fakeCalls(s.fake), []);
  const up = await s.cli("up.ts", [TOPOLOGY, ...s.sets, "--timeout", "30"]);
  assert.equal(up.code, 0, up.stderr);
  assert.match(
    up.stdout,
    /vllm-pd-4p4d is up in namespace llm: http:\/\/vllm-pd-4p4d-router\.llm\.svc/,
  );
  assert.match(up.stdout, /port-forward svc\/vllm-pd-4p4d-router/);
  const state = JSON.parse(await Deno.readTextFile(join(s.state, `${NAME}.json`)));
  assert.equal(state.platform, "kubernetes");
  assert.equal(state.status, "up");
  assert.equal(state.kubernetes.selector, SELECTOR);
  assert.equal(state.kubernetes.instances.length, 9); // 4 prefill, 4 decode, router
  const applied = await s.objects();
  assert.equal(applied.filter((o) => o.obj.kind === "Deployment").length, 9);
  // the router's code, bundled from this checkout, rides in its ConfigMap
  const cm = applied.find((o) => o.obj.kind === "ConfigMap")!.obj as unknown as {
    data: Record<string, string>;
  };
  assert.ok(cm.data["router.js"].length > 10_000, "a real bundle, not the placeholder");
  assert.ok(JSON.parse(cm.data["router.json"]).prefill.length === 4);
  let calls = await fakeCalls(s.fake);
  assert.ok(calls.every((c) => c.namespace === "llm"));
  const v = verbs(calls);
  assert.ok(v.indexOf("apply -f") > v.indexOf("get deployments"), v.join("; "));
  // /health of every instance through the API server proxy, after the pods were Ready
  const health = calls.filter((c) => c.argv.includes("--raw"));
  assert.equal(health.length, 9);
  assert.ok(
    health.every((c) =>
      /\/services\/vllm-pd-4p4d-[a-z0-9-]+:http\/proxy\/health$/.test(
        c.argv[c.argv.indexOf("--raw") + 1],
      )
    ),
  );

  const st = await s.cli("status.ts", [NAME]);
  assert.equal(st.code, 0, st.stderr + st.stdout);
  assert.match(
    st.stdout,
    /prefill-0 +vllm-pd-4p4d-prefill-0-\w+ +on fake-node-1, 0 restarts, 1 endpoint/,
  );
  const sj = JSON.parse((await s.cli("status.ts", [NAME, "--json"])).stdout);
  assert.equal(sj[0].ok, true);
  assert.equal(sj[0].processes.length, 9);

  // a second up of the same name is refused while it is up
  const again = await s.cli("up.ts", [TOPOLOGY, ...s.sets]);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /already up/);
  // with the state file lost, the objects on the cluster still stop a second up, and the error
  // says how to delete them without it
  const statePath = join(s.state, `${NAME}.json`);
  await Deno.rename(statePath, `${statePath}.bak`);
  const left = await s.cli("up.ts", [TOPOLOGY, ...s.sets]);
  assert.equal(left.code, 1);
  assert.match(
    left.stderr,
    /already there \(deployment\/vllm-pd-4p4d-prefill-0, .*\); run deno task down \S+vllm_pd\.yaml --set platform=kubernetes --set kubernetes\.namespace=llm --state-dir \S+ first/,
  );
  await Deno.rename(`${statePath}.bak`, statePath);

  const down = await s.cli("down.ts", [NAME]);
  assert.equal(down.code, 0, down.stderr);
  calls = await fakeCalls(s.fake);
  // one kind at a time, by label, each waiting for its dependents
  const dels = calls.filter((c) => c.argv[0] === "delete");
  // besides what it applied, every kind a topology may have (an earlier nodes > 1 up's LWS)
  assert.deepEqual(dels.map((c) => c.argv[1]), [
    "configmap",
    "deployment",
    "leaderworkerset",
    "service",
  ]);
  for (const d of dels) {
    assert.deepEqual(d.argv.slice(2, 4), ["-l", SELECTOR]);
    assert.ok(d.argv.includes("--cascade=foreground"));
  }
  assert.ok((await s.objects()).every((o) => o.deletedAt !== undefined));
  // down waited until the pods were gone
  const last = calls.at(-1)!;
  assert.deepEqual(last.argv.slice(0, 2), ["get", "pods"]);
  await assert.rejects(Deno.stat(join(s.state, `${NAME}.json`)), Deno.errors.NotFound);
  const st2 = await s.cli("status.ts", [NAME]);
  assert.notEqual(st2.code, 0);
  // where a real kubectl is installed, every command line we gave the fake parses there too
  const rejected = await rejectedByRealKubectl(await fakeCalls(s.fake));
  if (rejected) assert.deepEqual(rejected, []);
  await Deno.remove(s.dir, { recursive: true });
});

Deno.test("kubernetes up: a pod that is never scheduled fails at the timeout with its events, and everything is deleted", async () => {
  const s = await setup({ pods: { "decode-1": { behavior: "pending" } } });
  const up = await s.cli("up.ts", [TOPOLOGY, ...s.sets, "--timeout", "3"]);
  assert.equal(up.code, 1);
  assert.match(up.stderr, /within 3 s/);
  assert.match(
    up.stderr,
    /decode-1.*Pending \(Unschedulable: 0\/2 nodes are available: 2 Insufficient nvidia\.com\/gpu\.\)/,
  );
  assert.match(up.stderr, /Warning FailedScheduling/);
  assert.ok((await s.objects()).every((o) => o.deletedAt !== undefined), "deleted what it applied");
  await assert.rejects(Deno.stat(join(s.state, `${NAME}.json`)), Deno.errors.NotFound);
  await Deno.remove(s.dir, { recursive: true });
});

Deno.test("kubernetes up: a crashing pod fails fast with its last log lines and events", async () => {
  const s = await setup({ pods: { "prefill-2": { behavior: "crash", readyAfterMs: 500 } } });
  const t0 = performance.now();
  const up = await s.cli("up.ts", [TOPOLOGY, ...s.sets, "--timeout", "120"]);
  assert.equal(up.code, 1);
  assert.ok(performance.now() - t0 < 60_000, "did not wait for the timeout");
  assert.match(
    up.stderr,
    /Cannot get pod vllm-pd-4p4d-prefill-2-\w+ Ready: current value is container engine exited 1 \(Error\), 2 restart\(s\)/,
  );
  assert.match(up.stderr, /CUDA out of memory/);
  assert.match(up.stderr, /Warning BackOff/);
  const calls = await fakeCalls(s.fake);
  const logs = calls.find((c) => c.argv[0] === "logs")!;
  assert.ok(logs.argv.includes("--previous"), "logs of the crashed run");
  const rejected = await rejectedByRealKubectl(calls);
  if (rejected) assert.deepEqual(rejected, []);
  assert.ok((await s.objects()).every((o) => o.deletedAt !== undefined));
  await Deno.remove(s.dir, { recursive: true });
});

const deletedKinds = async (fake: string) =>
  new Set((await fakeCalls(fake)).filter((c) => c.argv[0] === "delete").map((c) => c.argv[1]));

Deno.test("kubernetes up of multi-node instances: LeaderWorkerSets (refused without the LWS API); a crashing Ray worker fails it fast; down from the file deletes them", async () => {
  const s = await setup({ noLws: true });
  const sets = [...s.sets, "--set", "decode.nodes=2"];
  const no = await s.cli("up.ts", [TOPOLOGY, ...sets, "--timeout", "120"]);
  assert.equal(no.code, 1);
  assert.match(no.stderr, /no leaderworkerset\.x-k8s\.io API on this cluster/);
  assert.ok(!(await fakeCalls(s.fake)).some((c) => c.argv[0] === "apply"), "nothing applied");

  await Deno.writeTextFile(
    join(s.fake, "scenario.json"),
    JSON.stringify({ pods: { "vllm-pd-4p4d-decode-1-lws-0-1": { behavior: "crash" } } }),
  );
  const up = await s.cli("up.ts", [TOPOLOGY, ...sets, "--timeout", "120"]);
  assert.equal(up.code, 1);
  assert.match(
    up.stderr,
    /Cannot get pod vllm-pd-4p4d-decode-1-lws-0-1 Ready: current value is container engine exited 1/,
  );
  const applied = await s.objects();
  assert.equal(applied.filter((o) => o.obj.kind === "LeaderWorkerSet").length, 4);
  assert.ok(applied.every((o) => o.deletedAt !== undefined));
  assert.ok((await deletedKinds(s.fake)).has("leaderworkerset"));

  // healthy this time; down with the file and up's --set (no state file) deletes the same kinds
  await Deno.writeTextFile(join(s.fake, "scenario.json"), "{}");
  const up2 = await s.cli("up.ts", [TOPOLOGY, ...sets, "--timeout", "30"]);
  assert.equal(up2.code, 0, up2.stderr);
  // status counts each group's pods, Ray workers too
  const st = await s.cli("status.ts", [NAME]);
  assert.equal(st.code, 0, st.stdout + st.stderr);
  assert.match(st.stdout, /decode-1 +vllm-pd-4p4d-decode-1-lws-0 .*group 2\/2 Ready/);
  await Deno.remove(join(s.state, `${NAME}.json`));
  const before = (await fakeCalls(s.fake)).length;
  const down = await s.cli("down.ts", [TOPOLOGY, ...sets]);
  assert.equal(down.code, 0, down.stderr);
  const dels = (await fakeCalls(s.fake)).slice(before).filter((c) => c.argv[0] === "delete");
  assert.deepEqual(dels.map((c) => c.argv[1]), [
    "configmap",
    "deployment",
    "leaderworkerset",
    "service",
  ]);
  const left = (await s.objects()).filter((o) => o.deletedAt === undefined);
  assert.deepEqual(left.map((o) => `${o.obj.kind}/${o.obj.metadata.name}`), []);
  await Deno.remove(s.dir, { recursive: true });
});

Deno.test("kubernetes up: Ctrl-C while waiting deletes what was applied and exits 130", async () => {
  const s = await setup({ pods: { "decode-0": { behavior: "pending" } } });
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      ...["run", "-A", join(ROOT, "launch", "up.ts"), TOPOLOGY, ...s.sets],
      ...["--timeout", "120", "--state-dir", s.state],
    ],
    cwd: ROOT,
    env: { PATH: `${join(s.dir, "bin")}:${Deno.env.get("PATH")}` },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let err = "";
  const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  while (!/waiting for/.test(err)) {
    const { value, done } = await reader.read();
    if (done) break;
    err += value;
  }
  child.kill("SIGINT");
  for (let r = await reader.read(); !r.done; r = await reader.read()) err += r.value;
  const status = await child.status;
  await child.stdout.cancel();
  assert.equal(status.code, 130, err);
  assert.match(err, /interrupted by SIGINT; deleted what was applied/);
  assert.ok((await s.objects()).every((o) => o.deletedAt !== undefined), "deleted what it applied");
  await assert.rejects(Deno.stat(join(s.state, `${NAME}.json`)), Deno.errors.NotFound);
  await Deno.remove(s.dir, { recursive: true });
});
