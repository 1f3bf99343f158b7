/**
 * `bench --platform kubernetes --replicas 2`: the load runs in the pods of an
 * Indexed Job, driven through the recording fake kubectl on PATH (whose
 * `exec` runs the bundle copied into each pod here, against a simulated
 * engine on loopback): one start instant, rate/N and a seed each, rows
 * merged; an image that does not pull fails fast and deletes the Job.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { Job } from "kubernetes-models/batch/v1/Job";
import { fakeCalls, installFakeKubectl, rejectedByRealKubectl } from "../tasks/dev/fake_kubectl.ts";
import { benchJob } from "./_k8s_job.ts";
import { benchCmd, collect, sim } from "./_test_harness.ts";

Deno.test("bench Job manifest validates against the Kubernetes schema", () => {
  const j = benchJob({ name: "topobench-bench-x", namespace: "load", replicas: 3, image: "i" });
  new Job(j).validate();
  const spec = j.spec!;
  assert.equal(spec.completions, 3);
  assert.equal(spec.parallelism, 3);
  assert.equal(spec.completionMode, "Indexed");
});

async function setup(scenario: unknown = {}) {
  const tmp = await Deno.makeTempDir({ prefix: "bench_k8s_test_" });
  const fake = join(tmp, "fake");
  await installFakeKubectl(join(tmp, "bin"), fake);
  await Deno.writeTextFile(join(fake, "scenario.json"), JSON.stringify(scenario));
  const env = { PATH: `${join(tmp, "bin")}:${Deno.env.get("PATH")}` };
  return { tmp, fake, env };
}

const K8S = ["--platform", "kubernetes", "--replicas", "2", "--namespace", "load"];
const LOAD = [
  ...["--time-scale", "20", "--rate", "10", "--duration", "30", "--seed", "5"],
  ...["--input-len", "32", "--output-len", "8"],
];

Deno.test("bench --platform kubernetes --replicas 2 runs the load in two Job pods and merges their rows", async () => {
  const server = await sim("--speed", "20");
  const s = await setup();
  try {
    const out = await collect(
      await benchCmd([...K8S, ...LOAD], "k", {
        url: server.url,
        outRoot: join(s.tmp, "exp"),
        env: s.env,
      }).output(),
    );
    assert.equal(out.code, 0, out.stderr);
    // both pods' rows, ids made unique per pod, at about the target rate
    const w0 = out.rows.filter((r) => r.request_id.startsWith("w0-")).length;
    const w1 = out.rows.filter((r) => r.request_id.startsWith("w1-")).length;
    assert.ok(w0 > 50 && w1 > 50, `rows per pod ${w0} ${w1}\n${out.stderr}`);
    assert.equal(w0 + w1, out.rows.length);
    assert.ok(out.rows.every((r) => r.status === 200), "every request answered 200");
    assert.equal(out.summary[0].completed, out.rows.length);
    // the rows carry the run's load point (10 req/s), not each pod's share of it
    assert.ok(out.rows.every((r) => r.load_point === out.summary[0].load_point));
    assert.equal(out.summary[0].load_point, "10");
    // and so the vLLM-format copy has every request's values
    const vllm = [...Deno.readDirSync(join(out.dir, "vllm"))].map((e) => e.name);
    assert.equal(vllm.length, 1);
    const vj = JSON.parse(await Deno.readTextFile(join(out.dir, "vllm", vllm[0])));
    assert.equal(vj.ttfts.length, out.rows.length);
    assert.ok(Math.abs(out.summary[0].rate_achieved - 10) < 3.5, `${out.summary[0].rate_achieved}`);
    const calls = await fakeCalls(s.fake);
    assert.ok(calls.every((c) => c.namespace === "load"));
    const apply = calls.find((c) => c.argv[0] === "apply");
    assert.ok(apply);
    // the bundled bench copied into each pod, then run there
    const copies = calls.filter((c) => c.argv[0] === "exec" && /cat > /.test(c.argv.at(-1)!));
    assert.equal(copies.length, 2);
    assert.match(copies[0].argv.at(-1)!, /cat > '\/tmp\/topobench\/bench\.js'$/);
    const execs = calls.filter((c) =>
      c.argv[0] === "exec" && c.argv.some((a) => a.includes("exec deno run"))
    );
    assert.equal(execs.length, 2);
    assert.ok(execs.every((e) => e.argv.includes("-i")));
    const get = (xs: string[], k: string) => xs[xs.indexOf(k) + 1];
    for (const e of execs) {
      const inner = e.argv.slice(e.argv.indexOf("--") + 1);
      assert.deepEqual(inner.slice(0, 2), ["sh", "-c"]);
      assert.match(
        inner[2],
        /exec deno run -A --v8-flags=--max-semi-space-size=4 \/tmp\/topobench\/bench\.js "\$@"$/,
      );
      assert.equal(get(inner, "--rate"), "5");
      assert.equal(get(inner, "--start-at"), "stdin");
    }
    assert.notEqual(
      get(execs[0].argv, "--seed"),
      get(execs[1].argv, "--seed"),
      "each pod its own seed",
    );
    // the rows came back from the pods, then the pods were let go
    assert.ok(calls.some((c) => c.argv[0] === "exec" && c.argv.includes("cat")));
    assert.equal(calls.filter((c) => c.argv.includes("/tmp/topobench-done")).length, 2);
    assert.ok(!calls.some((c) => c.argv[0] === "delete"));
    const rejected = await rejectedByRealKubectl(calls);
    if (rejected) assert.deepEqual(rejected, []);
  } finally {
    await server.stop();
    await Deno.remove(s.tmp, { recursive: true });
  }
});

Deno.test("bench --platform kubernetes: an image that does not pull fails fast and deletes the Job", async () => {
  const s = await setup({ pods: { bench: { behavior: "image" } } });
  try {
    const out = await benchCmd([...K8S, ...LOAD, "--model", "m"], "k", {
      url: "http://127.0.0.1:9",
      outRoot: join(s.tmp, "exp"),
      env: s.env,
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assert.notEqual(out.code, 0);
    assert.match(stderr, /ImagePullBackOff/);
    assert.match(stderr, /Failed to pull image/);
    const calls = await fakeCalls(s.fake);
    const del = calls.find((c) => c.argv[0] === "delete");
    assert.ok(del, "the Job was deleted");
    assert.equal(del.argv[1], "job");
    const rejected = await rejectedByRealKubectl(calls);
    if (rejected) assert.deepEqual(rejected, []);
  } finally {
    await Deno.remove(s.tmp, { recursive: true });
  }
});

Deno.test("bench --platform kubernetes: Ctrl-C stops the pods' benches where they run and keeps their rows", async () => {
  const server = await sim("--speed", "20");
  const s = await setup();
  try {
    const child = benchCmd([...K8S, ...LOAD.map((x) => x === "30" ? "400" : x)], "stop", {
      url: server.url,
      outRoot: join(s.tmp, "exp"),
      env: s.env,
    }).spawn();
    // once the pods have rows on disk (each pod's /tmp is a folder of the fake's), interrupt
    let err = "";
    const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
    const pump = (async () => {
      for (let r = await reader.read(); !r.done; r = await reader.read()) err += r.value;
    })();
    const podRows = async () => {
      let n = 0;
      const walk = async (d: string): Promise<void> => {
        for await (const e of Deno.readDir(d)) {
          const p = join(d, e.name);
          if (e.isDirectory) await walk(p);
          else if (e.name === "requests.csv") {
            n += (await Deno.readTextFile(p)).split("\n").length - 2;
          }
        }
      };
      await walk(join(s.fake, "pods")).catch(() => {});
      return n;
    };
    const t0 = performance.now();
    while ((await podRows()) < 40 && performance.now() - t0 < 60_000) {
      await new Promise((r) => setTimeout(r, 200));
    }
    child.kill("SIGINT");
    const status = await child.status;
    await pump;
    const dir = new TextDecoder().decode(await new Response(child.stdout).arrayBuffer()).trim()
      .split("\n").at(-1)!;
    assert.equal(status.code, 130, err);
    const summary = JSON.parse(await Deno.readTextFile(join(dir, "summary.json")))[0];
    assert.equal(summary.complete, false, "an interrupted run is marked incomplete");
    const rows = (await Deno.readTextFile(join(dir, "requests.csv"))).trim().split("\n").length - 1;
    assert.ok(rows > 20, `rows kept from the pods: ${rows}\n${err}`);
    assert.ok(rows < 7000, "stopped well before the end");
    const calls = await fakeCalls(s.fake);
    assert.equal(
      calls.filter((c) => c.argv[0] === "exec" && c.argv.some((a) => a.includes("kill -TERM")))
        .length,
      2,
      "each pod's bench asked to stop",
    );
    assert.ok(calls.some((c) => c.argv[0] === "delete" && c.argv[1] === "job"));
  } finally {
    await server.stop();
    await Deno.remove(s.tmp, { recursive: true });
  }
});

Deno.test("bench --platform kubernetes: a prompts file of this machine is copied into the pods and read there", async () => {
  const server = await sim("--speed", "20");
  const s = await setup();
  try {
    const prompts = join(s.tmp, "my prompts.txt");
    await Deno.writeTextFile(
      prompts,
      Array.from({ length: 6 }, (_, i) => `Prompt number ${i}: say something about topologies.`)
        .join("\n") + "\n",
    );
    const out = await collect(
      await benchCmd(
        [
          ...K8S,
          ...["--time-scale", "20", "--rate", "20", "--num-requests", "24", "--output-len", "8"],
          ...["--dataset", "prompts-file", "--dataset-path", prompts],
        ],
        "files",
        { url: server.url, outRoot: join(s.tmp, "exp"), env: s.env },
      ).output(),
    );
    assert.equal(out.code, 0, out.stderr);
    assert.equal(out.rows.length, 24);
    assert.ok(out.rows.every((r) => r.status === 200));
    const calls = await fakeCalls(s.fake);
    const copies = calls.filter((c) => c.argv[0] === "exec" && /cat > /.test(c.argv.at(-1)!));
    assert.equal(copies.length, 4, "the bench and the prompts file into each of two pods");
    assert.ok(
      copies.some((c) => c.argv.at(-1)!.endsWith("cat > '/tmp/topobench/data/0-my_prompts.txt'")),
    );
    const runs = calls.filter((c) =>
      c.argv[0] === "exec" && c.argv.some((a) => a.includes("exec deno run"))
    );
    for (const r of runs) {
      assert.equal(
        r.argv[r.argv.indexOf("--dataset-path") + 1],
        "/tmp/topobench/data/0-my_prompts.txt",
      );
    }
  } finally {
    await server.stop();
    await Deno.remove(s.tmp, { recursive: true });
  }
});
