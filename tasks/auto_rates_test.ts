/**
 * `rates: auto` in virtual time: the sweep brackets each topology's SLO
 * capacity by running points on both sides of it (never a "≥" lower bound),
 * keeps every search point as a sweep point, and the ranking record reads
 * the same bracket.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { stringify } from "yaml";
import { loadExperiment, ROOT } from "./_experiment.ts";
import { runPipeline } from "./pipeline.ts";

Deno.test("rates: auto brackets the SLO capacity within the resolution, and the ranking reads it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "auto_rates_" });
  try {
    const file = join(dir, "auto.yaml");
    await Deno.writeTextFile(
      file,
      stringify({
        name: "auto",
        topologies: [{ label: "agg", file: join(ROOT, "fixtures/topologies/sim_agg.yaml") }],
        workload: { "input-len": 512, "output-len": 64, duration: 8, seed: 1 },
        sweep: { rates: "auto", auto: { points: 2, resolution: 1.2 } },
        slo: { ttft_ms: 300, tpot_ms: 40 },
        attainment: 90,
        plots: { formats: ["svg"] },
      }),
    );
    const lines: string[] = [];
    const res = await runPipeline(await loadExperiment(file), {
      outRoot: dir,
      plot: false,
      statusLine: false,
      startTime: new Date("2026-12-01T00:00:00Z"),
      log: (m) => lines.push(m),
    });
    const t = res.crossover.ranking!.topologies[0];
    assert.ok(t.pass_rate !== null && t.fail_rate !== null, JSON.stringify(t));
    assert.ok(t.fail_rate / t.pass_rate <= 1.2 + 1e-9, `${t.pass_rate}–${t.fail_rate}`);
    const att = new Map(t.attainment_by_rate.map((p) => [p.rate, p.value]));
    assert.ok(att.get(t.pass_rate)! >= 0.9 && att.get(t.fail_rate)! < 0.9);
    // every search point is a point of the sweep, and the log names the bracket
    const rates = res.points.agg.map((p) => p.rateRps);
    assert.ok(rates.includes(t.pass_rate) && rates.includes(t.fail_rate), rates.join(","));
    const said = lines.find((l) => l.startsWith("agg: SLO capacity"));
    assert.ok(said?.includes(`${t.pass_rate}–${t.fail_rate} req/s`), said);
    assert.ok(!res.findings.join("\n").includes("≥"), "no lower bound in the findings");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("two leaders whose SLO brackets overlap are bisected further until they separate or are within 2%", async () => {
  const dir = await Deno.makeTempDir({ prefix: "refine_" });
  try {
    const file = join(dir, "twins.yaml");
    const agg = join(ROOT, "fixtures/topologies/sim_agg.yaml");
    await Deno.writeTextFile(
      file,
      stringify({
        name: "twins",
        topologies: [{ label: "agg", file: agg }, { label: "twin", file: agg }],
        workload: { "input-len": 512, "output-len": 64, duration: 8, seed: 1 },
        sweep: { rates: "auto", auto: { points: 1, resolution: 1.2 } },
        slo: { ttft_ms: 300, tpot_ms: 40 },
        attainment: 90,
      }),
    );
    const lines: string[] = [];
    const res = await runPipeline(await loadExperiment(file), {
      outRoot: dir,
      plot: false,
      statusLine: false,
      workers: 1, // in process: two workers would each load a tokenizer for seconds of work
      startTime: new Date("2026-12-01T00:00:00Z"),
      log: (m) => lines.push(m),
    });
    // the same topology twice: its brackets overlap whatever is measured, so both narrow
    assert.ok(lines.some((l) => l.includes("brackets overlap; narrowing both")), lines.join("\n"));
    for (const t of res.crossover.ranking!.topologies) {
      assert.ok(t.fail_rate! / t.pass_rate! <= 1.1, `${t.topology} ${t.pass_rate}–${t.fail_rate}`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
