import assert from "node:assert/strict";
import { join } from "node:path";
import { loadTopologyWith, parseSet } from "../../launch/topology_set.ts";
import { Reader } from "../../lib/schema.ts";
import { readEvents } from "../../lib/scenario_events.ts";
import { readRequestCsv } from "../../lib/request_csv.ts";
import { ROOT } from "../_experiment.ts";
import { predictFlags } from "./run_point.ts";

const PD = join(ROOT, "fixtures/topologies/sim_pd_1p1d.yaml");
const events = (list: unknown) => readEvents(Reader.root("test.yaml", { events: list }, null));

/** One virtual PD 2P2D point with `list` as its events; its rows and scenario.json. */
async function scenario(list: unknown, flags: Record<string, string | number> = {}) {
  const dir = await Deno.makeTempDir({ prefix: "topobench_faults_" });
  try {
    const topo = await loadTopologyWith(PD, [
      parseSet("prefill.count=2"),
      parseSet("decode.count=2"),
    ]);
    const run = await predictFlags(topo, {
      topology: "pd",
      out: join(dir, "pd"),
      endpoint: "/v1/completions",
      dataset: "random",
      "input-len": 1024,
      "output-len": 256,
      rate: 24,
      duration: 20,
      seed: 1,
      slo: "ttft:500,tpot:50",
      ...flags,
    }, { events: events(list), startTime: new Date("2026-01-02T03:04:05Z") });
    const runDir = run.runDir!;
    const rows = readRequestCsv(await Deno.readFile(join(runDir, "requests.csv")), "r.csv");
    const report = JSON.parse(await Deno.readTextFile(join(runDir, "scenario.json")));
    return { rows, report, summary: run.summaries[0] as { completed: number; failed: number } };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("virtual faults: a killed decode's requests fail stranded or reset, no row is lost", async () => {
  const { rows, report, summary } = await scenario([
    { at: 10, action: "kill", target: "decode[1]" },
  ]);
  // every request sent has its row: the completed and the failed add up
  assert.equal(rows.length, summary.completed + summary.failed);
  assert.equal(new Set(rows.map((r) => r.request_id)).size, rows.length);
  const failed = rows.filter((r) => r.error);
  assert.ok(failed.length > 0);
  // only what decode-1 held when it died fails, each with its reason
  for (const r of failed) {
    assert.equal(r.backend, "decode-1", r.error);
    assert.ok(r.failure === "stranded" || r.failure === "reset", `${r.failure}: ${r.error}`);
    assert.ok(r.end_ms >= 10_000 && r.end_ms < 10_001, String(r.end_ms));
    // stranded: no token out yet (the KV was handed over); reset: the stream broke
    assert.equal(r.failure === "stranded", r.output_tokens === 0, r.error);
  }
  const by = (f: string) => failed.filter((r) => r.failure === f).length;
  assert.ok(by("stranded") > 0 && by("reset") > 0, JSON.stringify(report.failures));
  assert.deepEqual(report.failures, { stranded: by("stranded"), reset: by("reset") });
  // nothing reaches decode-1 after the kill
  assert.ok(rows.every((r) => r.backend !== "decode-1" || r.scheduled_ms < 10_000));
  // the router saw the reset at once: detection from its verdict, not a guess
  const [kill] = report.events;
  assert.equal(kill.detect_s, 0);
  assert.equal(kill.failed, failed.length);
  assert.deepEqual(
    report.records.map((r: { what: string; instance: string }) => `${r.what} ${r.instance}`),
    ["event decode-1", "ejected decode-1"],
  );
});

Deno.test("virtual faults: a paused decode is ejected by the health checks, then put back", async () => {
  const { rows, report } = await scenario([
    { at: 5, action: "pause", target: "decode[0]", duration: 8 },
  ], { rate: 8 });
  const rec = report.records.map((r: { tMs: number; what: string }) => `${r.tMs} ${r.what}`);
  // probes every 2 s: the one at 6 s has no answer by 8 s (its 2-s timeout): out; resumed at
  // 13 s, that probe's late answer puts it back
  assert.deepEqual(rec, ["5000 event", "8000 ejected", "13000 event", "13000 restored"]);
  assert.equal(report.events[0].detect_s, 3);
  const failed = rows.filter((r) => r.error);
  assert.ok(failed.length > 0 && failed.every((r) => r.failure === "ejected"));
  assert.ok(failed.every((r) => r.end_ms === 8000));
  // while out of rotation nothing goes to it
  assert.ok(
    rows.every((r) => r.backend !== "decode-0" || r.sent_ms < 8000 || r.sent_ms >= 13000),
  );
});

Deno.test("virtual faults: a started decode takes requests once it serves and the router has it", async () => {
  const { rows, report } = await scenario([
    { at: 5, action: "start", target: "decode", startup: 2 },
  ], { rate: 8, duration: 12 });
  const rec = report.records.map((r: { tMs: number; what: string; instance: string }) =>
    `${Math.floor(r.tMs)} ${r.what} ${r.instance}`
  );
  assert.deepEqual(rec.slice(0, 2), ["5000 event decode-2", "7000 joined decode-2"]);
  const mine = rows.filter((r) => r.backend === "decode-2");
  assert.ok(mine.length > 0 && mine.every((r) => r.sent_ms >= 7000 && !r.error));
  assert.equal(report.events[0].detect_s, 2);
  assert.ok(report.events[0].carries_load_s >= 2 && report.events[0].carries_load_s < 3);
});
