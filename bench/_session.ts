/**
 * One bench run's session: its run directory and `config.json`, the stop
 * signals (the first Ctrl-C/SIGTERM stops sending and starts `--grace`, a
 * second cancels what is in flight), the monitors (`gpu.csv`,
 * `server_metrics.csv`), the row files, the summaries written as load points
 * finish, and the end: the vLLM-format copy, the run directory on stdout and
 * the exit code.
 *
 * @module
 */
import { basename, dirname, join } from "node:path";
import { CsvAppender, LineAppender, parseCsv } from "../lib/csv.ts";
import { HOLD_BYTES } from "./record.ts";
import { errorMessage } from "../lib/errors.ts";
import type { Logger } from "../lib/log.ts";
import { type LoadPointSummary, REQUEST_COLUMNS } from "../lib/result_schema.ts";
import { StopSignals } from "../lib/signals.ts";
import type { BenchConfig } from "./bench_config.ts";
import { type GpuMonitor, startGpuMonitor } from "./gpu.ts";
import {
  BENCH_VERSION,
  freshRunDir,
  gitSha,
  runKey,
  stamp,
  VLLM_RESULT_MAX_ROWS,
  writeRunConfig,
  writeSummaries,
  writeVllmResults,
} from "./run_files.ts";
import { type Scraper, startScraper } from "./scrape.ts";
import type { Target } from "./_target.ts";
import { Waker } from "./_waker.ts";
import { sendersFor } from "./_sender_pool.ts";

/** What `config.json` records besides the config and the target. */
export interface SessionOptions {
  /** The command line. */
  args: string[];
  /** `--config` file, if any. */
  file?: string;
  log: Logger;
}

/** A run directory with its signals, monitors and files, open until {@linkcode RunSession.close}. */
export class RunSession {
  /** Stop sending (first signal, a write failure). */
  readonly stop = new AbortController();
  /** Abort what is in flight (grace over, second signal, a write failure). */
  readonly cancel = new AbortController();
  readonly signals: StopSignals;
  /** `performance.now()` when the monitors started (their clock's origin). */
  readonly t0: number;
  readonly gpu: GpuMonitor | null;
  readonly scraper: Scraper | null;
  /** Wakes the arrival loop (one thread for every load point). */
  readonly waker: Waker;
  readonly csv: CsvAppender;
  readonly itlFile: LineAppender | null;
  /** Every load point's summary (and its classes'), in order. */
  readonly summaries: LoadPointSummary[] = [];
  /** The first write failure: the run stops and exits with it. */
  writeError: Error | null = null;
  #warmupCsv: CsvAppender | null = null;
  #graceTimer: ReturnType<typeof setTimeout> | undefined;
  #oddContentType = "";

  private constructor(
    readonly cfg: BenchConfig,
    readonly target: Target,
    readonly log: Logger,
    readonly dir: string,
    readonly started: Date,
  ) {
    this.signals = this.#watchSignals();
    this.t0 = performance.now();
    this.gpu = cfg.gpuMonitor
      ? startGpuMonitor({
        path: join(dir, "gpu.csv"),
        intervalMs: cfg.gpuIntervalMs,
        ...this.#clock(),
      })
      : null;
    this.scraper = cfg.scrapeMetrics
      ? startScraper({
        url: cfg.scrapeMetrics,
        path: join(dir, "server_metrics.csv"),
        intervalMs: cfg.scrapeIntervalMs,
        ...this.#clock(),
        get: target.get, // in-cluster URLs through the API server with --platform kubernetes
      })
      : null;
    this.waker = new Waker();
    // rows held up to HOLD_BYTES, and written within `RunRows`' HOLD_MS: not a write per row
    this.csv = new CsvAppender(join(dir, "requests.csv"), REQUEST_COLUMNS, {
      holdBytes: HOLD_BYTES,
    });
    this.itlFile = cfg.writeItl ? new LineAppender(join(dir, "itl.jsonl")) : null;
  }

  /** Creates the run directory (`<out's parent>/<stamp>-<label>`) and writes `config.json`. */
  static async open(cfg: BenchConfig, target: Target, o: SessionOptions): Promise<RunSession> {
    const started = new Date();
    const dir = await freshRunDir(dirname(cfg.out), `${stamp(started)}-${basename(cfg.out)}`);
    await writeRunConfig(dir, {
      tool: "topobench bench",
      version: BENCH_VERSION,
      git_sha: await gitSha(),
      deno: Deno.version,
      host: Deno.hostname(),
      start_time: started.toISOString(),
      argv: o.args,
      config_file: o.file ?? null,
      model: target.model,
      server_models: target.serverModels,
      server_version: target.version,
      tokenizer: target.tok.name,
      topology: cfg.topology,
      seed: cfg.dataset.seed,
      time_scale: cfg.timeScale,
      // sender threads of this process (--senders, resolved); null when workers or pods send
      senders: cfg.workers.length || cfg.kubernetes ? null : sendersFor(cfg),
      run_key: runKey(cfg, target.model),
      bench: cfg,
    });
    o.log.info(`run directory ${dir}`);
    return new RunSession(cfg, target, o.log, dir, started);
  }

