import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { parseFiles } from "./parse.ts";
import { parseStatsLine } from "./_parse_stats_line.ts";
import { BenchBlock } from "./_parse_bench_block.ts";
import { readCsv } from "../../lib/csv.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const LOGS = join(ROOT, "fixtures/logs");
const fx = (n: string) => join(LOGS, n);

Deno.test("stats lines: v1 heads, ANSI, aggregated, optional fields, sim", async () => {
  const p = await parseFiles([fx("vllm_server_v1.log")]);
  assert.equal(p.stats.length, 6);
  const [plain, pid, ansi, agg, corrupted, sim] = p.stats;
  assert.deepEqual(
    [plain.timestamp, plain.engine, plain.prompt_tps, plain.gen_tps, plain.running, plain.waiting],
    ["08-04 10:00:00", "000", 1234.5, 456.7, 12, 3],
  );
  assert.deepEqual([plain.kv_usage_pct, plain.prefix_hit_pct, plain.preemptions], [
    45.6,
    12.3,
    null,
  ]);
  assert.deepEqual([pid.process, pid.pid], ["APIServer", 123]);
  assert.deepEqual(
    [ansi.pid, ansi.engine, ansi.preemptions, ansi.external_prefix_hit_pct, ansi.mm_hit_pct],
    [123, "001", 3, 5, 1],
  );
  assert.deepEqual([agg.engine, agg.engines, agg.running], ["aggregated", 2, 4]);
  assert.equal(corrupted.corrupted, 0);
  assert.deepEqual([sim.simulated, sim.timestamp, sim.prompt_tps], [true, "11-22 14:03:07", 820.3]);
  assert.equal(p.skipped.length, 1);
  assert.equal(p.skipped[0].line, 10);
  assert.match(p.skipped[0].reason, /cannot read field/);
});

Deno.test("stats lines: v0 wording (Swapped, Pending, CPU KV, GPU/CPU prefix hit, trailing dot)", async () => {
  const p = await parseFiles([fx("vllm_server_v0.log")]);
  assert.equal(p.stats.length, 3);
  const [, busy, prefix] = p.stats;
  assert.deepEqual(
    [busy.running, busy.swapped, busy.waiting, busy.kv_usage_pct, busy.cpu_kv_usage_pct],
    [5, 1, 2, 33.3, 4],
  );
  assert.deepEqual([prefix.prefix_hit_pct, prefix.cpu_prefix_hit_pct], [61.5, 0]);
  assert.deepEqual(p.skipped.map((s) => [s.line, /Frobnication/.test(s.reason)]), [[6, true]]);
});

Deno.test("stats line: wrong unit and missing fields are reasons, not rows", () => {
  const bad = parseStatsLine(
    "Avg prompt throughput: 1.0 reqs, Avg generation throughput: 1 tokens/s",
    "f",
    1,
  );
  assert.equal(typeof bad, "string");
  const missing = parseStatsLine("Avg prompt throughput: 1.0 tokens/s", "f", 1);
  assert.match(missing as string, /missing field gen_tps/);
});

Deno.test("result blocks: old and new wordings, context rate/concurrency, bad rows reported", async () => {
  const p = await parseFiles([fx("vllm_bench_sweep.log")]);
  assert.equal(p.bench.length, 3);
  const [old, nu, conc] = p.bench;
  assert.deepEqual(
    [old.request_rate, old.completed, old.failed, old.total_token_throughput, old.p99_ttft_ms],
    [4, 100, null, 2549.8, 120.5],
  );
  assert.equal(old.mean_e2el_ms, null);
  assert.deepEqual(
    [
      nu.request_rate,
      nu.failed,
      nu.request_goodput,
      nu.max_output_tokens_per_s,
      nu.total_token_throughput,
    ],
    [8, 2, 7.1, 1400, 4969.41],
  );
  assert.deepEqual([nu.p90_ttft_ms, nu.p95_ttft_ms, nu.median_e2el_ms], [150, 180, 2300]);
  assert.deepEqual([conc.max_concurrency, conc.request_rate, conc.output_throughput], [
    16,
    null,
    null,
  ]);
  assert.deepEqual(
    p.skipped.map((s) => s.line),
    [66, 69, 72],
  );
  assert.match(p.skipped[2].reason, /not closed/);
});

