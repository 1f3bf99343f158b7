import assert from "node:assert/strict";
import { join } from "node:path";
import { stringify as stringifyYaml } from "yaml";
import { loadTopology } from "../../launch/topology.ts";
import { CostModel, defaultLinkGBps } from "../../launch/sim/core/cost_model.ts";
import { resolveGpu, resolveModel } from "../../launch/sim/core/profiles.ts";
import { connectorKvCost, KvLink } from "../../launch/sim/core/kv_link.ts";
import { parseCsv } from "../../lib/csv.ts";
import { ROOT } from "../_experiment.ts";
import { readSummaries } from "../_bench_cmd.ts";
import { predictFlags } from "./run_point.ts";
import { DEFAULT_ROUTER_HOP_MS } from "./virtual_topology.ts";
import { main } from "../predict.ts";

const fixture = (f: string) => join(ROOT, "fixtures/topologies", f);

Deno.test({
  name: "predict: the same experiment twice in virtual time gives byte-identical files",
}, async () => {
  const dir = await Deno.makeTempDir({ prefix: "topobench_predict_" });
  try {
    const exp = join(dir, "tiny.yaml");
    await Deno.writeTextFile(
      exp,
      stringifyYaml({
        name: "tiny",
        topologies: [
          { label: "agg", file: fixture("sim_agg.yaml") },
          { label: "pd", file: fixture("sim_pd_1p1d.yaml") },
          { label: "ppd", file: fixture("sim_ppd_1p1d.yaml") },
        ],
        workload: {
          endpoint: "/v1/chat/completions",
          dataset: "multiturn",
          preset: "W1",
          turns: 2,
          "think-time": 500,
          duration: 20,
          seed: 3,
        },
        sweep: { rates: [1, 3] },
        plots: { formats: ["svg"] },
      }),
    );
    const files: string[][] = [];
    for (const out of ["a", "b"]) {
      const args = [
        exp,
        "--out",
        join(dir, out),
        "--start-time",
        "2026-01-02T03:04:05Z",
        "--no-plot",
      ];
      assert.equal(await main(args), 0);
      const expDir = join(dir, out, "tiny");
      const runs = [...Deno.readDirSync(expDir)].filter((e) => /^\d{8}-\d{6}-/.test(e.name))
        .map((e) => e.name).sort();
      assert.equal(runs.length, 6);
      const contents: string[] = [];
      for (const r of runs) {
        for (const f of ["requests.csv", "summary.json"]) {
          contents.push(await Deno.readTextFile(join(expDir, r, f)));
        }
        const cfg = JSON.parse(await Deno.readTextFile(join(expDir, r, "config.json")));
        assert.equal(cfg.clock, "virtual");
        assert.equal(cfg.simulated, true);
      }
      files.push(contents);
    }
    assert.deepEqual(files[0], files[1]);
    assert.ok(files[0][0].split("\n").length > 20, "rows were written");
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});

const point = async (
  file: string,
  dir: string,
  flags: Record<string, string | number | string[]>,
  simArgs: string[] = [],
) => {
  const topo = await loadTopology(fixture(file));
  topo.sim.extraArgs.push(...simArgs);
  const r = await predictFlags(topo, {
    endpoint: "/v1/completions",
    dataset: "random",
    seed: 1,
    topology: file,
    out: join(dir, file),
    ...flags,
  });
  const [s] = await readSummaries(r.runDir!);
  return { s, runDir: r.runDir! };
};

Deno.test("predict: past saturation TTFT and queueing grow while throughput plateaus (agg)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "topobench_predict_" });
  try {
    const rates = [4, 16, 40, 80];
    const out = [];
    for (const rate of rates) {
      out.push(
        (await point("sim_agg.yaml", dir, {
          rate,
          duration: 30,
          "input-len": 2048,
          "output-len": 256,
        })).s,
      );
    }
    const thr = out.map((s) => s.request_throughput as number);
    const ttft = out.map((s) => s.median_ttft_ms as number);
    // below saturation the server keeps up with the offered rate
    assert.ok(Math.abs(thr[0] - 4) / 4 < 0.25, `throughput ${thr[0]} at 4/s`);
    // past it: throughput flat (within 15%) while TTFT keeps growing
    assert.ok(Math.abs(thr[3] - thr[2]) / thr[2] < 0.15, `plateau ${thr}`);
    assert.ok(thr[3] < 0.7 * 80, `cannot serve 80/s: ${thr}`);
    for (let i = 1; i < ttft.length; i++) assert.ok(ttft[i] > ttft[i - 1], `TTFT grows: ${ttft}`);
    assert.ok(ttft[3] > 10 * ttft[0], `queueing dominates past saturation: ${ttft}`);
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});

Deno.test("predict: PD's extra TTFT at low load is the modelled hop + decode frontend + KV transfer (+ its first decode step)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "topobench_predict_" });
  try {
    const flags = { rate: 0.5, "num-requests": 40, "input-len": 4000, "output-len": 8 };
    // without step noise, so the difference is the model's terms alone
    const agg = await point("sim_agg.yaml", dir, flags, ["--jitter", "0"]);
    const pd = await point("sim_pd_1p1d.yaml", dir, flags, ["--jitter", "0"]);
    const rows = async (d: string) =>
      parseCsv(await Deno.readTextFile(join(d, "requests.csv")), d).map((r) => ({
        ttft: Number(r.ttft_ms),
        prompt: Number(r.prompt_tokens),
      }));
    const a = await rows(agg.runDir), p = await rows(pd.runDir);
    const mean = (xs: number[]) => xs.reduce((x, y) => x + y, 0) / xs.length;
    const extra = mean(p.map((r) => r.ttft)) - mean(a.map((r) => r.ttft));
    const n = Math.round(mean(p.map((r) => r.prompt)));
    const cost = new CostModel({ gpu: resolveGpu("h100"), model: resolveModel("llama-3.1-8b") });
    const nixl = connectorKvCost("NixlConnector");
    const nv = new KvLink(cost, defaultLinkGBps(nixl.link), nixl.latencyMs, nixl.perBlockUs);
    // the decode instance's own API server pass, the hop, the KV transfer and one step
    const modelled = DEFAULT_ROUTER_HOP_MS + cost.frontendMs(n) + nv.aloneMs(n) +
      cost.stepMs([{ newTokens: 1, contextTokens: n - 1 }]);
    assert.ok(
      Math.abs(extra - modelled) / modelled < 0.05,
      `PD extra TTFT ${extra.toFixed(3)} ms vs modelled ${modelled.toFixed(3)} ms`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});

Deno.test("predict: a Mooncake trace replays on the virtual clock at its own times (sped up)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "topobench_predict_" });
  try {
    const trace = join(ROOT, "fixtures/traces/mooncake_sample.jsonl");
    const lines = (await Deno.readTextFile(trace)).trim().split("\n").map((l) => JSON.parse(l));
    const span = lines.at(-1).timestamp - lines[0].timestamp;
    const { s, runDir } = await point("sim_agg.yaml", dir, {
      dataset: "mooncake",
      "dataset-path": trace,
      "trace-speedup": 2,
    });
    assert.equal(s.completed, lines.length);
    const rows = parseCsv(await Deno.readTextFile(join(runDir, "requests.csv")));
    const sched = rows.map((r) => Number(r.scheduled_ms)).sort((a, b) => a - b);
    assert.ok(Math.abs(sched.at(-1)! - span / 2) < 1e-6, `${sched.at(-1)} vs ${span / 2}`);
    assert.deepEqual(
      rows.map((r) => Number(r.prompt_tokens)).sort((a, b) => a - b),
      lines.map((l) => l.input_length + 1).sort((a, b) => a - b), // + BOS
    );
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});

Deno.test("predict: request classes on the virtual clock, rows and a summary per class", async () => {
  const dir = await Deno.makeTempDir({ prefix: "topobench_predict_" });
  try {
    const { s, runDir } = await point("sim_agg.yaml", dir, {
      duration: 20,
      class: ["a:rate=2,input-len=64", "b:rate=3,input-len=256"],
    });
    const all = await readSummaries(runDir);
    assert.deepEqual(all.map((x) => x.class), ["", "a", "b"]);
    assert.equal(s.completed, Number(all[1].completed) + Number(all[2].completed));
    const rows = parseCsv(await Deno.readTextFile(join(runDir, "requests.csv")));
    assert.ok(rows.every((r) => (r.class === "a") === (r.prompt_tokens === "64")));
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
