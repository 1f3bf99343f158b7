import assert from "node:assert/strict";
import { buildFigures } from "../_figures.ts";
import { readExperiment } from "../_runs.ts";
import { writeSyntheticExperiment } from "../_synthetic.ts";
import { isGeometric, rateScale, topologyScale, type VlSpec, wrapLine } from "../_common.ts";
import type { ChartContext } from "../_common.ts";
import { latencyVsRate } from "./latency_vs_rate.ts";
import { paretoFrontier } from "./pareto.ts";
import { ratioCrossover, ratioSeries } from "./ratio_crossover.ts";
import { crossings, improvement } from "./slo_attainment.ts";
import { legendOfDrawn } from "../_legend_values.ts";
import { firstAbove, lastAbove } from "../_slo.ts";
import { ppdImprovements } from "./multi_turn.ts";
import { throughputVsRate } from "./throughput_vs_rate.ts";
import { sectionOf } from "../report.ts";

const TOPS = ["ppd-1p1d", "agg", "pd-1p1d"];

async function experiment(o = {}) {
  const dir = await Deno.makeTempDir({ prefix: "plot_charts_" });
  await writeSyntheticExperiment(dir, { topologies: TOPS, turns: 2, timelines: true, ...o });
  return { dir, data: await readExperiment(dir) };
}

type Values = { values: Record<string, unknown>[] };
const valuesOf = (spec: VlSpec) => (spec.data as Values).values;

/** Every colour scale in a spec (nested layers / concat). */
function colorScales(spec: unknown, out: { domain: string[]; range: string[] }[] = []) {
  if (Array.isArray(spec)) spec.forEach((s) => colorScales(s, out));
  else if (spec && typeof spec === "object") {
    const o = spec as Record<string, unknown>;
    const c = (o.encoding as Record<string, Record<string, unknown>> | undefined)?.color;
    if (c?.field === "topology") out.push(c.scale as { domain: string[]; range: string[] });
    for (const v of Object.values(o)) if (typeof v === "object") colorScales(v, out);
  }
  return out;
}

