import assert from "node:assert/strict";
import { join } from "node:path";
import { loadTopologyWith, parseSet } from "../../launch/topology_set.ts";
import { type AutoscaleSpec, scaleDecision } from "../../lib/autoscale.ts";
import { readRequestCsv } from "../../lib/request_csv.ts";
import { loadExperiment, ROOT, validateExperiment } from "../_experiment.ts";
import { runPipeline } from "../pipeline.ts";
import { predictFlags } from "./run_point.ts";

const SPEC: AutoscaleSpec = {
  role: "decode",
  min: 1,
  max: 3,
  intervalS: 5,
  signal: "load",
  upWhenPerInstance: 20,
  downWhenPerInstance: 5,
  startupS: 10,
};

Deno.test("autoscale decision: up above the threshold below max, down below it above min, none while starting", () => {
  const d = (serving: number, starting: number, signal: number, spec = SPEC) =>
    scaleDecision(spec, { serving, starting, signal }).delta;
  assert.equal(d(1, 0, 21), 1); // 21 per instance > 20
  assert.equal(d(1, 0, 20), 0); // not above
  assert.equal(d(2, 1, 61), 0); // at max 3 (the starting one counts)
  assert.equal(d(1, 1, 41), 1); // 20.5 per instance over 2 (the starting one is capacity on its way)
  assert.equal(d(1, 1, 39), 0); // 19.5: the starting one will do
  assert.equal(d(2, 0, 9), -1); // 4.5 < 5
  assert.equal(d(2, 1, 0), 0); // never down while one is starting
  assert.equal(d(1, 0, 0), 0); // at min
  assert.equal(scaleDecision(SPEC, { serving: 2, starting: 0, signal: 9, fresh: 1 }).delta, 0); // one just joined
  assert.match(scaleDecision(SPEC, { serving: 2, starting: 0, signal: 9 }).why, /load 4\.5/);
});

Deno.test("autoscale block: errors name the field, the value and what is allowed", () => {
  const exp = (autoscale: unknown) =>
    validateExperiment({
      name: "a",
      topologies: [{ label: "pd", file: "x.yaml", autoscale }],
      workload: {},
      sweep: { rates: [1] },
    }, "a.yaml");
  assert.equal(exp({ role: "decode", min: 1, max: 4 }).topologies[0].autoscale?.startupS, 120);
  assert.throws(
    () => exp({ role: "router", min: 1, max: 2 }),
    /autoscale\.role.*prefill, decode, replicas/,
  );
  assert.throws(() => exp({ role: "decode", min: 3, max: 2 }), /autoscale\.max.*>= min \(3\)/);
  assert.throws(() => exp({ role: "decode", min: 1 }), /autoscale\.max/);
  assert.throws(
    () =>
      exp({ role: "decode", min: 1, max: 2, up_when_per_instance: 1, down_when_per_instance: 2 }),
    /down_when_per_instance.*< up_when_per_instance \(1\)/,
  );
  assert.throws(() => exp({ role: "decode", min: 1, max: 2, every: 3 }), /every/);
});

/** One virtual PD point (2 prefills, `decodes` decodes), autoscaled by `spec` or not. */
async function run(decodes: number, spec: AutoscaleSpec) {
  const dir = await Deno.makeTempDir({ prefix: "topobench_autoscale_" });
  try {
    const topo = await loadTopologyWith(join(ROOT, "fixtures/topologies/sim_pd_1p1d.yaml"), [
      parseSet("prefill.count=2"),
      parseSet(`decode.count=${decodes}`),
    ]);
    const r = await predictFlags(topo, {
      topology: "pd",
      out: join(dir, "pd"),
      endpoint: "/v1/completions",
      dataset: "random",
      "input-len": 1024,
      "output-len": 256,
      rate: 4,
      "rate-burst": "10:15:6",
      duration: 45,
      seed: 1,
      slo: "ttft:500,tpot:50",
    }, { autoscale: spec, startTime: new Date("2026-01-02T03:04:05Z") });
    const rows = readRequestCsv(await Deno.readFile(join(r.runDir!, "requests.csv")), "r.csv");
    const report = JSON.parse(await Deno.readTextFile(join(r.runDir!, "scenario.json")));
    return { rows, report };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("virtual autoscaler: acts at interval boundaries, a started decode serves after its start-up, fewer GPU-hours", async () => {
  const { rows, report } = await run(1, SPEC);
  const actions = report.scale_actions as { t_s: number; action: string; instance: string }[];
  assert.ok(actions.some((a) => a.action === "up"), JSON.stringify(actions));
  assert.ok(actions.some((a) => a.action === "down"), JSON.stringify(actions));
  for (const a of actions) assert.equal(a.t_s % SPEC.intervalS, 0, JSON.stringify(a));
  const firstLeg = (name: string) =>
    report.records.find((r: { instance: string; what: string }) =>
      r.instance === name && r.what === "first_leg"
    );
  assert.ok(actions.some((a) => a.action === "up" && firstLeg(a.instance)), "a started one served");
  for (const up of actions.filter((a) => a.action === "up")) {
    const servesMs = (up.t_s + SPEC.startupS) * 1000;
    const first = firstLeg(up.instance);
    if (first) assert.ok(first.tMs >= servesMs, `${up.instance} first leg at ${first.tMs}`);
    for (const r of rows.filter((r) => r.backend === up.instance)) {
      assert.ok(r.end_ms > servesMs, `${r.request_id} ended at ${r.end_ms} on ${up.instance}`);
    }
  }
  // a drained decode goes once it holds nothing; nothing fails on the way
  assert.ok(
    report.records.some((r: { what: string; detail: string }) =>
      r.what === "scale" && r.detail.startsWith("removed")
    ),
  );
  assert.equal(rows.filter((r) => r.error).length, 0);
  // against 2P + 3 decodes (its max) all along, to the last request's end
  const endS = Math.max(45, ...rows.map((r) => r.end_ms / 1000));
  assert.ok(report.gpu_hours < 5 * endS / 3600, String(report.gpu_hours));
  assert.ok(report.gpu_hours > 3 * endS / 3600, String(report.gpu_hours)); // more than 2P1D
  assert.match(
    report.findings.at(-1),
    /^run: [\d.]+ GPU-hours, SLO attainment [\d.]+%; \d+ scale actions \(up at \d+ s -> 2/,
  );
});

Deno.test("autoscale on the live clock: refused before anything starts, naming the entry", async () => {
  const exp = await loadExperiment(join(ROOT, "tasks/experiments/autoscale_pd_diurnal.yaml"));
  const outRoot = await Deno.makeTempDir({ prefix: "topobench_autoscale_live_" });
  try {
    await assert.rejects(
      () => runPipeline(exp, { clock: "live", outRoot }),
      /topologies\[1\]\.autoscale .*virtual time.*current value is "clock live"/,
    );
    assert.deepEqual([...Deno.readDirSync(outRoot)], [], "nothing written, nothing started");
  } finally {
    await Deno.remove(outRoot, { recursive: true });
  }
});
