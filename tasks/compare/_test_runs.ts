/**
 * Test helper: synthetic run directories (summary.json + requests.csv) whose
 * per-request TTFTs are given, for compare and findings tests.
 *
 * @module
 */
import { join } from "node:path";
import { REQUEST_COLUMNS } from "../../lib/result_schema.ts";

/** Writes a synthetic run dir with one row per TTFT value (ms). */
export async function writeRun(
  root: string,
  name: string,
  topo: string,
  rate: number,
  gpus: number,
  ttfts: number[],
  turn2?: number,
) {
  const dir = join(root, "exp", name);
  await Deno.mkdir(dir, { recursive: true });
  const runId = name;
  await Deno.writeTextFile(
    join(dir, "config.json"),
    JSON.stringify({ model: "m", topology: topo }),
  );
  await Deno.writeTextFile(
    join(dir, "summary.json"),
    JSON.stringify([{
      run_id: runId,
      run_index: 1,
      load_point: String(rate),
      rate_target: rate,
      topology: topo,
      workload: "random",
      gpus,
      model_id: "m",
      complete: true,
    }]),
  );
  const lines = [REQUEST_COLUMNS.join(",")];
  ttfts.forEach((t, i) => {
    const sent = i * 1000 / rate;
    const turn = turn2 !== undefined && i % 2 === 1 ? 2 : 1;
    const ttft = turn === 2 ? turn2! : t;
    const row: Record<string, string | number> = {
      run_id: runId,
      load_point: String(rate),
      request_id: String(i),
      conversation_id: String(i >> 1),
      turn,
      scheduled_ms: sent,
      sent_ms: sent,
      first_token_ms: sent + ttft,
      end_ms: sent + ttft + 30,
      ttft_ms: ttft,
      e2e_ms: ttft + 30,
      tpot_ms: 2,
      itl_mean_ms: 2,
      itl_max_ms: 3,
      prompt_tokens: 10,
      output_tokens: 16,
      cached_tokens: 0,
      status: 200,
      error: "",
      backend: "x",
    };
    lines.push(REQUEST_COLUMNS.map((c) => row[c]).join(","));
  });
  await Deno.writeTextFile(join(dir, "requests.csv"), lines.join("\n") + "\n");
}
