import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { startReady } from "../../lib/ready_process.ts";
import { readMerged } from "../../lib/merged_schema.ts";
import { mean, percentile } from "../../lib/stats.ts";
import { ci95, t975 } from "../../lib/metrics.ts";
import { mergeRuns } from "./merge.ts";
import { parseCsv } from "../../lib/csv.ts";
import { REQUEST_COLUMNS } from "../../lib/result_schema.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

async function bench(url: string, out: string, topology: string): Promise<string> {
  const o = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      join(ROOT, "bench/run.ts"),
      "--url",
      url,
      "--rate",
      "20",
      "--num-requests",
      "12",
      "--input-len",
      "64",
      "--output-len",
      "16",
      "--out",
      out,
      "--topology",
      topology,
      "--runs",
      "2",
      "--gpus",
      "2",
      "--slo",
      "ttft:40,tpot:5",
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(o.stdout).trim().split("\n");
  assert.equal(o.code, 0, new TextDecoder().decode(o.stderr));
  return text[text.length - 1];
}

Deno.test("merge: real bench runs on the sim, recomputed per run, mean and CI across runs", async () => {
  const sim = await startReady({
    cmd: Deno.execPath(),
    args: ["run", "-A", join(ROOT, "launch/sim/live/main.ts"), "--port", "0", "--speed", "100"],
    ready: /Starting vLLM API server 0 on (http:\/\/\S+)/,
  });
  const dir = await Deno.makeTempDir();
  try {
    const url = sim.match[1];
    const [a, b] = await Promise.all([
      bench(url, join(dir, "exp", "agg"), "agg"),
      bench(url, join(dir, "exp", "pd"), "pd"),
    ]);
    const out = join(dir, "merged.csv");
    const cmd = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", join(ROOT, "tasks/merge/merge.ts"), join(dir, "exp", "*"), "--out", out],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(cmd.code, 0, new TextDecoder().decode(cmd.stderr));
    const rows = await readMerged(out);
    assert.equal(rows.length, 6);
    for (const [runDir, topo] of [[a, "agg"], [b, "pd"]]) {
      const mine = rows.filter((r) => r.topology === topo);
      const per = mine.filter((r) => r.run_index !== "mean");
      const agg = mine.find((r) => r.run_index === "mean")!;
      assert.equal(per.length, 2);
      const summaries = JSON.parse(await Deno.readTextFile(join(runDir, "summary.json")));
      for (const [k, r] of per.entries()) {
        const s = summaries[k];
        assert.equal(r.run_id, s.run_id);
        assert.equal(r.completed, s.completed);
        for (
          const m of [
            "request_throughput",
            "p99_ttft_ms",
            "median_tpot_ms",
            "p90_itl_ms",
            "mean_e2el_ms",
            "slo_attainment",
          ]
        ) {
          assert.ok(Math.abs((r[m] as number) - s[m]) <= 0.002, `${m}: ${r[m]} vs ${s[m]}`);
        }
        assert.ok(
          Math.abs(
            (r.request_throughput_per_gpu as number) - (r.request_throughput as number) / 2,
          ) < 1e-5,
        );
      }
      // each load point also as vLLM's --save-result file, which merges to the same numbers
      const files = [...Deno.readDirSync(join(runDir, "vllm"))].map((e) =>
        join(runDir, "vllm", e.name)
      )
        .sort((x, y) => Number(/-(\d+)\.json$/.exec(x)![1]) - Number(/-(\d+)\.json$/.exec(y)![1]));
      assert.equal(files.length, 2);
      for (const [k, f] of files.entries()) {
        const v = (await mergeRuns([f])).rows.find((r) => r.run_index === 1)!;
        assert.equal(v.source, "vllm-json");
        assert.equal(v.completed, per[k].completed);
        // (its duration is summary.json's, to the millisecond)
        const tv = v.request_throughput as number;
        assert.ok(Math.abs(tv / (per[k].request_throughput as number) - 1) < 0.005, `${tv}`);
        for (const m of ["p99_ttft_ms", "mean_itl_ms"]) {
          assert.ok(
            Math.abs((v[m] as number) - (per[k][m] as number)) <= 0.01,
            `vllm ${m}: ${v[m]} vs ${per[k][m]}`,
          );
        }
        // vLLM's file has no per-request E2E (no `latencies` key): E2E is rebuilt as
        // TTFT + the gaps, which ends at the last token, never after our end of stream
        for (const m of ["median_tpot_ms", "mean_e2el_ms"]) {
          assert.ok(
            (v[m] as number) <= (per[k][m] as number) + 0.01,
            `vllm ${m}: ${v[m]} vs ${per[k][m]}`,
          );
        }
      }
      const thr = per.map((r) => r.request_throughput as number);
      assert.ok(Math.abs((agg.request_throughput as number) - mean(thr)) < 1e-5);
      const h = t975(1) * Math.abs(thr[0] - thr[1]) / Math.sqrt(2) / Math.sqrt(2);
      assert.ok(Math.abs((agg.request_throughput_ci95 as number) - h) < 1e-4 * Math.max(1, h));
      assert.equal(agg.n_runs, 2);
      assert.equal(agg.rate_target, 20);
    }
  } finally {
    await sim.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("ci95 by hand: t(0.975, 2) * s / sqrt(n)", () => {
  assert.ok(Math.abs(ci95([1, 2, 3]) - 4.303 / Math.sqrt(3)) < 1e-9);
  assert.ok(Number.isNaN(ci95([5])));
  assert.equal(t975(1000), 1.96);
});

Deno.test("merge: vLLM JSON recomputed from its arrays; other models never pool; unlike repeats refused", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.mkdir(join(dir, "vllm", "agg"), { recursive: true });
    const src = join(ROOT, "fixtures/logs/vllm_result_old.json");
    const j = JSON.parse(await Deno.readTextFile(src));
    await Deno.writeTextFile(join(dir, "vllm", "agg", "r2.json"), JSON.stringify(j));
    const { rows } = await mergeRuns([join(dir, "vllm", "agg", "r2.json")], {
      slo: { ttftMs: 250 },
    });
    const r = rows[0];
    // ttfts 100/200/300 ms, 4th request failed; tpot = sum(itls)/(out-1)
    assert.deepEqual([r.completed, r.failed, r.success_rate], [3, 1, 0.75]);
    assert.equal(r.mean_ttft_ms, 200);
    assert.ok(Math.abs((r.mean_tpot_ms as number) - mean([20, 20, 50])) < 1e-9);
    assert.ok(Math.abs((r.p99_tpot_ms as number) - percentile([20, 20, 50], 99)) < 1e-9);
    assert.equal(r.request_throughput, 3 / 2);
    assert.equal(r.slo_attainment, 2 / 4); // 100 and 200 meet 250 ms; the failure is a miss
    assert.deepEqual([r.topology, r.source, r.rate_target], ["agg", "vllm-json", 2]);
    j.model_id = "other/model";
    await Deno.writeTextFile(join(dir, "vllm", "agg", "r3.json"), JSON.stringify(j));
    const two = await mergeRuns([join(dir, "vllm", "agg", "*.json")]);
    assert.equal(two.rows.filter((x) => x.run_index === "mean").length, 2); // one point per model
    j.model_id = r.model;
    j.gpus = 4;
    await Deno.writeTextFile(join(dir, "vllm", "agg", "r3.json"), JSON.stringify(j));
    await assert.rejects(
      () => mergeRuns([join(dir, "vllm", "agg", "*.json")]),
      /Cannot pool .*r3\.json with .*r2\.json as repeats of agg .*gpus is 4/,
    );
    const forced = await mergeRuns([join(dir, "vllm", "agg", "*.json")], { force: true });
    assert.equal(forced.rows.length, 3);
    await assert.rejects(() => mergeRuns([join(dir, "nope-*")]), /matches nothing/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("merge: a run whose requests.csv has only its header is merged from summary.json, with a warning", async () => {
  const root = await Deno.makeTempDir();
  try {
    const run = join(root, "exp", "20250101-000000-agg");
    await Deno.mkdir(join(root, "exp", ".state"), { recursive: true });
    await Deno.writeTextFile(join(root, "exp", ".state", "router.json"), "{}");
    await Deno.mkdir(run, { recursive: true });
    await Deno.writeTextFile(
      join(run, "config.json"),
      JSON.stringify({ topology: "agg", model: "m" }),
    );
    await Deno.writeTextFile(
      join(run, "summary.json"),
      JSON.stringify([{
        run_id: "r1",
        load_point: "2",
        num_prompts: 5,
        completed: 5,
        failed: 0,
        rate_target: 2,
        mean_ttft_ms: 42,
        complete: true,
      }]),
    );
    await Deno.writeTextFile(join(run, "requests.csv"), REQUEST_COLUMNS.join(",") + "\n");
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        join(ROOT, "tasks/merge/merge.ts"),
        join(root, "exp"),
        "--out",
        join(root, "m.csv"),
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const err = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, err);
    assert.match(
      err,
      /warning: .*20250101-000000-agg: requests\.csv has no rows for run r1 \(summary says 5 sent\)/,
    );
    const m = parseCsv(await Deno.readTextFile(join(root, "m.csv")), "m.csv");
    assert.equal(Number(m.find((r) => r.run_index === "mean")!.mean_ttft_ms), 42);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("merge CLI: vLLM, GuideLLM and AIPerf example files side by side in one merged.csv, each tool's numbers", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const out = join(dir, "merged.csv");
    const peers = join(ROOT, "fixtures/peers");
    const o = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        join(ROOT, "tasks/merge/merge.ts"),
        join(peers, "vllm-bench"),
        join(peers, "guidellm-0.8/benchmarks.json"),
        join(peers, "aiperf-0.8"),
        "--out",
        out,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(o.code, 0, new TextDecoder().decode(o.stderr));
    const rows = (await readMerged(out)).filter((r) => r.run_index === 1);
    // GuideLLM's report holds two load points (rate 2 and 4): compare the first
    const by = new Map(rows.filter((r) => r.load_point !== "4").map((r) => [r.source, r]));
    assert.deepEqual([...by.keys()].sort(), ["aiperf", "guidellm", "vllm-json"]);
    const near = (a: unknown, b: number) => Math.abs(Number(a) - b) < 1e-3;
    // vLLM: 3 requests, ttfts 46/42/51 ms, completed / duration 3 / 1.0361 s
    const v = by.get("vllm-json")!;
    assert.deepEqual([v.completed, v.failed, v.model], [3, 0, "Qwen/Qwen3-0.6B"]);
    assert.ok(near(v.mean_ttft_ms, (46 + 42 + 51) / 3) && near(v.request_throughput, 3 / 1.0361));
    // GuideLLM 0.8 (real run, requests not listed): its own statistics of 2 requests at rate 2 in
    // its duration 5.01964807510376 s; mean TTFT 11.4812 ms, mean ITL 1.15085 ms (its metrics)
    const g = by.get("guidellm")!;
    assert.deepEqual([g.completed, g.failed, g.rate_target, g.model], [2, 0, 2, "e2e-mock-model"]);
    assert.ok(near(g.mean_ttft_ms, 11.481165885925293), String(g.mean_ttft_ms));
    assert.ok(near(g.request_throughput, 2 / 5.01964807510376), String(g.request_throughput));
    assert.ok(near(g.mean_itl_ms, 1.1508464813232422), String(g.mean_itl_ms));
    assert.equal(rows.filter((r) => r.source === "guidellm").length, 2);
    // AIPerf 0.8 (real run): 64 valid records at concurrency 4; its benchmark_duration 0.034502655 s
    const a = by.get("aiperf")!;
    assert.deepEqual([a.completed, a.failed, a.model, a.load_point], [64, 0, "mock-model", "c4"]);
    assert.ok(near(a.request_throughput, 64 / 0.034502655), String(a.request_throughput));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
