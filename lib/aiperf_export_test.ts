/**
 * AIPerf's real exports (fixtures/peers/README.md names their repository,
 * path and commit), read through `inputsOf` as merge reads them. Expected
 * values were computed from the files with Python, not with this code.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { inputsOf } from "./run_inputs.ts";
import type { RunInput } from "./run_rows.ts";

const PEERS = fileURLToPath(new URL("../fixtures/peers", import.meta.url));
const OCT = join(PEERS, "aiperf-2025-10");
const V08 = join(PEERS, "aiperf-0.8");
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const near = (a: number, b: number) => Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b));

async function one(path: string): Promise<RunInput> {
  const got = await inputsOf(path, null);
  assert.equal(got.length, 1);
  return got[0];
}

async function inTemp(files: Record<string, string>, fn: (dir: string) => Promise<void>) {
  const dir = await Deno.makeTempDir();
  try {
    for (const [name, text] of Object.entries(files)) {
      await Deno.writeTextFile(join(dir, name), text);
    }
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("AIPerf's October 2025 example export (timestamp_ns, ttft, records.<tag>) is read with its model, load and counts", async () => {
  const r = await one(join(OCT, "profile_export.jsonl"));
  // python3: 100 lines, 89 without "error"; input_config.endpoint.model_names[0], loadgen.concurrency 100
  assert.deepEqual([r.model, r.loadPoint, r.maxConcurrency, r.rateTarget], [
    "openai/gpt-oss-20b",
    "c100",
    100,
    null,
  ]);
  const rows = r.rows!;
  const ok = rows.filter((x) => x.status === 200);
  assert.deepEqual([rows.length, ok.length], [100, 89]);
  assert.ok(rows.filter((x) => x.status !== 200).every((x) => x.status === 499));
  // python3 over the ok lines: mean metrics.ttft.value 2343.219436988764 (= records.ttft.avg),
  // mean request_latency 9059.654633033708, sum output_sequence_length 21624 (= total_osl)
  assert.ok(near(mean(ok.map((x) => x.ttft_ms!)), 2343.219436988764));
  assert.ok(near(mean(ok.map((x) => x.e2e_ms)), 9059.654633033708));
  assert.equal(ok.reduce((a, x) => a + x.output_tokens, 0), 21624);
  assert.equal(r.durationS, 9.317788951); // records.benchmark_duration, unit sec
  assert.equal(r.complete, true);
});

Deno.test("AIPerf 0.8 (models.items, phases) and its profile_export_records.csv are read with model, concurrency and counts", async () => {
  const r = await one(join(V08, "profile_export_records.csv"));
  // input_config.models.items[0].name; input_config.phases[0] = concurrency 4, 64 requests
  assert.deepEqual([r.model, r.loadPoint, r.maxConcurrency, r.rateTarget], [
    "mock-model",
    "c4",
    4,
    null,
  ]);
  const rows = r.rows!;
  assert.equal(rows.filter((x) => x.status === 200).length, 64);
  // python3 csv.DictReader: mean "request_latency (ms)" 1.516323, sum output_sequence_length 35277,
  // every input_sequence_length 550; the run was not streamed: no TTFT column values
  assert.ok(near(mean(rows.map((x) => x.e2e_ms)), 1.516323));
  assert.equal(rows.reduce((a, x) => a + x.output_tokens, 0), 35277);
  assert.ok(rows.every((x) => x.prompt_tokens === 550 && x.ttft_ms === null));
  assert.equal(r.durationS, 0.034502655);
});

Deno.test('AIPerf 0.8 profile_export.jsonl beside its summary keeps the model and load point (not "" and 1)', async () => {
  // the same 64 records as AIPerf 0.8 writes them to profile_export.jsonl (the fixture's run kept the CSV)
  const csv = (await Deno.readTextFile(join(V08, "profile_export_records.csv"))).trim().split("\n");
  const head = csv[0].split(",");
  const lines = csv.slice(1).map((l) => {
    const c = Object.fromEntries(l.split(",").map((v, i) => [head[i], v]));
    const m = (v: string, unit: string) => ({ value: Number(v), unit });
    return JSON.stringify({
      metadata: {
        x_request_id: c.x_request_id,
        conversation_id: c.conversation_id,
        turn_index: 0,
        request_start_ns: Number(c.request_start_ns),
        request_end_ns: Number(c.request_end_ns),
        benchmark_phase: "profiling",
        was_cancelled: false,
      },
      metrics: {
        request_latency: m(c["request_latency (ms)"], "ms"),
        output_sequence_length: m(c["output_sequence_length (tokens)"], "tokens"),
        input_sequence_length: m(c["input_sequence_length (tokens)"], "tokens"),
      },
      error: null,
    });
  });
  const summary = await Deno.readTextFile(join(V08, "profile_export_aiperf.json"));
  await inTemp(
    { "profile_export.jsonl": lines.join("\n"), "profile_export_aiperf.json": summary },
    async (dir) => {
      const r = await one(join(dir, "profile_export.jsonl"));
      assert.deepEqual([r.model, r.loadPoint, r.maxConcurrency, r.rows!.length], [
        "mock-model",
        "c4",
        4,
        64,
      ]);
    },
  );
});

Deno.test("AIPerf records without their summary, or with a string where a number belongs, are refused naming file, field and value", async () => {
  const first = (await Deno.readTextFile(join(OCT, "profile_export.jsonl"))).split("\n")
    .find((l) => l.includes('"ttft"'))!;
  await inTemp({ "profile_export.jsonl": first }, async (dir) => {
    await assert.rejects(
      () => inputsOf(join(dir, "profile_export.jsonl"), null),
      /profile_export\.jsonl as an AIPerf run: current value has no profile_export_aiperf\.json beside it/,
    );
  });
  const summary = await Deno.readTextFile(join(OCT, "profile_export_aiperf.json"));
  const bad = first.replace(/"ttft":\{"value":([0-9.]+)/, '"ttft":{"value":"$1"');
  await inTemp(
    { "profile_export.jsonl": bad, "profile_export_aiperf.json": summary },
    async (dir) => {
      await assert.rejects(
        () => inputsOf(join(dir, "profile_export.jsonl"), null),
        /profile_export\.jsonl:1 field metrics\.ttft\.value as a number: current value is "1680\.543782"/,
      );
    },
  );
  const noModel = summary.replace('"model_names"', '"model_list"');
  await inTemp(
    { "profile_export.jsonl": first, "profile_export_aiperf.json": noModel },
    async (dir) => {
      await assert.rejects(
        () => inputsOf(join(dir, "profile_export.jsonl"), null),
        /profile_export_aiperf\.json as an AIPerf summary: current value names no model \(accepted: AIPerf 0\.8\+/,
      );
    },
  );
});

Deno.test("AIPerf: a record with no start time names both layouts; records the summary does not count are refused", async () => {
  const summary = await Deno.readTextFile(join(OCT, "profile_export_aiperf.json"));
  const line = JSON.stringify({ metadata: { x_request_id: "a" }, metrics: {} });
  await inTemp(
    { "profile_export.jsonl": line, "profile_export_aiperf.json": summary },
    async (dir) => {
      await assert.rejects(
        () => inputsOf(join(dir, "profile_export.jsonl"), null),
        /:1 as an AIPerf record: current value has neither metadata\.request_start_ns \(AIPerf 0\.2\+\) nor metadata\.timestamp_ns/,
      );
    },
  );
  // the first 50 lines only: the summary counts 89 valid and 11 failed
  const half = (await Deno.readTextFile(join(OCT, "profile_export.jsonl"))).split("\n").slice(
    0,
    50,
  );
  await inTemp(
    { "profile_export.jsonl": half.join("\n"), "profile_export_aiperf.json": summary },
    async (dir) => {
      await assert.rejects(
        () => inputsOf(join(dir, "profile_export.jsonl"), null),
        /valid and \d+ failed records, the summary counts 89 and 11/,
      );
    },
  );
});
