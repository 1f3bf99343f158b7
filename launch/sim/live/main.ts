/**
 * `deno task sim`: the embedded vLLM-compatible simulated engine.
 *
 *     deno task sim --port 8000 --model meta-llama/Llama-3.1-8B-Instruct --gpu h100 --speed 10
 *
 * @module
 */
import { parseEcTransferConfig } from "../core/ec_cache.ts";
import { engineParts } from "../core/engine_parts.ts";
import { type CommandHelp, parseCommand, runMain } from "../../../lib/args.ts";
import { createLogger, type Logger } from "../../../lib/log.ts";
import { loadTokenizer } from "../../../lib/tokenizer.ts";
import { SimClock } from "./clock.ts";
import { LiveEngine } from "./live_engine.ts";
import { LiveDpGroup } from "./live_dp_group.ts";
import type { ServedEngine } from "../core/dp_group.ts";
import { KvSideChannel, parseKvTransferConfig } from "./kv_transfer.ts";
import type { KvTransferConfig } from "../../../lib/contracts.ts";
import { Lifecycle } from "./_lifecycle.ts";
import { createHandler, type SimServerOptions } from "./server.ts";
import { startStatsLogger } from "./stats_log.ts";
import { buildVocab } from "../core/vocab.ts";
import { warmUp } from "./_warmup.ts";
import { SIM_FLAGS, type SimConfig, simConfig } from "../core/sim_config.ts";
import { createKvConnector } from "./connectors.ts";
import { serveHttp } from "../../../lib/http_server.ts";
import { freePortBase } from "../../../lib/net.ts";
import { guardOptions, serveOptions } from "../../../lib/serve_flags.ts";

const SUMMARY = "Simulated vLLM engine: OpenAI-compatible API, vLLM metrics and logs, " +
  "continuous batching with a roofline step-time model. Output is simulated.";

type Emit = (level: "info" | "debug" | "warn", msg: string) => void;

const HELP: CommandHelp = { cmd: "deno task sim", summary: SUMMARY };

/** Starts the engine and serves until SIGINT/SIGTERM. */
export async function main(args: string[]): Promise<number> {
  const parsed = parseCommand(args, SIM_FLAGS, HELP);
  if (!parsed) return 0;
  const { values } = parsed;
  const cfg = simConfig(values, Deno.env.toObject());
  const log = createLogger({ name: "sim", level: cfg.logLevel });
  const emit: Emit = (level, msg) => log[level](msg);
  const sim = await startEngine(cfg, log);
  const ecTransfer = cfg.ecTransferConfig ? parseEcTransferConfig(cfg.ecTransferConfig) : undefined;
  const kv = await startKvSide(cfg, sim, emit);
  const life = new Lifecycle({
    startupDelayS: cfg.startupDelayS,
    kvTransfer: kv.transfer,
    kvSidePort: kv.sidePort,
    hostIp: Deno.env.get("VLLM_HOST_IP"),
    info: (m) => log.info(m),
  });
  const serverOpts: SimServerOptions = {
    servedModelName: cfg.servedModelName ?? cfg.model,
    modelPath: cfg.model,
    profile: sim.parts.profile,
    tokenizer: sim.tokenizer,
    vocab: sim.vocab,
    engine: sim.engine,
    maxModelLen: sim.parts.maxModelLen,
    meanOutputTokens: cfg.meanOutputTokens,
    failRate: cfg.failRate,
    seed: cfg.seed,
    kv: createKvConnector(kv.transfer, kv.side, sim.core, emit),
    ecTransfer,
    ready: () => life.ready,
    log: emit,
    guard: guardOptions(values, cfg.host, Deno.env.toObject()),
  };
  await warmUp(sim.parts.cost, cfg.blockSize, serverOpts);
  // one port (the instance), or with external load balancing one per rank at --port + r
  const served = sim.group && cfg.dpExternalLb
    ? sim.group.ranks.map((_, r) => sim.group!.rank(r))
    : [sim.engine];
  const stops = served.map((engine, r) =>
    startStatsLogger(engine, sim.clock, cfg.logIntervalS, (l) => log.info(l), r)
  );
  // ready (the "Starting vLLM API server 0" line) once every rank's port listens
  let first: { hostname: string; port: number } | undefined, waiting = served.length;
  const listened = (r: number, a: { hostname: string; port: number }) => {
    if (r === 0) first = a;
    else {log.info(
        `Starting vLLM API server of data-parallel rank ${r} on http://${a.hostname}:${a.port}`,
      );}
    if (--waiting === 0) life.listening(first!);
  };
  // sheds rather than dies: a connection cap (503 beyond), timeouts, EMFILE as back-pressure
  const serve = (engine: ServedEngine, r: number, port: number) =>
    serveHttp({
      hostname: cfg.host,
      port,
      signal: life.abort.signal,
      ...serveOptions(values),
      // lean requests: no abort signal or body copy of their own (clientSignal, rawRequest)
      rawRequests: true,
      warn: (m) => log.warn(m),
      onListen: (a) => listened(r, a),
    }, createHandler({ ...serverOpts, engine }));
  // rank r at rank 0's port + r; with --port 0 a base with every rank's port free (the OS's pick
  // for rank 0 may have a taken port after it)
  const port = cfg.port === 0 && served.length > 1
    ? await freePortBase(served.length, cfg.host)
    : cfg.port;
  const servers = [serve(served[0], 0, port)];
  const base = servers[0].addr.port;
  for (let r = 1; r < served.length; r++) servers.push(serve(served[r], r, base + r));
  using _signals = life.stopSignals();
  await Promise.all(servers.map((s) => s.finished));
  life.close();
  for (const stop of stops) stop();
  await kv.side?.stop();
  await sim.engine.close();
  log.info("Shutting down.");
  return 0;
}

