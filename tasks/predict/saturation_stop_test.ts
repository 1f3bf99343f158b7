import assert from "node:assert/strict";
import { join } from "node:path";
import { loadTopology } from "../../launch/topology.ts";
import { parseCsv } from "../../lib/csv.ts";
import { rankTopologies } from "../../lib/ranking.ts";
import { ROOT } from "../_experiment.ts";
import { readSummaries } from "../_bench_cmd.ts";
import { searchSample } from "../_sweep_auto.ts";
import { predictFlags } from "./run_point.ts";

/** sim_agg, random 1024/128: saturates near 20 req/s (the example runs 60 req/s). */
async function agg(dir: string, rate: number, flags: Record<string, string> = {}) {
  const topo = await loadTopology(join(ROOT, "fixtures/topologies/sim_agg.yaml"));
  const r = await predictFlags(topo, {
    endpoint: "/v1/completions",
    dataset: "random",
    "input-len": 1024,
    "output-len": 128,
    seed: 0,
    rate,
    duration: 40,
    slo: "ttft:500,tpot:50",
    topology: "sim_agg",
    out: join(dir, `r${rate}`),
    ...flags,
  });
  const [s] = await readSummaries(r.runDir!);
  const rows = parseCsv(await Deno.readTextFile(join(r.runDir!, "requests.csv")));
  return { s, rows, summaries: await readSummaries(r.runDir!) };
}

Deno.test("saturation stop: 3x overload stops early, its in-flight requests fail, and the point fails the SLO", async () => {
  const dir = await Deno.makeTempDir({ prefix: "topobench_sat_" });
  try {
    const { s, rows, summaries } = await agg(dir, 60);
    assert.equal(s.saturated, true, "the point is marked saturated");
    assert.match(String(s.saturation), /^over-saturated at \d+\.\d s: /);
    assert.equal(s.complete, true, "a saturated point is complete, not interrupted");
    assert.ok((s.duration as number) < 30, `stopped early: ${s.duration} s of a 40 s run`);
    const cancelled = rows.filter((r) => String(r.error).startsWith("cancelled: over-saturated"));
    assert.ok(cancelled.length > 100, `requests in flight end as failures: ${cancelled.length}`);
    assert.equal(s.failed, cancelled.length);
    assert.equal(rows.length, (s.completed as number) + (s.failed as number), "rows kept whole");
    // the SLO search and the ranking see a failing point
    assert.ok(searchSample(60, summaries).attainment! < 0.5);
    const slo = { ttftMs: 500, tpotMs: 50 };
    const ranked = rankTopologies(
      [{ topology: "agg", gpus: 1, points: [{ rate: 60, rows: rows as never, outputTokS: null }] }],
      slo,
      0.9,
      "req/s",
    );
    assert.equal(ranked.topologies[0].fail_rate, 60);
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});

Deno.test("saturation stop: never at 50% or 90% of capacity; off when asked", async () => {
  const dir = await Deno.makeTempDir({ prefix: "topobench_sat_" });
  try {
    for (const rate of [10, 18.5]) {
      const { s } = await agg(dir, rate);
      assert.equal(s.saturated, undefined, `${rate} req/s: ${s.saturation}`);
      assert.equal(s.failed, 0);
    }
    const { s } = await agg(dir, 60, { "saturation-stop": "off" });
    assert.equal(s.saturated, undefined);
    assert.ok((s.duration as number) > 40, `played to its end and drained: ${s.duration} s`);
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
