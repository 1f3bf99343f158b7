import assert from "node:assert/strict";
import { join } from "node:path";
import { ROOT } from "../_experiment.ts";
import type { Calibration } from "./calibrate.ts";
import { DISAGG_ERROR_PCT, MODEL_ERROR_PCT } from "../plan/answer.ts";

Deno.test({
  name: "calibrate: every published row reproduced (±15%, directions agree) or a named known miss",
}, async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", join(ROOT, "tasks/calibrate/calibrate.ts"), "--json"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const err = new TextDecoder().decode(out.stderr);
  const c = JSON.parse(new TextDecoder().decode(out.stdout)) as Calibration;
  assert.deepEqual(c.failures, [], err);
  assert.equal(out.code, 0, err);
  assert.match(err, /every gate passed/);
  // every absolute row of published.md is there, within 15% unless it is the fitted one
  const ids = new Set(c.absolute.map((r) => r.id));
  assert.deepEqual([...ids], ["L-H100", "L-A100", "JM-A100", "PPD-floor"]);
  for (const r of c.absolute) {
    if (!r.ungated) assert.ok(Math.abs(r.errorPct) <= 15, `${r.id} ${r.metric}: ${r.errorPct}%`);
    // the band deno task plan states beside a disaggregated candidate covers its published rows
    if (r.id === "PPD-floor") assert.ok(Math.abs(r.errorPct) <= DISAGG_ERROR_PCT, r.metric);
    assert.ok(Number.isFinite(r.simulated) && r.simulated > 0, `${r.id} ${r.metric}`);
  }
  assert.deepEqual(
    [...new Set(c.directions.map((d) => d.id))],
    ["vLLM-doc", "llm-d", "PPD suite", "P2P suite"],
  );
  for (const d of c.directions) assert.ok(d.agrees || d.knownMiss, `${d.id}: ${d.measured}`);
  // the three real vLLM runs: mean, p50 and p90 of TTFT, TPOT and E2E each, within the gates
  assert.deepEqual([...new Set(c.traces.map((t) => t.id))], [
    "RTXPRO6000_Llama-3.1-8B",
    "RTXPRO6000_Qwen3-30B-A3B-Instruct-2507",
    "RTXPRO6000_Qwen3-32B",
  ]);
  assert.equal(c.traces.length, 3 * 9);
  for (const t of c.traces) {
    assert.ok(Math.abs(t.errorPct) <= t.tolerancePct, `${t.id} ${t.metric}: ${t.errorPct}%`);
    // the error band deno task plan states beside its answer covers every trace row
    assert.ok(Math.abs(t.errorPct) <= MODEL_ERROR_PCT, `${t.id} ${t.metric}: ${t.errorPct}%`);
  }
});
