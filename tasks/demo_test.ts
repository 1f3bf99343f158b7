import assert from "node:assert/strict";
import { join } from "node:path";
import { parse as parseYaml, stringify as stringifyYaml } from "yaml";
import { parseCsv } from "../lib/csv.ts";
import { readSummaries } from "./_bench_cmd.ts";
import { checkReading, DEMO_EXPERIMENT, runDemo } from "./demo.ts";

// The demo experiment, shrunk: 2 turns, 3 conversations per point, 2 rates, 20x speed, SVG only;
// run on the live clock (real processes) so the whole up/bench/down path is exercised.
async function smallDemo(dir: string): Promise<string> {
  const doc = parseYaml(await Deno.readTextFile(DEMO_EXPERIMENT)) as Record<
    string,
    Record<string, unknown>
  >;
  Object.assign(doc, { name: "demo-test", speed: 20 });
  doc.workload = { ...doc.workload, turns: 2, "num-requests": 3, "think-time": 200 };
  delete doc.workload.duration;
  doc.sweep = { ...doc.sweep, rates: [1, 4] };
  doc.plots = { ...doc.plots, formats: ["svg"] };
  // at speed 20 the live hops cost 20x in server time: an SLO every topology meets at both rates
  doc.slo = { ttft_ms: 20000, tpot_ms: 1000 };
  const file = join(dir, "demo_test.yaml");
  await Deno.writeTextFile(file, stringifyYaml(doc));
  return file;
}