Deno.test("our bench block, router lines and old vLLM JSON with request_goodput:", async () => {
  const p = await parseFiles([fx("topobench_bench.log"), fx("vllm_result_old.json")]);
  const [ours, json] = p.bench;
  assert.deepEqual(
    [ours.source, ours.rate_target, ours.rate_achieved, ours.request_rate, ours.complete],
    ["topobench", 4, 3.95, 4, false],
  );
  assert.deepEqual([ours.send_lag_p50_ms, ours.send_lag_p99_ms, ours.send_lag_max_ms], [
    0.1,
    0.9,
    2.5,
  ]);
  assert.equal(ours.slo_attainment, 0.9);
  assert.deepEqual([json.source, json.request_goodput, json.request_rate], ["vllm-json", 1, 2]);
  assert.deepEqual(p.router.map((r) => r.event), [
    "start",
    "backend_out",
    "backend_in",
    "mode",
    "stop",
  ]);
  assert.equal(p.router[1].backend, "d0");
  assert.deepEqual(p.skipped.map((s) => s.line), [43]);
});

Deno.test("parse CLI: one CSV per kind, file:line on stderr, exit code 2", async () => {
  const dir = await Deno.makeTempDir();
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      join(ROOT, "tasks/parse/parse.ts"),
      fx("vllm_server_v1.log"),
      fx("vllm_bench_sweep.log"),
      "--out",
      join(dir, "o.csv"),
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 2);
  const err = new TextDecoder().decode(out.stderr);
  assert.match(err, /vllm_server_v1\.log:10: skipped/);
  assert.match(err, /vllm_bench_sweep\.log:69: skipped: unknown row/);
  const stats = await readCsv(join(dir, "o.stats.csv"));
  const bench = await readCsv(join(dir, "o.bench.csv"));
  assert.equal(stats.length, 6);
  assert.equal(bench.length, 3);
  assert.equal(bench[1].request_rate, "8");
  const clean = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      join(ROOT, "tasks/parse/parse.ts"),
      fx("vllm_result_old.json"),
      "--out",
      join(dir, "j.csv"),
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(clean.code, 0);
  assert.equal((await readCsv(join(dir, "j.csv")))[0].completed, "3");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("parse: a bench block's SLO attainment in percent (today's) and as a fraction (older blocks) give the same column", () => {
  const row = (line: string) => {
    const b = new BenchBlock("f", 1, {});
    b.feed(line, 2);
    assert.deepEqual(b.issues, []);
    return b.row.slo_attainment;
  };
  assert.equal(row("SLO attainment (%):                     97.5"), 0.975);
  assert.equal(row("SLO attainment:                          0.975"), 0.975);
});

Deno.test("parse: a bench block's TTFT from schedule and its BEHIND SCHEDULE / SATURATED flags are columns, not skipped rows", () => {
  const b = new BenchBlock("f", 1, {});
  b.feed("TTFT from schedule p50/p99 (ms):         978.52 / 4247.255", 2);
  b.feed("BEHIND SCHEDULE: send lag p99 > 5 ms (the client or its host could not keep up)", 3);
  b.feed(
    "SATURATED: stopped over-saturated at 19.0 s: 750 in flight; requests in flight failed",
    4,
  );
  assert.deepEqual(b.issues, []);
  assert.deepEqual(
    [b.row.ttft_from_scheduled_p50_ms, b.row.ttft_from_scheduled_p99_ms],
    [978.52, 4247.255],
  );
  assert.deepEqual([b.row.client_saturated, b.row.saturated], [true, true]);
});
