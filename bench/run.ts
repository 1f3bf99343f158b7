/**
 * `deno task bench`: one streaming load run (or `--runs K` repeats) against an
 * OpenAI-compatible server, written to a run directory (DESIGN.md):
 * `config.json`, `requests.csv` (appended as requests finish), `itl.jsonl`,
 * `summary.json` (an array, one object per run/load point), optional `gpu.csv`
 * and `server_metrics.csv`; vLLM's result block on stderr; the run directory
 * path on stdout. Ctrl-C/SIGTERM stops sending, waits `--grace` for in-flight
 * requests, writes `"complete": false` and exits 130/143. Exit codes: 0 done, 1 bad
 * input, an error, or every request failed, 130/143 interrupted (SIGINT/SIGTERM).
 *
 *     deno task bench --url http://127.0.0.1:8000 --rate 20 --duration 60 \
 *       --dataset random --input-len 512 --output-len 128 --out results/exp1/agg
 *
 * @module
 */
import { adminHeaders } from "../lib/control_guard.ts";
import { errorMessage } from "../lib/errors.ts";
import { StopSignals } from "../lib/signals.ts";
import { basename, dirname, join } from "node:path";
import { parse as parseYaml } from "yaml";
import { readConfigText } from "../lib/read_config.ts";
import { type FlagValues, parseFlags, runMain, usage } from "../lib/args.ts";
import { createLogger } from "../lib/log.ts";
import { LazyTokenizer, loadTokenizer } from "../lib/tokenizer.ts";
import { CsvAppender, LineAppender } from "../lib/csv.ts";
import { type LoadPointSummary, REQUEST_COLUMNS } from "../lib/result_schema.ts";
import {
  BENCH_FLAGS,
  flagsWithoutDefaults,
  resolveBenchConfig,
  valuesFromFile,
} from "./bench_config.ts";
import { requestRow, RunRows } from "./record.ts";
import { type Finished, newState, runLoad, type RunLoadOptions } from "./runner.ts";
import { loadTemplate, openaiBody, templateBody } from "./request_body.ts";
import { resultBlock, summarize } from "./summary.ts";
import { buildWorkload } from "./workload/datasets.ts";
import {
  BENCH_VERSION,
  classSummaries,
  freshRunDir,
  gitSha,
  loadPointLabel,
  runKey,
  stamp,
  summaryMeta,
  VLLM_RESULT_MAX_ROWS,
  writeRunConfig,
  writeSummaries,
  writeVllmResults,
} from "./run_files.ts";
import { startProgress } from "./_progress.ts";
import { Waker } from "./_waker.ts";
import { settleHeap } from "../lib/heap.ts";
import { firstModel, serverTokenCounts, serverVersion } from "./_server_info.ts";
import { burst, runBasics, type WorkSource, workSource } from "./work_source.ts";
import { startGpuMonitor } from "./gpu.ts";
import { kvUsageByTurn, startScraper } from "./scrape.ts";
import { sleepUntil } from "./runner.ts";
import { peakInFlight, POD, READY_LINE, runDistributed, workerArgs } from "./_workers.ts";
import { BENCH_ENTRY, jobName, podFiles, startBenchJob, type StartedJob } from "./_k8s_job.ts";
import { clusterFetch, Kubectl } from "../lib/kubectl.ts";
import { bundleText, runningBundle } from "../lib/bundle.ts";

/** Worker side of `--start-at stdin`: says it is ready, reads the start instant (Unix ms). */
async function readStartAt(): Promise<number> {
  console.error(READY_LINE);
  let text = "";
  for await (const chunk of Deno.stdin.readable.pipeThrough(new TextDecoderStream())) {
    text += chunk;
    const m = /^\s*(\d+)\s*$/m.exec(text);
    if (m) return Number(m[1]);
  }
  throw new SyntaxError(
    `Cannot use stdin as a start instant (Unix ms) for --start-at stdin: current value is ${
      JSON.stringify(text.slice(0, 80))
    }`,
  );
}

const SUMMARY = "Open-loop streaming load against an OpenAI-compatible server, measured like " +
  "`vllm bench serve` (vLLM's flag spellings are accepted as aliases).";
const MISMATCH_SAMPLE = 500;