Deno.test("every figure builds from a synthetic experiment with consistent topology colours", async () => {
  const { dir, data } = await experiment();
  try {
    const figs = buildFigures(data);
    const built = figs.filter((f) => "spec" in f.result).map((f) => f.name);
    for (
      const n of [
        "latency_ttft",
        "latency_tpot",
        "latency_itl",
        "latency_e2el",
        "throughput_latency_ttft",
        "throughput_rate",
        "success_rate",
        "ratio_p99_ttft",
        "slo_rate",
        "slo_scale",
        "ttft_by_turn",
        "ttft_per_turn",
        "pareto",
        "ppd_improvement",
        "cdf_ttft",
        "cdf_e2el",
        "timeline_gpu_agg",
        "timeline_server_agg",
      ]
    ) assert.ok(built.includes(n), `${n} built (built: ${built.join(", ")})`);
    const want = topologyScale(TOPS);
    assert.deepEqual(want.domain, ["agg", "pd-1p1d", "ppd-1p1d"]);
    for (const f of figs) {
      if (!("spec" in f.result)) continue;
      for (const s of colorScales(f.result.spec)) assert.deepEqual(s, want, f.name);
      const t = f.result.spec.title as { text: string; subtitle: string[] };
      assert.ok(t.subtitle.some((l) => /SIMULATED/.test(l)), `${f.name} says simulated`);
    }
    const skips = figs.filter((f) => "skip" in f.result).map((f) => f.name);
    assert.deepEqual(skips.sort(), ["throughput_concurrency", "ttft_prompt_len"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("latency figure carries p50/p90/p99 per topology and rate from the summaries", async () => {
  const { dir, data } = await experiment({ ratesRps: [1, 3] });
  try {
    const ctx: ChartContext = {
      model: "m",
      workload: "w",
      topologies: TOPS,
      gpu: "",
      simulated: false,
      logY: true,
    };
    const r = latencyVsRate(data.rows, "ttft", ctx);
    assert.ok("spec" in r);
    const vals = valuesOf(r.spec);
    assert.equal(vals.length, TOPS.length * 2 * 3);
    const agg = data.rows.find((x) => x.topology === "agg" && x.rate_target === 3)!;
    const p99 = vals.find((v) =>
      v.topology === "agg" && v.percentile === "p99" && v.rate_rps === agg.rate_target
    );
    assert.equal(p99?.value_ms, agg.p99_ttft_ms);
    const inner = r.spec.spec as { encoding: Record<string, Record<string, unknown>> };
    const enc = inner.encoding;
    assert.deepEqual(enc.y.scale, { type: "log" });
    assert.equal(enc.x.field, "rate_rps");
    // one panel per percentile, one line per topology in each
    const facet = r.spec.facet as { column: { field: string } };
    assert.equal(facet.column.field, "percentile");
    assert.equal(enc.strokeDash, undefined);
    assert.ok(!(r.spec.title as { subtitle: string[] }).subtitle.some((l) => /SIMULATED/.test(l)));
    const empty = latencyVsRate([], "ttft", ctx);
    assert.ok("skip" in empty && /no TTFT/.test(empty.skip));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("ratio figure marks the crossover where A/B crosses 1", () => {
  const rows = [1, 2, 3, 4].flatMap((x) => [
    { topology: "a", rate_target: x, p99_ttft_ms: 10 * x },
    { topology: "b", rate_target: x, p99_ttft_ms: 25 },
  ]);
  const { points, crossings: c } = ratioSeries(rows, "a", "b", "p99_ttft_ms");
  assert.deepEqual(points.map((p) => p.ratio), [0.4, 0.8, 1.2, 1.6]);
  assert.equal(c.length, 1);
  assert.ok(Math.abs(c[0] - 2.5) < 1e-9);
  const ctx: ChartContext = {
    model: "m",
    workload: "",
    topologies: ["a", "b"],
    gpu: "",
    simulated: false,
  };
  const r = ratioCrossover(rows, "a", "b", "p99_ttft_ms", ctx);
  assert.ok("spec" in r);
  const layers = r.spec.layer as { data?: Values; mark: { type: string } }[];
  const marks = layers.filter((l) => l.data?.values.some((v) => v.offered_rps === c[0]));
  assert.ok(marks.some((l) => l.mark.type === "point"));
  assert.ok(
    (r.spec.title as { subtitle: string[] }).subtitle.some((l) => l.includes("2.50 req/s")),
  );
});

Deno.test("SLO crossings interpolate the target and the improvement factor follows", () => {
  assert.ok(Math.abs(lastAbove([[1, 1], [2, 0.95], [4, 0.85]], 0.9)! - 3) < 1e-9);
  assert.equal(lastAbove([[1, 0.5]], 0.9), null);
  assert.ok(Math.abs(firstAbove([[1, 0.5], [2, 0.7], [3, 1]], 0.9)! - (2 + 2 / 3)) < 1e-9);
  const pts = [1, 2, 3].flatMap((x) => [
    { topology: "a", x, kind: "both" as const, attainment: x < 3 ? 1 : 0.5 },
    { topology: "b", x, kind: "both" as const, attainment: x < 2 ? 1 : 0.5 },
  ]);
  const c = crossings(pts, 0.9, "rate");
  assert.ok(Math.abs(c.get("a")! - 2.2) < 1e-9);
  assert.ok(Math.abs(c.get("b")! - 1.2) < 1e-9);
  const scale = crossings(pts.map((p) => ({ ...p, attainment: 1.5 - p.attainment })), 0.9, "scale");
  assert.match(improvement(scale), /^b meets the target at the tightest SLO: /);
});

Deno.test("PPD improvement compares ppd and pd at the same rates per workload", () => {
  const rows = [
    { topology: "pd-1p1d", workload: "W1", rate_target: 1, mean_ttft_ms: 100 },
    { topology: "ppd-1p1d", workload: "W1", rate_target: 1, mean_ttft_ms: 60 },
    { topology: "agg", workload: "W1", rate_target: 1, mean_ttft_ms: 10 },
  ];
  const imp = ppdImprovements(rows);
  assert.deepEqual(imp, [{ workload: "W1", offered: 1, metric: "mean TTFT", improvement_pct: 40 }]);
});

Deno.test("pareto: per-GPU output against per-user speed, labelled by offered load", () => {
  const rows = [
    { topology: "agg", rate_target: 2, output_throughput_per_gpu: 900, mean_tpot_ms: 10 },
    { topology: "agg", rate_target: 8, output_throughput_per_gpu: 3000, mean_tpot_ms: 25 },
    { topology: "pd", rate_target: 8, output_throughput_per_gpu: null, mean_tpot_ms: 8 },
  ];
  const ctx: ChartContext = {
    model: "m",
    workload: "",
    topologies: ["agg", "pd"],
    gpu: "",
    simulated: false,
  };
  const r = paretoFrontier(rows, ctx);
  assert.ok("spec" in r);
  const vals = (r.spec.data as Values).values;
  assert.deepEqual(vals.map((v) => [v.per_user_tok_s, v.per_gpu_tok_s, v.label]), [
    [100, 900, "2"],
    [40, 3000, "8"],
  ]);
  assert.ok("skip" in paretoFrontier([rows[2]], ctx));
});

Deno.test("colours are keyed by label: pd is the same red alone and among others", () => {
  const colour = (tops: string[], t: string) => {
    const s = topologyScale(tops);
    return s.range[s.domain.indexOf(t)];
  };
  assert.equal(colour(["pd-1p1d"], "pd-1p1d"), colour(["agg", "dp", "pd-1p1d", "ppd"], "pd-1p1d"));
  assert.equal(colour(["mine", "other"], "mine"), colour(["mine"], "mine"));
  const many = topologyScale(["pd", "pd-2p2d", "pd-4p4d"]);
  assert.equal(new Set(many.range).size, 3, "labels wanting one colour get distinct ones");
});

Deno.test("geometric rate sweeps are drawn on a log x axis, linear ones from zero", () => {
  assert.equal(isGeometric([0.5, 1, 2, 4, 8]), true);
  assert.equal(isGeometric([1.5, 3, 4.6, 6.1, 7.6, 9.1, 11, 12]), false);
  assert.equal(isGeometric([1, 2, 4]), false); // spans only 4x
  assert.deepEqual(rateScale([1, 2, 4, 8, 16]), { type: "log" });
  assert.deepEqual(rateScale([1, 2, 3]), { zero: true });
});

Deno.test("report sections group figures by the question they answer", () => {
  assert.equal(
    sectionOf("pareto_random_256_64_c4"),
    "Who serves best: throughput and the Pareto frontier (per GPU)",
  );
  assert.equal(sectionOf("latency_ttft"), "Latency as load grows");
  assert.equal(sectionOf("ratio_p99_ttft"), "Where it breaks: SLOs and crossovers");
  assert.equal(sectionOf("ttft_per_turn"), "Multi-turn and prefix reuse");
  assert.equal(sectionOf("something_new"), "Other");
});

Deno.test("wrapLine: long captions break at spaces within the width and join back", () => {
  const line = Array.from({ length: 40 }, (_, i) => `word${i}`).join(" ");
  const parts = wrapLine(line, 50);
  assert.ok(parts.length > 1 && parts.every((p) => p.length <= 50), parts.join("|"));
  assert.equal(parts.join(" "), line);
  assert.deepEqual(wrapLine("short"), ["short"]);
});

Deno.test("throughput vs rate: a point the saturation stop ended is drawn hollow, and the subtitle says why", () => {
  const ctx: ChartContext = {
    model: "m",
    workload: "",
    topologies: ["a"],
    gpu: "",
    simulated: true,
  };
  const row = (rate: number, saturated: boolean) => ({
    topology: "a",
    rate_target: rate,
    request_throughput: rate,
    output_throughput: 100 * rate,
    saturated,
  });
  const r = throughputVsRate([row(1, false), row(2, true)], ctx);
  assert.ok("spec" in r);
  assert.deepEqual(valuesOf(r.spec).map((v) => v.stopped), [false, true]);
  const text = JSON.stringify(r.spec);
  assert.ok(text.includes('"filter":"datum.stopped"'));
  const sub = (r.spec.title as { subtitle: string[] }).subtitle;
  assert.ok(sub.some((l) => l.startsWith("hollow: stopped over-saturated")));
  const calm = throughputVsRate([row(1, false)], ctx);
  assert.ok("spec" in calm);
  assert.ok(
    !(calm.spec.title as { subtitle: string[] }).subtitle.some((l) => l.startsWith("hollow")),
  );
});

Deno.test("a colour legend lists only the topologies its figure draws, in palette order", () => {
  const color = (field: string) => ({
    field,
    type: "nominal",
    scale: { domain: ["agg", "pd", "ppd"], range: ["#1", "#2", "#3"] },
    legend: { orient: "right" },
  });
  const spec = {
    layer: [
      {
        data: { values: [{ topology: "ppd", x: 1 }, { topology: "agg", x: 2 }] },
        encoding: { color: color("topology") },
      },
      { data: { values: [{ kind: "a" }] }, encoding: { color: color("computed") } },
    ],
  };
  legendOfDrawn(spec);
  assert.deepEqual(spec.layer[0].encoding.color.legend, {
    orient: "right",
    values: ["agg", "ppd"],
  });
  // a field no inline row carries (made by a transform) keeps its whole legend
  assert.deepEqual(spec.layer[1].encoding.color.legend, { orient: "right" });
});
