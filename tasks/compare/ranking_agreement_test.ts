import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { plot } from "../../plot/plot.ts";
import { writeRun } from "./_test_runs.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

// Ranks that differ by metric: A (1 GPU) earns the most output per GPU at every load but
// loses the SLO at 2 req/s; B (2 GPUs) holds it to 3 req/s, so B ranks first by SLO capacity
// per GPU (1.56 vs 1.2). The findings, the slo_rate caption and the Pareto caption must all
// give that one ranking, read from crossover.json.
Deno.test("findings, slo_rate and pareto give the same ranking when ranks differ by metric", async () => {
  const root = await Deno.makeTempDir();
  try {
    const r = (n: number, v: number) => new Array(n).fill(v);
    await writeRun(root, "20250101-000001-a1", "A", 1, 1, r(10, 50));
    await writeRun(root, "20250101-000002-a2", "A", 2, 1, [...r(5, 50), ...r(5, 900)]);
    await writeRun(root, "20250101-000003-a3", "A", 3, 1, r(10, 900));
    await writeRun(root, "20250101-000004-a4", "A", 4, 1, r(10, 900));
    for (const [i, rate] of [1, 2, 3, 4].entries()) {
      const ttft = rate < 4 ? r(10, 60) : [...r(2, 60), ...r(8, 900)];
      await writeRun(root, `20250101-00001${i}-b${rate}`, "B", rate, 2, ttft);
    }
    const exp = join(root, "exp");
    const c = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        join(ROOT, "tasks/compare/compare.ts"),
        exp,
        "--out",
        exp,
        "--slo",
        "ttft:500",
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(c.code, 0, new TextDecoder().decode(c.stderr));
    const j = JSON.parse(await Deno.readTextFile(join(exp, "crossover.json")));
    assert.deepEqual(j.ranking.topologies.map((t: { topology: string }) => t.topology), ["B", "A"]);
    const findings = await Deno.readTextFile(join(exp, "findings.md"));
    const first = findings.split("\n").find((l) => l.startsWith("- "))!;
    assert.match(first, /^- Recommendation \(2 GPUs, TTFT ≤ 500 ms for 90% of requests\): use B /);
    const rankLine = findings.split("\n").find((l) => l.includes("Ranking by SLO capacity"))!;
    const summary = /\): (1\. B .* req\/s per GPU)\. In all/.exec(rankLine)?.[1];
    assert.ok(summary, rankLine);
    assert.match(summary, /^1\. B 1\.56, 2\. A 1\.2 \(B 1\.30×, not resolved\)/);

    await plot(exp, { formats: ["svg"], only: ["slo_rate", "pareto"] });
    const html = await Deno.readTextFile(join(exp, "report.html"));
    const specs = [...html.matchAll(/data-figure="(slo_rate|pareto)">(.*?)<\/script>/gs)]
      .map((m) => [m[1], JSON.parse(m[2]).title.subtitle.join(" ") as string] as const);
    assert.equal(specs.length, 2);
    for (const [name, spec] of specs) {
      assert.ok(spec.includes(summary), `${name} ranks as findings`);
    }
    // and no figure or finding ranks A first
    assert.ok(!html.includes("1. A "), "A is never ranked first");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
