import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { writeRun } from "./_test_runs.ts";
import { crossings, turnFinding } from "./_crossover.ts";
import { goodputRate } from "../../lib/metrics.ts";
import { listRuns } from "../ls.ts";
import { headerMd, metricTablesMd } from "./_compare_md.ts";
import type { MergedRow } from "../../lib/merged_schema.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

Deno.test("crossings: sign change of a - b interpolated linearly", () => {
  const a = [{ rate: 1, value: 10 }, { rate: 2, value: 20 }, { rate: 3, value: 30 }];
  const b = [{ rate: 1, value: 16 }, { rate: 2, value: 18 }, { rate: 3, value: 20 }];
  // d = -6, +2, +10: zero at 1 + 6/8
  assert.deepEqual(crossings(["a", "b"], a, b, true), [
    { rate: 1.75, betterBefore: "a", betterAfter: "b" },
  ]);
  assert.deepEqual(crossings(["a", "b"], a, b, false)[0].betterBefore, "b");
  assert.deepEqual(crossings(["a", "b"], a, a, true), []);
});

Deno.test("goodput: first drop below target, interpolated; all-meet and none-meet", () => {
  const pts = [{ rate: 1, value: 1 }, { rate: 2, value: 0.8 }, { rate: 3, value: 0.5 }];
  assert.deepEqual(goodputRate(pts, 0.9), { rate: 1.5, atLeast: false });
  assert.deepEqual(goodputRate(pts, 0.4), { rate: 3, atLeast: true });
  assert.deepEqual(goodputRate(pts, 1.01), { rate: 0, atLeast: false });
});

Deno.test("turn-2+ finding: improvement avg/min/max across rates", () => {
  const t = turnFinding(
    ["ppd", "pd"],
    [{ rate: 1, value: 50 }, { rate: 2, value: 80 }],
    [{ rate: 1, value: 100 }, { rate: 2, value: 100 }, { rate: 3, value: 90 }],
  );
  assert.deepEqual([t.avgPct, t.minPct, t.maxPct, t.byRate.length], [35, 20, 50, 2]);
});

