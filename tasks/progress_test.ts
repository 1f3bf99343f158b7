import assert from "node:assert/strict";
import { join } from "node:path";
import { stringify as stringifyYaml } from "yaml";
import { loadExperiment, ROOT } from "./_experiment.ts";
import { runPipeline } from "./pipeline.ts";
import { rateUnit, sweepPointDone } from "./_sweep_progress.ts";

const fixture = (f: string) => join(ROOT, "fixtures/topologies", f);

async function experiment(dir: string, doc: Record<string, unknown>): Promise<string> {
  const p = join(dir, "prog.yaml");
  await Deno.writeTextFile(p, stringifyYaml({ name: "prog", plots: { formats: ["svg"] }, ...doc }));
  return p;
}

Deno.test({
  name:
    "progress: a non-terminal `deno task predict` at 2 rates prints a k-of-N line per point as it finishes, then its result",
}, async () => {
  const dir = await Deno.makeTempDir({ prefix: "topobench_progress_" });
  try {
    const file = await experiment(dir, {
      topologies: [{ label: "agg", file: fixture("sim_agg.yaml") }],
      workload: {
        endpoint: "/v1/chat/completions",
        dataset: "multiturn",
        preset: "W1",
        turns: 2,
        "think-time": 200,
        duration: 5,
        seed: 2,
      },
      sweep: { rates: [1, 2] },
    });
    // stderr and stdout through one pipe: the order they were written in
    const cmd =
      `exec "${Deno.execPath()}" run -A tasks/predict.ts "${file}" --out "${dir}" --no-plot 2>&1`;
    const out = await new Deno.Command("sh", { args: ["-c", cmd], cwd: ROOT, stdout: "piped" })
      .output();
    const text = new TextDecoder().decode(out.stdout);
    assert.equal(out.code, 0, text);
    const lines = text.trimEnd().split("\n");
    const at = (re: RegExp) => lines.findIndex((l) => re.test(l));
    const first = at(
      /\] agg-r1: done 1 of 2, 1 conv\/s, throughput [\d.]+ req\/s, p90 TTFT [\d.]+ ms, simulated [\d.]+ s, [\d.]+ m?s wall(, ETA \d+ s)? \(/,
    );
    const second = at(/\] agg-r2: done 2 of 2, 2 conv\/s, throughput [\d.]+ req\/s, p90 TTFT/);
    assert.ok(first >= 0 && second > first, text);
    assert.equal(lines.at(-1), join(dir, "prog"), "the result comes last");
    assert.ok(!text.includes("\x1b[K"), "no status line without a terminal");
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});

Deno.test({
  name:
    "progress: a pipeline counts topologies x points, and a sweep that stops early takes its skipped points off the total",
}, async () => {
  const dir = await Deno.makeTempDir({ prefix: "topobench_progress_" });
  try {
    const file = await experiment(dir, {
      topologies: [
        { label: "agg", file: fixture("sim_agg.yaml") },
        { label: "pd", file: fixture("sim_pd_1p1d.yaml") },
      ],
      workload: { dataset: "random", "num-requests": 6, seed: 1 },
      // every point is over the ceiling: each topology stops after its first rate
      sweep: { rates: [2, 4, 8], stop: { max_p99_ttft_ms: 0.001 } },
    });
    const logs: string[] = [];
    await runPipeline(await loadExperiment(file), {
      outRoot: dir,
      plot: false,
      statusLine: false,
      workers: 1, // one after the other: the totals each line reads are in a fixed order
      log: (l) => logs.push(l),
    });
    const points = logs.filter((l) => / done \d/.test(l));
    assert.deepEqual(
      points.map((l) => /^\S+ done \d+ of \d+/.exec(l)?.[0]),
      ["agg-r2: done 1 of 6", "pd-r2: done 2 of 4"],
      logs.join("\n"),
    );
    assert.ok(points.every((l) => l.includes("; stop: p99 TTFT")), points.join("\n"));
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});

Deno.test("progress: a sweep point's line reads its first run and sums the simulated time of its runs", () => {
  const run = (id: string, extra: Record<string, unknown>) => ({
    run_id: id,
    simulated: true,
    duration: 30,
    ...extra,
  });
  const done = sweepPointDone("pd-r4", 4, { dataset: "sharegpt-multiturn" }, {
    resumed: false,
    summaries: [
      run("a", { request_throughput: 9.5, p90_ttft_ms: 80 }),
      run("a", { duration: 12 }), // a request class of run a
      run("b", { request_throughput: 9.1 }),
    ],
  }, "(dir)");
  assert.deepEqual(done, {
    label: "pd-r4",
    resumed: false,
    target: "4 conv/s",
    achievedRps: 9.5,
    p90TtftMs: 80,
    simulatedS: 60,
    ownWallMs: null,
    detail: "(dir)",
  });
  assert.equal(rateUnit({ dataset: "random" }), "req/s");
  const live = sweepPointDone("agg-r1", 1, {}, { resumed: true, summaries: [{ duration: 5 }] }, "");
  assert.equal(live.simulatedS, null, "a live run has no simulated time");
  const pooled = sweepPointDone(
    "agg-r2",
    2,
    {},
    { resumed: false, summaries: [], wallMs: 480 },
    "",
  );
  assert.equal(pooled.ownWallMs, 480, "a point a worker ran ahead keeps its own wall time");
});
