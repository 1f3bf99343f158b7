import assert from "node:assert/strict";
import type { RankedTopology, Ranking } from "../../lib/ranking.ts";
import { recommendation } from "./_findings.ts";

const top = (topology: string, gpus: number | null, pass: number, fail: number | null) =>
  ({
    topology,
    gpus,
    rank: 1,
    slo_capacity: pass,
    pass_rate: pass,
    fail_rate: fail,
    slo_capacity_per_gpu: gpus === null ? null : pass / gpus,
    output_tok_s_per_gpu: null,
    binding: null,
    attainment_by_rate: [],
  }) as RankedTopology;

const ranking = (topologies: RankedTopology[]) =>
  ({
    rate_unit: "req/s",
    slo: { ttft_ms: 500, tpot_ms: 50 },
    target_pct: 90,
    topologies,
  }) as unknown as Ranking;

Deno.test("recommendation: none between runs whose GPU counts are not recorded", () => {
  const line = recommendation(
    ranking([top("agg", null, 10, null), top("run", null, 5, null)]),
    true,
  );
  assert.match(line, /^Recommendation: none — the GPU count of agg, run is not recorded/);
  assert.ok(!line.includes("0 GPUs"));
});

Deno.test("recommendation: a capacity never pushed past is a lower bound, with nothing claimed above it", () => {
  const held = recommendation(ranking([top("agg", 1, 10, null)]), true);
  assert.match(held, /agg held the SLO at every rate measured: its capacity is above 10 req\/s/);
  assert.ok(!held.includes("no tested"), held);
  const lost = recommendation(ranking([top("agg", 1, 10, 12)]), true);
  assert.match(lost, /Above 10 req\/s no tested 1-GPU topology holds the SLO/);
});