Deno.test({
  name:
    "demo pipeline (live clock): run dirs, merged.csv, compare, plots and report exist and agree; resumes",
}, async () => {
  const dir = await Deno.makeTempDir({ prefix: "topobench_demo_" });
  try {
    const experiment = await smallDemo(dir);
    const res = await runDemo({
      experiment,
      outRoot: dir,
      log: () => {},
      clock: "live",
      liveCheck: false,
    });
    const labels = ["agg", "pd", "ppd", "dp"];
    assert.deepEqual(Object.keys(res.points).sort(), [...labels].sort());

    // every point: a run dir with the resolved config and a complete summary
    const completed = new Map<string, number>();
    for (const [label, pts] of Object.entries(res.points)) {
      assert.deepEqual(pts.map((p) => p.rateRps), [1, 4], label);
      for (const p of pts) {
        assert.ok(p.runDir.startsWith(res.expDir), p.runDir);
        const meta = JSON.parse(await Deno.readTextFile(join(p.runDir, "experiment.json")));
        assert.equal(meta.topology_label, label);
        assert.equal(meta.sim_speed, 20);
        assert.equal(meta.point.rate_rps, p.rateRps);
        const [s] = await readSummaries(p.runDir);
        assert.equal(s.topology, label);
        assert.equal(s.rate_target, p.rateRps);
        assert.equal(s.failed, 0, `${p.runDir} failed requests`);
        assert.equal(s.completed, 6, "3 conversations x 2 turns");
        completed.set(`${label}@${p.rateRps}`, s.completed as number);
      }
    }

    // merged.csv: one mean row per point, counts matching the run dirs
    const merged = parseCsv(await Deno.readTextFile(res.mergedCsv), res.mergedCsv)
      .filter((r) => r.run_index === "mean");
    assert.equal(merged.length, 8);
    for (const r of merged) {
      assert.equal(Number(r.completed), completed.get(`${r.topology}@${Number(r.rate_target)}`));
    }

    // compare output names every topology and carries the PPD-vs-PD turn-2 finding
    const md = await Deno.readTextFile(res.compareMd);
    for (const l of labels) assert.match(md, new RegExp(`\\| ${l} `));
    const cross = JSON.parse(await Deno.readTextFile(res.crossoverJson));
    assert.deepEqual([...cross.topologies].sort(), [...labels].sort());
    const turn = cross.multi_turn.find((t: { a: string; b: string }) =>
      [t.a, t.b].sort().join() === "pd,ppd"
    );
    assert.ok(turn && turn.byRate.length === 2, "turn-2+ TTFT compared at both rates");

    // figures and the report
    const svgs = [...Deno.readDirSync(join(res.expDir, "plots"))].filter((e) =>
      e.name.endsWith(".svg")
    );
    assert.ok(svgs.length >= 5, `${svgs.length} figures`);
    assert.equal(res.report, join(res.expDir, "report.html"));
    const html = await Deno.readTextFile(res.report!);
    for (const l of labels) assert.ok(html.includes(l), `report mentions ${l}`);

    // the recommendation first, read from crossover.json's ranking; the convention last
    assert.match(res.findings[0], /^Recommendation/);
    assert.match(res.findings.at(-1)!, /positive = better/);
    const ranked = cross.ranking.topologies.filter((t: { rank: number | null }) => t.rank !== null);
    if (ranked.length) {
      const top = Math.max(...ranked.map((t: { gpus: number }) => t.gpus));
      const best = ranked.filter((t: { gpus: number }) => t.gpus === top)
        .sort((a: { slo_capacity: number }, b: { slo_capacity: number }) =>
          b.slo_capacity - a.slo_capacity
        )[0];
      assert.ok(res.findings[0].includes(`use ${best.topology} (`), res.findings[0]);
    }
    // the PPD line's per-rate gains are those of merged.csv
    const t2 = (topo: string, rate: number) =>
      Number(
        merged.find((r) => r.topology === topo && Number(r.rate_target) === rate)!
          .mean_ttft_turn2plus_ms,
      );
    const gains = [1, 4].map((r) => (t2("pd", r) - t2("ppd", r)) / t2("pd", r) * 100);
    const line = res.findings.find((l) => l.startsWith("ppd vs pd"))!;
    assert.match(line, /turn-2\+ mean TTFT/);
    for (const g of gains) {
      const txt = `${g >= 0 ? "+" : "−"}${Math.abs(g).toFixed(Math.abs(g) >= 10 ? 0 : 1)}%`;
      if (gains.length > 1 && gains.every((x) => Math.sign(x) === Math.sign(g))) {
        assert.ok(line.includes(txt), `${line} has ${txt}`);
      }
    }
    // the crossover line names crossover.json's latency crossings
    const kept = ["mean_ttft_ms", "p99_ttft_ms", "mean_tpot_ms", "mean_e2el_ms"];
    const want: string[] = [];
    for (const c of cross.crossovers) {
      if (!kept.includes(c.metric)) continue;
      for (const x of c.crossings) {
        want.push(
          `${x.betterAfter} better than ${x.betterBefore} above ${Number(x.rate.toPrecision(3))}`,
        );
      }
    }
    const xline = res.findings.find((l) => l.startsWith("Crossovers ("))!;
    assert.ok(xline, "a crossover line");
    // every crossing the line names is one of crossover.json's (it keeps the material ones)
    const said = [...xline.matchAll(/(\S+ better than \S+ above [\d.]+)/g)].map((x) => x[1]);
    for (const x of said) assert.ok(want.includes(x), `${x} is in crossover.json`);
    if (!said.length) assert.match(xline, /: none in /);
    assert.ok(html.includes(xline.slice(0, 40)), "the report shows the crossover line");
    assert.ok(html.indexOf('id="findings"') < html.indexOf("<h2>Summary</h2>"), "findings first");
    assert.ok(html.includes(res.findings[1].slice(0, 20)), "the report shows the findings");

    // everything was taken down
    const left = [...Deno.readDirSync(join(res.expDir, ".state"))].filter((e) =>
      e.name.endsWith(".json")
    );
    assert.deepEqual(left.map((e) => e.name), []);

    // a second run into the same folder resumes: nothing is re-run
    const again = await runDemo({
      experiment,
      outRoot: dir,
      log: () => {},
      plot: false,
      clock: "live",
      liveCheck: false,
    });
    for (const [label, pts] of Object.entries(again.points)) {
      assert.ok(pts.every((p) => p.resumed), label);
      assert.deepEqual(pts.map((p) => p.runDir), res.points[label].map((p) => p.runDir));
    }
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});

Deno.test("the cross-check's reading names the host's load and cores", () => {
  const text = checkReading(3.14, 2).join(" ");
  assert.match(text, /load average 3\.1 on 2 cores/);
  assert.match(text, /virtual time has no host in the loop/);
});