/** The engine, its clock, tokenizer and output vocabulary, built from `cfg` and announced in the log. */
async function startEngine(cfg: SimConfig, log: Logger) {
  if (cfg.dp > 1 && (cfg.kvTransferConfig || cfg.ecTransferConfig)) {
    throw new RangeError(
      `Cannot use --data-parallel-size ${cfg.dp} with a KV or EC connector on the live clock: current value is ${cfg.dp}; allowed: 1 (live data-parallel ranks serve aggregated only; disaggregated DP roles run in virtual time, deno task predict)`,
    );
  }
  const parts = engineParts(cfg);
  const clock = new SimClock(cfg.speed);
  // one process per instance: a data-parallel instance's ranks step inside it (live_dp_group.ts)
  const group = cfg.dp > 1
    ? new LiveDpGroup({
      clock,
      cost: parts.cost,
      rankOptions: parts.rankOptions,
      jitter: cfg.jitter,
      seed: cfg.seed,
      perRankMetrics: cfg.dpExternalLb,
    })
    : null;
  const single = group ? null : new LiveEngine({ ...parts.options, clock });
  const engine = (group ?? single)!;
  /** The engine core a KV connector works on (no connector with data-parallel ranks). */
  const core = single ?? group!.ranks[0];
  const tokenizer = await loadTokenizer(cfg.tokenizer);
  const vocab = buildVocab(tokenizer);
  // Warm the tokenizer up so that the first requests are not slowed by JIT compilation.
  tokenizer.encodeChat([{
    role: "user",
    content: "Warm up, the quick brown fox 42 times. ".repeat(300),
  }]);
  log.info(
    `topobench simulated engine (SIMULATED, not a real GPU): model=${cfg.model} profile=${parts.profile.id} gpu=${parts.gpu.id} tp=${cfg.tp}${
      cfg.dp > 1
        ? ` dp=${cfg.dp}${cfg.ep ? " ep" : ""}${cfg.dpExternalLb ? " external-lb" : ""}`
        : ""
    } speed=${cfg.speed}x`,
  );
  log.info(
    `# GPU blocks: ${parts.numBlocks}, KV cache tokens: ${
      parts.numBlocks * cfg.blockSize
    }, max_model_len: ${parts.maxModelLen}`,
  );
  return { parts, clock, engine, group, core, tokenizer, vocab };
}

/** The KV connector's side: its config, and the side channel it listens on (port 0 if none). */
interface KvSide {
  transfer?: KvTransferConfig;
  side?: KvSideChannel;
  sidePort: number;
}

/** Opens the KV side channel when `--kv-transfer-config` names a connector. */
async function startKvSide(
  cfg: SimConfig,
  sim: Awaited<ReturnType<typeof startEngine>>,
  emit: Emit,
): Promise<KvSide> {
  const transfer = cfg.kvTransferConfig ? parseKvTransferConfig(cfg.kvTransferConfig) : undefined;
  if (!transfer) return { sidePort: 0 };
  const side = new KvSideChannel({
    engine: sim.core,
    cost: sim.parts.cost,
    clock: sim.clock,
    engineId: cfg.engineId,
    host: cfg.host,
    port: transfer.kv_port ?? cfg.sideChannelPort,
    tp: cfg.tp,
    linkGBps: cfg.kvLinkGBps,
    latencyMs: cfg.kvLatencyMs,
    perBlockUs: cfg.kvPerBlockUs,
    blockSize: cfg.blockSize,
    log: emit,
  });
  const sidePort = await side.start();
  emit(
    "info",
    `KV connector ${transfer.kv_connector} (${transfer.kv_role}): engine_id=${cfg.engineId}, side channel on ${cfg.host}:${sidePort}`,
  );
  return { transfer, side, sidePort };
}

if (import.meta.main) await runMain(main);
