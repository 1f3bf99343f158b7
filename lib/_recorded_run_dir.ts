/**
 * Reader of a topobench run directory (`requests.csv` + `config.json`, as
 * `deno task bench` writes them) into a {@linkcode RecordedRun}: one request
 * per successful row, arriving at its `sent_ms`, with its `prompt_tokens` and
 * `output_tokens`; latencies from the send (`ttft_ms`, `e2e_ms`); gaps from
 * `itl.jsonl` when present; running/waiting from `server_metrics.csv` (the
 * scraped `vllm:num_requests_running`/`waiting`, summed over engines) when
 * present. A run recorded against the simulated engine is refused unless
 * `allowSimulated` (then the simulator is validated against itself).
 *
 * @module
 */
import { join } from "node:path";
import { parseCsv } from "./csv.ts";
import { readRunDir, readRunItls, readRunRequests } from "./run_dir.ts";
import { readTextIfExists } from "./read_file.ts";
import type { RecordedRequest, RecordedRun, RecordedSample } from "./recorded_run.ts";
import type { RequestRow } from "./result_schema.ts";
import { type RecordedReadOptions, settleSettings } from "./_recorded_settings.ts";

const SERIES: Record<string, "running" | "waiting"> = {
  "vllm:num_requests_running": "running",
  "vllm:num_requests_waiting": "waiting",
};

/** Running/waiting per scrape (s since run start) from `server_metrics.csv`'s text. */
export function scrapedSeries(text: string, file: string): RecordedSample[] {
  const byT = new Map<number, RecordedSample>();
  for (const rec of parseCsv(text, file)) {
    const k = SERIES[rec.metric];
    const t = Number(rec.t_ms);
    const v = Number(rec.value);
    if (!k || !Number.isFinite(t) || !Number.isFinite(v)) continue;
    let s = byT.get(t);
    if (!s) byT.set(t, s = { tS: t / 1000, running: 0, waiting: 0 });
    s[k] += v;
  }
  return [...byT.values()].sort((a, b) => a.tS - b.tS);
}

function refuseSimulated(dir: string, config: Record<string, unknown>): never {
  throw new RangeError(
    `Cannot validate ${dir} as a run recorded against real vLLM: current value is a run of the SIMULATED engine (config.json: server_version ${
      JSON.stringify(config.server_version ?? null)
    }, clock ${
      JSON.stringify(config.clock ?? "live")
    }); allowed: a run recorded against real vLLM, or --allow-simulated to validate the simulator against itself`,
  );
}

/** The one run of the directory's rows; throws when there are none or several. */
async function oneRun(dir: string) {
  const runs = await readRunRequests(dir);
  if (runs.size !== 1) {
    throw new RangeError(
      `Cannot read ${
        join(dir, "requests.csv")
      } as one recorded run: current value has ${runs.size} runs${
        runs.size ? ` (${[...runs.keys()].join(", ")})` : ""
      }; allowed: a run directory of one load point and one run`,
    );
  }
  const [[runId, rows]] = runs;
  return { runId, rows };
}

/** The successful rows as recorded requests in send order (a note counts the others). */
function rowRequests(
  dir: string,
  rows: RequestRow[],
  itls: Map<string, number[]> | null,
  notes: string[],
): RecordedRequest[] {
  const requests: RecordedRequest[] = [];
  const ok = rows.filter((r) => r.error === "" && r.ttft_ms !== null && r.output_tokens >= 1);
  if (ok.length < rows.length) {
    notes.push(`${rows.length - ok.length} failed requests of ${rows.length} left out`);
  }
  for (const r of [...ok].sort((a, b) => a.sent_ms - b.sent_ms)) {
    if (r.prompt_tokens === null || r.prompt_tokens < 1) {
      throw new RangeError(
        `Cannot use prompt_tokens of request ${r.request_id} in ${
          join(dir, "requests.csv")
        } as a prompt length: current value is ${r.prompt_tokens}; allowed: a whole number >= 1`,
      );
    }
    const a = r.sent_ms / 1000;
    const gaps = itls?.get(r.request_id);
    requests.push({
      id: r.request_id,
      inputTokens: r.prompt_tokens,
      outputTokens: r.output_tokens,
      arrivalS: a,
      queuedS: a,
      scheduledS: a,
      firstTokenS: a + r.ttft_ms! / 1000,
      lastTokenS: a + r.e2e_ms / 1000,
      ...(gaps ? { itlMs: gaps } : {}),
    });
  }
  if (!requests.length) {
    throw new RangeError(
      `Cannot read ${dir} as a recorded run: current value has no successful request`,
    );
  }
  return requests;
}

/** Reads one run directory as a recorded run. */
export async function readRunDirRecorded(
  dir: string,
  o: RecordedReadOptions = {},
): Promise<RecordedRun> {
  const rd = await readRunDir(dir);
  const notes: string[] = [];
  if (rd.simulated) {
    if (!o.allowSimulated) refuseSimulated(dir, rd.config);
    notes.push(
      "recorded against the SIMULATED engine (--allow-simulated): the simulator is validated against itself, not against real vLLM",
    );
  }
  const { runId, rows } = await oneRun(dir);
  const itls = await readRunItls(dir, (id, rid) => (id === runId ? rid : undefined));
  const requests = rowRequests(dir, rows, itls, notes);
  const model = o.given?.model ?? rd.config.model;
  if (typeof model !== "string" || !model) {
    throw new RangeError(
      `Cannot use model in ${join(dir, "config.json")} as a model name: current value is ${
        JSON.stringify(model)
      }; allowed: a Hugging Face id (or give --model)`,
    );
  }
  const s = settleSettings({}, o, notes, dir);
  const version = String(rd.config.server_version ?? "");
  const scraped = await readTextIfExists(join(dir, "server_metrics.csv"));
  const timeseries = scraped === undefined
    ? []
    : scrapedSeries(scraped, join(dir, "server_metrics.csv"));
  return {
    dir,
    format: "topobench-run",
    latencyClock: "client",
    engine: rd.simulated ? "simulated" : "vllm",
    arrivals: "recorded",
    notes,
    meta: {
      model,
      ...(version && !rd.simulated ? { vllmVersion: version } : {}),
      tensorParallelSize: s.tensorParallelSize,
      dataParallelSize: 1,
      expertParallel: false,
      maxNumSeqs: s.maxNumSeqs,
      maxNumBatchedTokens: s.maxNumBatchedTokens,
      // times in requests.csv and server_metrics.csv are ms since the run's start
      startedAtMs: 0,
    },
    requests,
    ...(timeseries.length ? { timeseries } : {}),
  };
}