Deno.test("compare CLI: goodput per GPU and SLO scales from per-request rows, by hand", async () => {
  const root = await Deno.makeTempDir();
  try {
    const r = (n: number, v: number) => new Array(n).fill(v);
    // A (2 GPUs): attainment at 100 ms = 1.0, 0.8, 0.5 -> goodput 1.5 req/s, 0.75 per GPU
    await writeRun(root, "20250101-000001-a1", "A", 1, 2, r(10, 50));
    await writeRun(root, "20250101-000002-a2", "A", 2, 2, [...r(8, 50), ...r(2, 150)]);
    await writeRun(root, "20250101-000003-a3", "A", 3, 2, [...r(5, 50), ...r(5, 150)]);
    // B (1 GPU): 1.0, 1.0, 0.6 -> 2 + 0.1/0.4 = 2.25 req/s
    await writeRun(root, "20250101-000004-b1", "B", 1, 1, r(10, 60));
    await writeRun(root, "20250101-000005-b2", "B", 2, 1, r(10, 60));
    await writeRun(root, "20250101-000006-b3", "B", 3, 1, [...r(6, 60), ...r(4, 300)]);
    const merged = join(root, "merged.csv");
    const run = (args: string[]) =>
      new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", ...args],
        stdout: "piped",
        stderr: "piped",
      }).output();
    const m = await run([join(ROOT, "tasks/merge/merge.ts"), join(root, "exp"), "--out", merged]);
    assert.equal(m.code, 0, new TextDecoder().decode(m.stderr));
    const out = join(root, "cmp");
    const c = await run([
      join(ROOT, "tasks/compare/compare.ts"),
      merged,
      "--out",
      out,
      "--slo",
      "ttft:100",
      "--attainment",
      "90",
      "--scales",
      "0.5,1,2",
    ]);
    assert.equal(c.code, 0, new TextDecoder().decode(c.stderr));
    const j = JSON.parse(await Deno.readTextFile(join(out, "crossover.json")));
    const [ra, rb] = ["A", "B"].map((t) =>
      j.ranking.topologies.find((x: { topology: string }) => x.topology === t)
    );
    assert.equal(j.rate_unit, "req/s");
    assert.deepEqual([ra.slo_capacity, ra.slo_capacity_per_gpu, ra.pass_rate, ra.fail_rate], [
      1.5,
      0.75,
      1,
      2,
    ]);
    assert.ok(Math.abs(rb.slo_capacity - 2.25) < 1e-12);
    assert.ok(Math.abs(rb.slo_capacity_per_gpu - 2.25) < 1e-12);
    assert.deepEqual([rb.rank, ra.rank, rb.binding], [1, 2, "ttft"]);
    // at 2x (200 ms) A meets the target everywhere; B's 300 ms rows still miss
    const [ga, gb] = j.goodput;
    const s2 = ga.slo_scales.find((s: { scale: number }) => s.scale === 2);
    assert.deepEqual([s2.slo_capacity, s2.lower_bound], [3, true]);
    assert.ok(Math.abs(gb.slo_scales[2].slo_capacity - 2.25) < 1e-12);
    // mean TTFT: A 50, 70, 100 (2 GPUs) vs B 60, 60, 156 (1 GPU). At equal absolute load they
    // would cross at 1.5 req/s; per GPU (A at 0.5, 1, 1.5) A is worse over the whole shared
    // range 1–1.5 req/s per GPU: no crossing, 1 GPU is never set against 2 at equal load
    assert.equal(
      j.crossovers.find((x: { metric: string }) => x.metric === "mean_ttft_ms"),
      undefined,
    );
    const md = await Deno.readTextFile(join(out, "compare.md"));
    assert.match(md, /## mean_ttft_ms/);
    // A has 2 GPUs and B 1: no Δ at equal absolute load
    assert.match(md, /\| 3 \| 100\.00 \| 156\.00 \| GPUs differ \| – \|/);
    // without --out: beside a single input (merged.csv's folder); several inputs need --out
    const near = await run([join(ROOT, "tasks/compare/compare.ts"), merged, "--slo", "ttft:100"]);
    assert.equal(near.code, 0, new TextDecoder().decode(near.stderr));
    assert.ok((await Deno.stat(join(root, "compare.md"))).isFile);
    const two = await run([join(ROOT, "tasks/compare/compare.ts"), merged, join(root, "exp")]);
    assert.notEqual(two.code, 0);
    assert.match(new TextDecoder().decode(two.stderr), /give --out DIR/);
    const runs = await listRuns(root);
    assert.equal(runs.length, 6);
    assert.equal(runs[0].path.endsWith("b3"), true);
    assert.deepEqual([runs[0].topology, runs[0].rates, runs[0].requests, runs[0].complete], [
      "B",
      "3",
      10,
      true,
    ]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("compare.md: a point the saturation stop ended is marked and gets no Δ", () => {
  const row = (topology: string, rate: number, ttft: number, saturated: boolean) =>
    ({
      topology,
      rate_target: rate,
      gpus: 1,
      mean_ttft_ms: ttft,
      saturated,
    }) as unknown as MergedRow;
  const a = [row("A", 1, 50, false), row("A", 2, 70, false)];
  const b = [row("B", 1, 60, false), row("B", 2, 400, true)];
  const byName = new Map([["A", a], ["B", b]]);
  const md = metricTablesMd([["mean_ttft_ms", true]], ["A", "B"], byName, [...a, ...b]).join("\n");
  assert.match(md, /\| 1 \| 50\.00 \| 60\.00 \| -20\.0% \| n\/a \|/);
  assert.match(md, /\| 2 \| 70\.00 \| 400\.00 \(stopped\) \| stopped \| – \|/);
  assert.match(headerMd(["A", "B"], byName).join("\n"), /marked \(stopped\)/);
  assert.doesNotMatch(headerMd(["A"], new Map([["A", a]])).join("\n"), /stopped/);
});
