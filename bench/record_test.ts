import assert from "node:assert/strict";
import { join } from "node:path";
import { CsvAppender, LineAppender } from "../lib/csv.ts";
import { REQUEST_COLUMNS, type RequestRow } from "../lib/result_schema.ts";
import { Gaps, requestLine, RunRows, SecondCounts } from "./record.ts";
import { summarize, type SummaryMeta, summaryRow } from "./summary.ts";

const META: SummaryMeta = {
  runId: "r",
  runIndex: 1,
  loadPoint: "9",
  complete: true,
  date: "2026-12-01T00:00:00.000Z",
  model: "m",
  tokenizer: "t",
  endpoint: "/v1/completions",
  label: "x",
  rateTarget: 9,
  burstiness: 1,
  concurrency: null,
  capped: false,
  slo: null,
  maxConcurrent: 1,
  outputTokenMismatches: 0,
  topology: "",
  workload: "random",
  gpus: null,
};

/** Request `i` of a run: `gaps` inter-token gaps of 7..10 ms, class a or b, every 50th failed. */
function request(i: number, gaps: number): { row: RequestRow; itlMs: number[] } {
  const itlMs = Array.from({ length: gaps }, (_, k) => 7 + ((i * 31 + k * 17) % 300) / 100);
  const first = i * 400 + 20;
  const end = first + itlMs.reduce((a, b) => a + b, 0);
  const failed = i % 50 === 49;
  const row: RequestRow = {
    run_id: "r",
    load_point: "9",
    request_id: `q${i}`,
    conversation_id: `c${i}`,
    turn: 1,
    scheduled_ms: i * 400,
    sent_ms: i * 400,
    first_token_ms: failed ? null : first,
    end_ms: end,
    ttft_ms: failed ? null : 20,
    e2e_ms: end - i * 400,
    tpot_ms: null,
    itl_mean_ms: null,
    itl_max_ms: null,
    prompt_tokens: 10,
    output_tokens: failed ? 0 : gaps + 1,
    cached_tokens: 0,
    status: failed ? 500 : 200,
    error: failed ? "boom" : "",
    backend: "s",
    class: i % 3 ? "a" : "b",
  };
  return { row, itlMs };
}

/** What the summary had before RunRows kept gaps compactly: every gap in one array, a map per second. */
function plainSummary(rows: { row: RequestRow; itlMs: number[] }[]) {
  const gaps: number[] = [], perS = new Map<number, number>();
  const count = (t: number) =>
    perS.set(Math.floor(t / 1000), (perS.get(Math.floor(t / 1000)) ?? 0) + 1);
  for (const { row, itlMs } of rows) {
    if (row.error) continue;
    gaps.push(...itlMs);
    let t = row.first_token_ms!;
    count(t);
    for (const g of itlMs) count(t += g);
  }
  return summarize(rows.map((r) => summaryRow(r.row)), gaps, perS, META);
}

Deno.test("RunRows: a long run's gaps leave memory for a file; its summary is the same to the bit", () => {
  const dir = Deno.makeTempDirSync();
  try {
    const csv = new CsvAppender(join(dir, "requests.csv"), REQUEST_COLUMNS);
    const sink = new RunRows("r", csv);
    // 1,200 requests of 1,000 gaps: more gaps than a run holds in memory (2^20)
    const rows = Array.from({ length: 1200 }, (_, i) => request(i, 1000));
    // tokens per second on any clock: before zero, far from it
    rows[0].row.first_token_ms = -5_000.5;
    rows[1].row.first_token_ms = 3e12;
    for (const r of rows) sink.add(r.row, r.itlMs);
    csv.close();
    assert.equal(sink.itls.spilled, true);
    assert.deepEqual(
      summarize(sink.rows, sink.itls, sink.tokensPerSecond, META),
      plainSummary(rows),
    );
    // and each class's own tally
    const b = sink.byClass.get("b")!;
    assert.deepEqual(
      summarize(b.rows, b.itls, b.tokensPerSecond, META),
      plainSummary(rows.filter((r) => r.row.class === "b")),
    );
    assert.equal(sink.recent.length, 200);
    assert.equal(sink.recent.filter((x) => x === 20).length, 200);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("requestLine writes a row as CsvAppender.append does, byte for byte", () => {
  const dir = Deno.makeTempDirSync();
  try {
    const rows = [request(3, 4).row, request(49, 2).row, request(7, 0).row];
    Object.assign(rows[0], { error: 'HTTP 400: "bad", input\n', backend: "é🙂", tpot_ms: 1 / 3 });
    Object.assign(rows[1], { itl_mean_ms: NaN, itl_max_ms: Infinity, cached_tokens: null });
    Object.assign(rows[2], { class: undefined, scheduled_ms: -0, prompt_tokens: null });
    const path = join(dir, "requests.csv");
    const csv = new CsvAppender(path, REQUEST_COLUMNS);
    for (const r of rows) csv.append(r as unknown as Record<string, string | number | null>);
    csv.close();
    const lines = rows.map(requestLine);
    assert.equal(Deno.readTextFileSync(path), REQUEST_COLUMNS.join(",") + "\n" + lines.join(""));
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("RunRows reads gaps in place from token times (scaled), as from the gaps themselves", () => {
  const dir = Deno.makeTempDirSync();
  try {
    const sinks = ["times", "gaps"].map((name) => {
      const csv = new CsvAppender(join(dir, `${name}.csv`), REQUEST_COLUMNS);
      return new RunRows("r", csv, new LineAppender(join(dir, `${name}.jsonl`)));
    });
    for (let i = 0; i < 30; i++) {
      const { row } = request(i, 0);
      const times = Float64Array.from({ length: i % 9 }, (_, k) => 20.1 + k * 7.3 + i * 400);
      const gaps = Array.from(
        { length: Math.max(0, times.length - 1) },
        (_, k) => (times[k + 1] - times[k]) * 2.5,
      );
      sinks[0].add(row, Gaps.between(times, 2.5));
      sinks[1].add(row, gaps);
    }
    for (const s of sinks) s.csv.close(), s.itlFile!.close();
    const read = (f: string) => Deno.readTextFileSync(join(dir, f));
    assert.equal(read("times.jsonl"), read("gaps.jsonl"));
    assert.ok(read("times.jsonl").includes('"itl_ms":[18.25,18.25'), read("times.jsonl"));
    const [a, b] = sinks.map((s) => summarize(s.rows, s.itls, s.tokensPerSecond, META));
    assert.deepEqual(a, b);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("SecondCounts.addSums counts as add does at each running sum, across second edges", () => {
  const counts = (c: SecondCounts) => [...c.values()].sort((a, b) => a - b);
  // times just below, at and past whole seconds (where t / 1000 may round up), a far second, NaN
  const edge = 2000 - 2000 * 2 ** -52;
  const runs: [number, number[]][] = [
    [edge - 3e-13, [1e-13, 1e-13, 1e-13, 1e-13, 0.5, 999.5, 1e-12]],
    [-1.5, [0.5, 1, 1e-300, 998.9, 5000, -6000]],
    [0, Array.from({ length: 500 }, (_, i) => (i % 7) * 3.3 + 0.01)],
    [999_999.99, [0.01, 2e10, 1, NaN, 1]],
    [5, []],
  ];
  for (const [first, gaps] of runs) {
    const one = new SecondCounts(), all = new SecondCounts();
    let t = first;
    one.add(t);
    for (const g of gaps) one.add(t += g);
    all.addSums(first, Float64Array.from(gaps), gaps.length);
    assert.deepEqual(counts(all), counts(one), `from ${first}`);
  }
});