  /**
   * The first signal stops sending and starts the grace period (its duplicates
   * from `deno task` are the same signal); a later one cancels what is in flight.
   */
  #watchSignals(): StopSignals {
    return new StopSignals({
      onStop: (sig) => {
        this.log.warn(
          `${sig}: stopped sending; waiting up to ${this.cfg.graceS} s for in-flight requests`,
        );
        this.stop.abort();
        this.#graceTimer = setTimeout(() => this.cancel.abort(), this.cfg.graceS * 1000);
      },
      onForce: (sig) => {
        this.log.warn(`${sig} again: cancelling the requests in flight`);
        this.cancel.abort();
      },
    });
  }

  #clock() {
    return {
      originMs: this.t0,
      timeScale: this.cfg.timeScale,
      warn: (m: string) => this.log.warn(m),
    };
  }

  /** The run directory's name (the run id of a single run). */
  get runName(): string {
    return basename(this.dir);
  }
  /** Whether sending was stopped (a signal or a write failure). */
  get stopped(): boolean {
    return this.stop.signal.aborted;
  }
  /**
   * `--time-scale F`: schedules, think times and timeouts are server time and
   * sleep server/F real ms; measured real ms are reported x F (server time).
   */
  toReal(serverMs: number): number {
    return serverMs / this.cfg.timeScale;
  }
  /** Real ms as server ms. */
  toServer(realMs: number): number {
    return realMs * this.cfg.timeScale;
  }

  /** `warmup.csv`, opened with the first warmup (its rows are never summarized). */
  warmupRows(): CsvAppender {
    return this.#warmupCsv ??= new CsvAppender(join(this.dir, "warmup.csv"), REQUEST_COLUMNS);
  }

  /** A row that cannot be written (a full disk): stop sending and cancel what is in flight. */
  failWrite(e: Error): void {
    this.writeError ??= e;
    this.log.error(`${e.message}; stopping the run`);
    this.stop.abort();
    this.cancel.abort();
  }

  /** Logs, once per run, an SSE stream that did not say text/event-stream. */
  noteContentType(contentType: string | undefined): void {
    if (!contentType || this.#oddContentType) return;
    this.#oddContentType = contentType;
    this.log.warn(
      `the server streams SSE as Content-Type ${
        JSON.stringify(contentType)
      }, not text/event-stream: read as a stream by its bytes`,
    );
  }

  /** Writes `summary.json` (temp file + rename: a crash never leaves a half-written one). */
  async saveSummaries(): Promise<void> {
    try {
      await writeSummaries(this.dir, this.summaries);
    } catch (e) {
      this.writeError ??= new Error(
        `Cannot write ${join(this.dir, "summary.json")}: ${errorMessage(e)}`,
      );
      this.log.error(this.writeError.message);
    }
  }

  /** Stops the monitors and signal handlers and closes the files. */
  async close(): Promise<void> {
    clearTimeout(this.#graceTimer);
    this.signals[Symbol.dispose]();
    await this.gpu?.stop();
    await this.scraper?.stop();
    this.csv.close();
    this.itlFile?.close();
    this.#warmupCsv?.close();
    this.waker[Symbol.dispose]();
  }

  /**
   * After {@linkcode close}: the vLLM-format copy, the run directory on stdout,
   * and the exit code (130/143 interrupted, 1 when every request failed);
   * throws after a write failure.
   */
  async finish(): Promise<number> {
    await this.#writeVllmCopy();
    console.log(this.dir);
    if (this.signals.exitCode) return this.signals.exitCode;
    if (this.writeError) {
      throw new Error(
        `${this.writeError.message}: the run stopped; the rows written before it are whole (${this.dir})`,
      );
    }
    // a run whose every request failed measured nothing: say so and exit 1
    const all = this.summaries;
    if (all.length && all.every((s) => s.completed === 0 && s.failed > 0)) {
      const failed = all.reduce((a, s) => a + s.failed, 0);
      const csv = join(this.dir, "requests.csv");
      const first = await firstError(csv);
      this.log.error(
        `every request failed (${failed})${
          first ? `; the first: ${first}` : ""
        }; see the error column of ${csv}`,
      );
      return 1;
    }
    return 0;
  }

  /** The same load points as vLLM's --save-result files, for vLLM's own tooling. */
  async #writeVllmCopy(): Promise<void> {
    if (this.summaries.length === 0) {
      await writeSummaries(this.dir, []).catch(() => {});
      return;
    }
    if (this.writeError) return;
    const sent = this.summaries.reduce((a, s) => a + s.completed + s.failed, 0);
    if (sent > VLLM_RESULT_MAX_ROWS) {
      this.log.info(
        `no vLLM-format copy of this run: ${sent} requests (at most ${VLLM_RESULT_MAX_ROWS})`,
      );
      return;
    }
    await writeVllmResults(this.dir, this.summaries).catch((e) =>
      this.log.warn(
        `Cannot write the vLLM-format results under ${join(this.dir, "vllm")}: ${errorMessage(e)}`,
      )
    );
  }
}

/** The first non-empty `error` cell of a requests.csv, read from its first 256 KiB; null when none. */
async function firstError(path: string): Promise<string | null> {
  try {
    using f = await Deno.open(path);
    const buf = new Uint8Array(1 << 18);
    const n = (await f.read(buf)) ?? 0;
    const text = new TextDecoder().decode(buf.subarray(0, n));
    const whole = text.slice(0, text.lastIndexOf("\n") + 1); // no cut row
    return parseCsv(whole, path).find((r) => r.error)?.error ?? null;
  } catch {
    return null; // the pointer to the file still says where to look
  }
}
