/**
 * `deno task sim`: the embedded vLLM-compatible simulated engine.
 *
 *     deno task sim --port 8000 --model meta-llama/Llama-3.1-8B-Instruct --gpu h100 --speed 10
 *
 * @module
 */
import { parseEcTransferConfig } from "./_encoder_cache.ts";
import { engineParts } from "./engine_parts.ts";
import { parseFlags, runMain, usage } from "../../lib/args.ts";
import { createLogger } from "../../lib/log.ts";
import { loadTokenizer } from "../../lib/tokenizer.ts";
import { SimClock } from "./clock.ts";
import { LiveEngine } from "./live_engine.ts";
import { KvSideChannel, p2pProxy, parseKvTransferConfig } from "./kv_transfer.ts";
import { DROP_AFTER_MS, startPinging } from "../../lib/p2p_registration.ts";
import { StopSignals } from "../../lib/signals.ts";
import { createHandler, type SimServerOptions } from "./server.ts";
import { startStatsLogger } from "./stats_log.ts";
import { buildVocab } from "./_vocab.ts";
import { warmUp } from "./_warmup.ts";
import { SIM_FLAGS, simConfig } from "./sim_config.ts";
import { createKvConnector } from "./connectors.ts";
import { serveHttp } from "../../lib/http_server.ts";
import { guardOptions, serveOptions } from "../../lib/serve_flags.ts";

const SUMMARY = "Simulated vLLM engine: OpenAI-compatible API, vLLM metrics and logs, " +
  "continuous batching with a roofline step-time model. Output is simulated.";

/** Starts the engine and serves until SIGINT/SIGTERM. */
export async function main(args: string[]): Promise<number> {
  const { values } = parseFlags(args, SIM_FLAGS);
  if (values.help) {
    console.log(usage("deno task sim", SUMMARY, SIM_FLAGS));
    return 0;
  }
  const cfg = simConfig(values, Deno.env.toObject());
  const log = createLogger({ name: "sim", level: cfg.logLevel });
  const emit = (level: "info" | "debug" | "warn", msg: string) => log[level](msg);
  const { gpu, profile, cost, numBlocks, maxModelLen, options } = engineParts(cfg);
  const clock = new SimClock(cfg.speed);
  const engine = new LiveEngine({ ...options, clock });
  const tokenizer = await loadTokenizer(cfg.tokenizer);
  const vocab = buildVocab(tokenizer);
  // Warm the tokenizer up so that the first requests are not slowed by JIT compilation.
  tokenizer.encodeChat([{
    role: "user",
    content: "Warm up, the quick brown fox 42 times. ".repeat(300),
  }]);
  log.info(
    `topobench simulated engine (SIMULATED, not a real GPU): model=${cfg.model} profile=${profile.id} gpu=${gpu.id} tp=${cfg.tp} speed=${cfg.speed}x`,
  );
  log.info(
    `# GPU blocks: ${numBlocks}, KV cache tokens: ${
      numBlocks * cfg.blockSize
    }, max_model_len: ${maxModelLen}`,
  );

  const kvTransfer = cfg.kvTransferConfig ? parseKvTransferConfig(cfg.kvTransferConfig) : undefined;
  const ecTransfer = cfg.ecTransferConfig ? parseEcTransferConfig(cfg.ecTransferConfig) : undefined;
  let side: KvSideChannel | undefined;
  let sidePort = 0;
  if (kvTransfer) {
    side = new KvSideChannel({
      engine,
      cost,
      clock,
      engineId: cfg.engineId,
      host: cfg.host,
      port: kvTransfer.kv_port ?? cfg.sideChannelPort,
      tp: cfg.tp,
      linkGBps: cfg.kvLinkGBps,
      latencyMs: cfg.kvLatencyMs,
      perBlockUs: cfg.kvPerBlockUs,
      blockSize: cfg.blockSize,
      log: emit,
    });
    sidePort = await side.start();
    const port = sidePort;
    log.info(
      `KV connector ${kvTransfer.kv_connector} (${kvTransfer.kv_role}): engine_id=${cfg.engineId}, side channel on ${cfg.host}:${port}`,
    );
  }

  let ready = cfg.startupDelayS === 0;
  let startup: ReturnType<typeof setTimeout> | undefined;
  const serverOpts: SimServerOptions = {
    servedModelName: cfg.servedModelName ?? cfg.model,
    modelPath: cfg.model,
    profile,
    tokenizer,
    vocab,
    engine,
    maxModelLen,
    meanOutputTokens: cfg.meanOutputTokens,
    failRate: cfg.failRate,
    seed: cfg.seed,
    kv: createKvConnector(kvTransfer, side, engine, emit),
    ecTransfer,
    ready: () => ready,
    log: emit,
    guard: guardOptions(values, cfg.host, Deno.env.toObject()),
  };
  await warmUp(cost, cfg.blockSize, serverOpts);
  const handler = createHandler(serverOpts);
  const stopStats = startStatsLogger(engine, clock, cfg.logIntervalS, (l) => log.info(l));
  const ac = new AbortController();
  // P2P-NCCL with a proxy named: register like vLLM's P2pNcclEngine (a ping every 3 s)
  const proxy = kvTransfer ? p2pProxy(kvTransfer) : undefined;
  let pings: { stop(): void } | undefined;
  const hostIp = Deno.env.get("VLLM_HOST_IP") || "127.0.0.1";
  // sheds rather than dies: a connection cap (503 beyond), timeouts, EMFILE as back-pressure
  const server = serveHttp({
    hostname: cfg.host,
    port: cfg.port,
    signal: ac.signal,
    ...serveOptions(values),
    warn: (m) => log.warn(m),
    onListen: (a) => {
      log.info(`Starting vLLM API server 0 on http://${a.hostname}:${a.port}`);
      if (ready) log.info("Application startup complete.");
      // --startup-delay counts from the moment it listens (/health answers 503 until then)
      else {
        startup = setTimeout(
          () => (ready = true, log.info("Application startup complete.")),
          cfg.startupDelayS * 1000,
        );
      }
      if (proxy && kvTransfer) {
        const registration = {
          type: kvTransfer.kv_role === "kv_consumer" ? "D" as const : "P" as const,
          http_address: `${hostIp}:${proxy.httpPort ?? a.port}`,
          zmq_address: `${hostIp}:${sidePort}`,
        };
        pings = startPinging({ proxy: proxy.proxy, registration });
        log.info(
          `P2P-NCCL: registering with the proxy at ${proxy.proxy} as ${registration.type} ${registration.http_address} (KV ${registration.zmq_address}), a ping every 3 s`,
        );
      }
    },
  }, handler);
  // The first signal stops; a registered engine first stops pinging and serves on
  // until the proxy has dropped it (5 s of silence), so no request routed meanwhile
  // fails. A later signal stops at once.
  let drain: ReturnType<typeof setTimeout> | undefined;
  using _signals = new StopSignals({
    onStop: () => {
      if (!pings) return ac.abort();
      pings.stop();
      const waitMs = DROP_AFTER_MS + 2000;
      log.info(
        `P2P-NCCL: stopped registering; serving ${
          waitMs / 1000
        } s more until the proxy drops this instance`,
      );
      drain = setTimeout(() => ac.abort(), waitMs);
    },
    onForce: () => {
      clearTimeout(drain);
      ac.abort();
    },
  });
  await server.finished;
  clearTimeout(drain);
  clearTimeout(startup);
  pings?.stop();
  stopStats();
  await side?.stop();
  await engine.close();
  log.info("Shutting down.");
  return 0;
}

if (import.meta.main) await runMain(main);