/** "1,000 arrivals", or "~6,000,000 arrivals (drawn as sent)" for a lazily drawn schedule. */
function arrivalsLabel(w: WorkSource): string {
  const n = (x: number) => Math.round(x).toLocaleString("en-US");
  if (w.count !== null) return `${n(w.count)} arrivals`;
  return Number.isFinite(w.expected)
    ? `~${n(w.expected)} arrivals (drawn as sent)`
    : "arrivals drawn as sent";
}

/** Runs the CLI; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  const { values } = parseFlags(args, flagsWithoutDefaults());
  if (values.help) {
    console.log(usage("deno task bench", SUMMARY, BENCH_FLAGS));
    return 0;
  }
  const file = values.config as string | undefined;
  const fileValues = file
    ? valuesFromFile(parseYaml(await readConfigText(file, "a workload file")), file)
    : {};
  const cfg = resolveBenchConfig(values, fileValues);
  const given: FlagValues = { ...fileValues };
  for (const [k, x] of Object.entries(values)) if (x !== undefined && k !== "help") given[k] = x;
  const log = createLogger({ name: "bench" });
  // --platform kubernetes: in-cluster URLs are read through the API server from here
  const kube = cfg.kubernetes
    ? new Kubectl({ namespace: cfg.kubernetes.namespace, context: cfg.kubernetes.context })
    : null;
  const get = kube ? clusterFetch(kube) : fetch;
  if (kube && /^(localhost|127\.|\[::1\]$)/.test(new URL(cfg.url).hostname)) {
    log.warn(
      `--url ${cfg.url} is a loopback address: inside a pod it is the pod itself, not a port-forward on this machine; give the in-cluster URL (deno task up prints it)`,
    );
  }
  const openaiEndpoint = /\/v1\/(chat\/)?completions\/?$/.test(cfg.endpoint);
  // a non-OpenAI server may have no model list: the template names the model, if any
  const server = cfg.model
    ? { id: cfg.model, models: null }
    : openaiEndpoint
    ? await firstModel(cfg.url, get)
    : await firstModel(cfg.url, get).catch(() => ({ id: "", models: null }));
  const model = server.id;
  const version = await serverVersion(cfg.url, get);
  // the random datasets' prompts need no tokenizing (the shipped word list): the tokenizer
  // is loaded after the run for the checks, and before it when the server may send no usage
  // (it does not answer /version as vLLM and our engine do), never in the middle of a run
  const lazy = cfg.tokenizer === undefined &&
    (cfg.dataset.name === "random" || cfg.dataset.name === "prefix-repetition");
  const usageExpected = version !== null || cfg.responseTokensPath !== undefined;
  if (lazy && !usageExpected) {
    log.info("the server does not answer /version: loading the client tokenizer before the run");
  }
  const tok = lazy && usageExpected ? new LazyTokenizer() : await loadTokenizer(cfg.tokenizer);
  const template = cfg.requestBodyTemplate ? await loadTemplate(cfg.requestBodyTemplate) : null;
  const body = template
    ? (s: Parameters<typeof openaiBody>[0]) => templateBody(template, s, model)
    : (s: Parameters<typeof openaiBody>[0]) =>
      openaiBody(s, model, cfg.sampling, { stream: cfg.stream });

  const simulated = version?.startsWith("topobench-sim") ?? false;
  const started = new Date();
  const dir = await freshRunDir(dirname(cfg.out), `${stamp(started)}-${basename(cfg.out)}`);
  const runName = basename(dir);
  await writeRunConfig(dir, {
    tool: "topobench bench",
    version: BENCH_VERSION,
    git_sha: await gitSha(),
    deno: Deno.version,
    host: Deno.hostname(),
    start_time: started.toISOString(),
    argv: args,
    config_file: file ?? null,
    model,
    server_models: server.models,
    server_version: version,
    tokenizer: tok.name,
    topology: cfg.topology,
    seed: cfg.dataset.seed,
    time_scale: cfg.timeScale,
    run_key: runKey(cfg, model),
    bench: cfg,
  });
  log.info(`run directory ${dir}`);

  // signals: the first stops sending and starts the grace period (its duplicates from
  // `deno task` are the same signal); a later one cancels what is in flight at once
  const stop = new AbortController();
  const cancel = new AbortController();
  let graceTimer: ReturnType<typeof setTimeout> | undefined;
  const signals = new StopSignals({
    onStop: (sig) => {
      log.warn(`${sig}: stopped sending; waiting up to ${cfg.graceS} s for in-flight requests`);
      stop.abort();
      graceTimer = setTimeout(() => cancel.abort(), cfg.graceS * 1000);
    },
    onForce: (sig) => {
      log.warn(`${sig} again: cancelling the requests in flight`);
      cancel.abort();
    },
  });

  const t0 = performance.now();
  const gpu = cfg.gpuMonitor
    ? startGpuMonitor({
      path: join(dir, "gpu.csv"),
      intervalMs: cfg.gpuIntervalMs,
      originMs: t0,
      timeScale: cfg.timeScale,
      warn: (m) => log.warn(m),
    })
    : null;
  const scraper = cfg.scrapeMetrics
    ? startScraper({
      url: cfg.scrapeMetrics,
      path: join(dir, "server_metrics.csv"),
      intervalMs: cfg.scrapeIntervalMs,
      originMs: t0,
      timeScale: cfg.timeScale,
      warn: (m) => log.warn(m),
      get, // in-cluster URLs through the API server with --platform kubernetes
    })
    : null;
  using waker = new Waker();
  const csv = new CsvAppender(join(dir, "requests.csv"), REQUEST_COLUMNS);
  const itlFile = cfg.writeItl ? new LineAppender(join(dir, "itl.jsonl")) : null;
  let warmupCsv: CsvAppender | null = null;
  const summaries: LoadPointSummary[] = [];
  let writeError: Error | null = null;
  // a template's body is the user's: whether it asks for a stream is not ours to know
  const streamAsked = cfg.requestBodyTemplate ? undefined : cfg.stream;
  /** The Content-Type of the first SSE stream that did not say text/event-stream (logged once). */
  let oddContentType = "";
  const url = /^https?:\/\//.test(cfg.endpoint) ? cfg.endpoint : cfg.url + cfg.endpoint;
  const isTty = Deno.stderr.isTerminal();
  // --time-scale F: schedules, think times and timeouts are server time and
  // sleep server/F real ms; measured real ms are reported x F (server time).
  const scale = cfg.timeScale;
  const toReal = (serverMs: number) => serverMs / scale;
  const toServer = (realMs: number) => realMs * scale;
  const timeoutRealMs = toReal(cfg.timeoutS * 1000);

  // the load's workers: --workers hosts, or the pods of a bench Job on the cluster
  let workers = cfg.workers;
  let workerGiven = given;
  let job: StartedJob | null = null;
  let jobOk = false;
  try {
    if (kube && cfg.kubernetes) {
      // the bench the pods run: this very file when it is a bundle, else one built from this
      // checkout (cached) while the pods start
      const self = runningBundle(import.meta.url);
      log.info(self ? `pods run this bundle, ${self}` : "bundling the bench for the pods");
      const benchJs = self ? Deno.readTextFile(self) : bundleText("bench");
      benchJs.catch(() => {}); // awaited once the pods run; a failed start does not wait for it
      // this machine's files the pods read go with the bench; the workers get their pod paths
      const ship = await podFiles(given);
      workerGiven = ship.given;
      job = await startBenchJob(kube, {
        files: [{ path: BENCH_ENTRY, text: benchJs }, ...ship.files],
        name: jobName(runName, cfg.kubernetes.replicas),
        namespace: cfg.kubernetes.namespace,
        replicas: cfg.kubernetes.replicas,
        image: cfg.kubernetes.image,
        // the Job's longest life: the run (real time) and an hour; 6 h when it has no duration
        deadlineS: Math.ceil(
          (cfg.durationS ?? (cfg.numRequests ?? 0) / cfg.rateRps) / cfg.timeScale,
        ) + 3600,
        timeoutS: 600,
        log: (l) => log.info(l),
        signal: stop.signal,
      });
      workers = job.pods.map((p) => POD + p);
    }
    for (let k = 0; k < cfg.runs && !stop.signal.aborted; k++) {
      const runId = cfg.runs > 1 ? `${runName}-r${k + 1}` : runName;
      const loadPoint = loadPointLabel(cfg);
      const distributed = workers.length > 0;
      const { seed, durationMs, closedLoop } = runBasics(cfg, k);
      // distributed: each worker draws its own share of the schedule
      const work = distributed ? null : await workSource(tok, cfg, k, {
        toClockMs: scale === 1 ? undefined : toReal,
      });
      if ((cfg.warmup > 0 || cfg.warmupS) && !distributed) {
        // warmup rows are kept apart (warmup.csv, run id `<run>-warmup`), never summarized
        warmupCsv ??= new CsvAppender(join(dir, "warmup.csv"), REQUEST_COLUMNS);
        const wcsv = warmupCsv;
        const onWarm = (f: Finished) => {
          const { row } = requestRow(f, `${runId}-warmup`, "warmup", scale);
          try {
            wcsv.append(row as unknown as Record<string, string | number | null>);
          } catch { /* a warmup row that cannot be written is not a measurement */ }
        };
        let jobs: RunLoadOptions["jobs"];
        let closed = false;
        if (cfg.warmupS) {
          log.info(`warmup: ${cfg.warmupS} s of the run's load`);
          const wcfg = {
            ...cfg,
            durationS: cfg.warmupS,
            numRequests: undefined,
            dataset: { ...cfg.dataset, seed: cfg.dataset.seed + 1_000_003 },
          };
          const ws = await workSource(tok, wcfg, k, {
            toClockMs: scale === 1 ? undefined : toReal,
          });
          jobs = ws.jobs;
          closed = ws.closedLoop;
        } else {
          const w = await buildWorkload(tok, {
            ...cfg.dataset,
            name: cfg.dataset.name === "multiturn" || cfg.dataset.name === "sharegpt-multiturn"
              ? "random"
              : cfg.dataset.name,
            seed: seed + 1_000_003,
          }, cfg.warmup);
          log.info(`warmup: ${cfg.warmup} requests`);
          jobs = burst(w.requests.map((r) => ({ ...r, requestId: `warmup-${r.requestId}` })));
        }
        await waker.ready();
        await runLoad({
          url,
          tokenizer: tok,
          endpoint: cfg.dataset.endpoint,
          jobs,
          closedLoop: closed,
          concurrency: closed ? cfg.concurrency : undefined,
          durationMs: cfg.warmupS ? toReal(cfg.warmupS * 1000) : undefined,
          body,
          timeoutMs: timeoutRealMs,
          stallTimeoutMs: toReal(cfg.stallTimeoutS * 1000),
          originMs: performance.now(),
          stop: stop.signal,
          cancel: cancel.signal,
          compat: cfg.metricsCompat,
          responsePaths: { text: cfg.responseTextPath, tokens: cfg.responseTokensPath },
          stream: streamAsked,
          onResult: onWarm,
          waker,
        });
      }
      // distributed: worker 0 resets (the URL need only be reachable from the workers)
      const resetCache = () =>
        fetch(`${cfg.url}/reset_prefix_cache`, { method: "POST", headers: adminHeaders() })
          .then(async (r) => {
            const text = await r.text();
            if (!r.ok) throw new Error(`HTTP ${r.status} ${text.slice(0, 200)}`);
          })
          .catch((e) => log.warn(`reset_prefix_cache failed: ${errorMessage(e)}`));
      // a worker (--start-at stdin) resets once every worker has warmed up: after the start
      // instant comes, below
      const workerStart = k === 0 && cfg.startAt === "stdin";
      if (cfg.resetPrefixCache && !distributed && !workerStart) await resetCache();
      if (stop.signal.aborted) break;

      const sink = new RunRows(runId, csv, itlFile, (e) => {
        // a full disk: stop sending and cancel what is in flight; the rows written stay whole
        writeError ??= e;
        log.error(`${e.message}; stopping the run`);
        stop.abort();
        cancel.abort();
      });
      const { rows, itls, tokensPerSecond, recent } = sink;
      const checks: { text: string; tokens: number }[] = [];
      const state = newState();
      // logged before the clock starts: formatting the first number loads ICU data (~30 ms)
      log.info(
        `run ${k + 1}/${cfg.runs}: ${
          closedLoop
            ? `closed loop, ${cfg.concurrency} users`
            : work
            ? arrivalsLabel(work)
            : `arrivals over ${workers.length} worker(s)`
        } at ${loadPoint} req/s, dataset ${cfg.dataset.name}, model ${model}`,
      );
      settleHeap(); // set-up garbage goes now, not in a pause early in the run
      await waker.ready(); // its thread up before the clock starts
      const startAtMs = k === 0 && cfg.startAt !== undefined
        ? (cfg.startAt === "stdin" ? await readStartAt() : cfg.startAt)
        : undefined;
      if (cfg.resetPrefixCache && workerStart) await resetCache(); // within the start margin
      if (startAtMs !== undefined) {
        // workers: one shared start instant; a late start shows up as send lag
        await sleepUntil(performance.now() + startAtMs - Date.now(), stop.signal);
      }
      const origin = startAtMs !== undefined
        ? performance.now() + startAtMs - Date.now()
        : performance.now();
      let whole = 0;
      const onResult = (f: Finished) => {
        const { row, itlMs } = requestRow(f, runId, loadPoint, scale);
        sink.add(row, itlMs);
        if (!f.result.streamed) whole++;
        if (f.result.oddContentType && !oddContentType) {
          oddContentType = f.result.oddContentType;
          log.warn(
            `the server streams SSE as Content-Type ${
              JSON.stringify(oddContentType)
            }, not text/event-stream: read as a stream by its bytes`,
          );
        }
        if (!f.result.error && !f.outputFromTokenizer && checks.length < MISMATCH_SAMPLE) {
          checks.push({ text: f.result.text, tokens: f.outputTokens });
        }
      };
      const progress = isTty && !distributed
        ? startProgress(state, recent, () => toServer(performance.now() - origin) / 1000)
        : undefined;
      let workerMismatches = 0;
      let workersComplete = true;
      if (distributed) {
        log.info(
          `${workers.length} worker(s) at ${cfg.rateRps / workers.length} req/s each`,
        );
        const d = await runDistributed({
          runId,
          loadPoint,
          workers: workers.map((host, index) => ({
            host,
            args: workerArgs({ ...workerGiven, model }, {
              index,
              count: workers.length,
              rateRps: cfg.rateRps,
              seed,
              out: host === "local"
                ? join(dir, "workers", `w${index}`)
                : `/tmp/topobench-workers/${runName}/w${index}`,
            }),
          })),
          workerCmd: cfg.workerCmd,
          selfUrl: import.meta.url,
          signal: stop.signal,
          onLine: (w, l) => log.debug(`${w}: ${l}`),
          kube: kube ?? undefined,
          stopGraceMs: (cfg.graceS + 20) * 1000, // the pods' own grace, and the way back
        });
        for (const { row, itl } of d.rows) sink.add(row, itl);
        state.maxInFlight = peakInFlight(rows);
        workerMismatches = d.mismatches;
        workersComplete = d.complete;
        for (const p of d.problems) log.warn(p);
      } else {await runLoad({
          url,
          tokenizer: tok,
          endpoint: cfg.dataset.endpoint,
          jobs: work!.jobs,
          concurrency: cfg.concurrency,
          closedLoop,
          durationMs: durationMs === undefined ? undefined : toReal(durationMs),
          body,
          timeoutMs: timeoutRealMs,
          stallTimeoutMs: toReal(cfg.stallTimeoutS * 1000),
          originMs: origin,
          stop: stop.signal,
          cancel: cancel.signal,
          compat: cfg.metricsCompat,
          responsePaths: { text: cfg.responseTextPath, tokens: cfg.responseTokensPath },
          stream: streamAsked,
          onResult,
          waker,
          onTokenizerLoad: () =>
            log.warn(
              "the server sent no usage: loading the client tokenizer to count output tokens (a pause of a second or two in this run)",
            ),
        }, state);}
      progress?.[Symbol.dispose]();
      // the output-token sample: counted by the server's /tokenize when it has one (no
      // tokenizer loaded into this process), else by the client tokenizer
      const lazyTok = tok instanceof LazyTokenizer && !tok.loaded;
      const byServer = checks.length && lazyTok
        ? await serverTokenCounts(cfg.url, model, checks.map((c) => c.text))
        : null;
      if (checks.length && !byServer && tok instanceof LazyTokenizer) await tok.load();
      const mismatches = workerMismatches +
        checks.filter((c, i) => (byServer ? byServer[i] : tok.encode(c.text).length) !== c.tokens)
          .length;
      const s = summarize(rows, itls, tokensPerSecond, {
        ...summaryMeta(cfg, { model, tokenizer: tok.name, date: started.toISOString() }),
        runId,
        runIndex: k + 1,
        complete: !stop.signal.aborted && workersComplete,
        maxConcurrent: state.maxInFlight,
        outputTokenMismatches: mismatches,
        gpus: cfg.gpus ?? null,
        timeScale: scale,
      });
      s.simulated = simulated;
      s.metrics_compat = cfg.metricsCompat;
      if (scraper) {
        // the scraper's clock starts at t0, this run's at its origin
        const shift = toServer(origin - t0);
        const kv = kvUsageByTurn(rows, scraper.kvUsage.map((x) => ({ ...x, tMs: x.tMs - shift })));
        if (kv !== null) s.kv_usage_by_turn = kv;
      }
      // answers that came whole: their TTFT is the full response time (nothing streamed before)
      s.streamed = whole === 0;
      if (whole > 0) {
        (streamAsked ? log.warn : log.info)(
          `${whole} answers came whole (not streamed${
            streamAsked ? " although a stream was asked for" : ""
          }): TTFT = E2E = the full response time for them`,
        );
      }
      summaries.push(s);
      // request classes: one summary each after the run's (the same run id; `class` names it)
      for (
        const cs of classSummaries(cfg, sink.byClass, s, {
          model,
          tokenizer: tok.name,
          date: started.toISOString(),
          runId,
          runIndex: k + 1,
          complete: s.complete,
          maxConcurrent: state.maxInFlight,
          gpus: cfg.gpus ?? null,
          timeScale: scale,
        }, { simulated, metrics_compat: cfg.metricsCompat, streamed: whole === 0 })
      ) {
        summaries.push(cs);
        log.info(
          `class ${cs.class} (${cs.workload}): ${cs.completed} done, ${cs.failed} failed, ${cs.rate_achieved} of ${cs.rate_target} req/s, mean TTFT ${cs.mean_ttft_ms} ms`,
        );
      }
      // Temp file + rename: a crash never leaves a half-written summary.
      try {
        await writeSummaries(dir, summaries);
      } catch (e) {
        writeError ??= new Error(`Cannot write ${join(dir, "summary.json")}: ${errorMessage(e)}`);
        log.error(writeError.message);
      }
      console.error(resultBlock(s));
      if (simulated) console.error("Server: topobench SIMULATED engine (not a real GPU)");
      if (s.client_saturated) {
        log.warn(
          `send lag p99 ${s.send_lag_p99_ms} ms > 5 ms: the client could not keep the schedule (saturated); rates above ${s.rate_achieved} req/s are not trustworthy from this host`,
        );
      }
    }
    jobOk = !stop.signal.aborted;
  } finally {
    await job?.finish(jobOk).catch((e) => log.warn(`bench Job: ${errorMessage(e)}`));
    clearTimeout(graceTimer);
    signals[Symbol.dispose]();
    await gpu?.stop();
    await scraper?.stop();
    csv.close();
    itlFile?.close();
    warmupCsv?.close();
  }
  if (summaries.length === 0) {
    await writeSummaries(dir, []).catch(() => {});
  } else if (!writeError) {
    // the same load points as vLLM's --save-result files, for vLLM's own tooling
    const sent = summaries.reduce((a, s) => a + s.completed + s.failed, 0);
    if (sent > VLLM_RESULT_MAX_ROWS) {
      log.info(
        `no vLLM-format copy of this run: ${sent} requests (at most ${VLLM_RESULT_MAX_ROWS})`,
      );
    } else {
      await writeVllmResults(dir, summaries).catch((e) =>
        log.warn(
          `Cannot write the vLLM-format results under ${join(dir, "vllm")}: ${errorMessage(e)}`,
        )
      );
    }
  }
  console.log(dir);
  if (signals.exitCode) return signals.exitCode;
  if (writeError) {
    throw new Error(
      `${writeError.message}: the run stopped; the rows written before it are whole (${dir})`,
    );
  }
  // a run whose every request failed measured nothing: say so and exit 1
  if (summaries.length && summaries.every((s) => s.completed === 0 && s.failed > 0)) {
    const failed = summaries.reduce((a, s) => a + s.failed, 0);
    log.error(
      `every request failed (${failed}); see the error column of ${join(dir, "requests.csv")}`,
    );
    return 1;
  }
  return 0;
}

if (import.meta.main) await runMain(main);
