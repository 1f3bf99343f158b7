/**
 * Perf entry `parse`: parse throughput (MB/s) of a generated vLLM server log
 * (stats lines of every wording between access-log noise), and the time to
 * merge one synthetic run directory of 1,000,000 request rows.
 *
 * @module
 */
import { join } from "node:path";
import { REQUEST_COLUMNS } from "../../../lib/result_schema.ts";
import { parseLog } from "../../parse/_parse_log.ts";
import { mergeRuns } from "../../merge/merge.ts";
import type { PerfResult } from "../perf.ts";

const LINES = [
  "INFO 08-04 10:00:00 [loggers.py:123] Engine 000: Avg prompt throughput: 1234.5 tokens/s, Avg generation throughput: 456.7 tokens/s, Running: 12 reqs, Waiting: 3 reqs, GPU KV cache usage: 45.6%, Prefix cache hit rate: 12.3%",
  '(APIServer pid=123) INFO:     127.0.0.1:50312 - "POST /v1/completions HTTP/1.1" 200 OK',
  "(APIServer pid=124) INFO 08-04 10:00:30 [loggers.py:210] 2 Engines Aggregated: Avg prompt throughput: 10.0 tokens/s, Avg generation throughput: 30.0 tokens/s, Running: 4 reqs, Waiting: 1 reqs, Preemptions: 0, GPU KV cache usage: 2.5%, Prefix cache hit rate: 25.0%, External prefix cache hit rate: 5.0%",
  "INFO 06-01 12:00:15 metrics.py:351] Avg prompt throughput: 512.0 tokens/s, Avg generation throughput: 128.5 tokens/s, Running: 5 reqs, Swapped: 1 reqs, Pending: 2 reqs, GPU KV cache usage: 33.3%, CPU KV cache usage: 4.0%.",
];

/** Request row `i` of a synthetic run as a `requests.csv` line: every column, class and failure empty. */
export function syntheticRow(i: number): string {
  const s = i * 10;
  const ttft = 20 + (i % 97);
  const row = `r,100,${i},${i},1,${s},${s + 0.1},${s + ttft},${s + ttft + 150},${ttft},${
    ttft + 150
  },10,10,25,512,16,0,200,,b`;
  // the columns after `backend` (class, failure) are empty: the row always has the schema's width
  return row + ",".repeat(REQUEST_COLUMNS.length - 1 - (row.match(/,/g)?.length ?? 0));
}

/** Writes a run dir with `n` request rows (one run, one load point). */
async function syntheticRun(dir: string, n: number): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(
    join(dir, "config.json"),
    JSON.stringify({ model: "m", topology: "agg" }),
  );
  await Deno.writeTextFile(
    join(dir, "summary.json"),
    JSON.stringify([{
      run_id: "r",
      run_index: 1,
      load_point: "100",
      rate_target: 100,
      topology: "agg",
      workload: "random",
      model_id: "m",
      complete: true,
    }]),
  );
  const f = await Deno.open(join(dir, "requests.csv"), {
    write: true,
    create: true,
    truncate: true,
  });
  const enc = new TextEncoder();
  await f.write(enc.encode(REQUEST_COLUMNS.join(",") + "\n"));
  let chunk: string[] = [];
  for (let i = 0; i < n; i++) {
    chunk.push(syntheticRow(i));
    if (chunk.length === 50_000) {
      await f.write(enc.encode(chunk.join("\n") + "\n"));
      chunk = [];
    }
  }
  if (chunk.length) await f.write(enc.encode(chunk.join("\n") + "\n"));
  f.close();
}

/** Measures parse MB/s for about `seconds` and one merge of 1,000,000 rows. */
export async function parseMerge(seconds: number): Promise<PerfResult[]> {
  const parts: string[] = [];
  for (let i = 0; i < 40_000; i++) parts.push(LINES[i % LINES.length]);
  const text = parts.join("\n");
  const mb = new TextEncoder().encode(text).length / 1e6;
  let done = 0, rows = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < Math.min(seconds, 5) * 1000 || done === 0) {
    rows += parseLog(text, "perf.log").stats.length;
    done++;
  }
  const parseS = (performance.now() - t0) / 1000;
  const dir = await Deno.makeTempDir();
  try {
    await syntheticRun(join(dir, "exp", "20250101-000000-agg"), 1_000_000);
    const t1 = performance.now();
    const { rows: merged } = await mergeRuns([join(dir, "exp")]);
    const mergeS = (performance.now() - t1) / 1000;
    return [
      {
        entry: "parse",
        metric: "vLLM log parse throughput",
        value: (mb * done) / parseS,
        unit: "MB/s",
        note: `${(rows / parseS / 1000).toFixed(0)}k stats lines/s, ${
          mb.toFixed(1)
        } MB log x${done}`,
      },
      {
        entry: "parse",
        metric: "merge 1,000,000 request rows",
        value: mergeS,
        unit: "s",
        note: `one run dir, ${merged.length} merged rows`,
      },
    ];
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) console.log(await parseMerge(Number(Deno.args[0] ?? 3)));
