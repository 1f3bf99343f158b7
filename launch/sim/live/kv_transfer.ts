/**
 * KV transfer between simulated engines, over a real side-channel HTTP port:
 * NixlConnector (the decode instance pulls the producer's held blocks after a
 * metadata handshake) and P2pNcclConnector (the prefill instance pushes to the
 * decode address named in the request id). The transfer time is modelled from
 * the shared link model (`kv_link.ts`); the messages are real. This is the
 * live transport; the virtual loop of `deno task predict` moves the same KV
 * with direct calls over the same link model.
 *
 * @module
 */
import type { EngineCore, RemotePrefill } from "../core/engine.ts";
import type { CostModel } from "../core/cost_model.ts";
import type { SimClock } from "./clock.ts";
import { KvLink, linkedRemote } from "../core/kv_link.ts";
import { KV_ROLES, type KvTransferConfig } from "../../../lib/contracts.ts";

const CONNECTORS = ["NixlConnector", "P2pNcclConnector", "LMCacheConnectorV1", "MultiConnector"];

/** Parses and checks `--kv-transfer-config` JSON. */
export function parseKvTransferConfig(text: string): KvTransferConfig {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new SyntaxError(
      `Cannot parse --kv-transfer-config as JSON: current value is ${JSON.stringify(text)}`,
    );
  }
  const c = v as KvTransferConfig;
  if (typeof c !== "object" || c === null || !CONNECTORS.includes(c.kv_connector)) {
    throw new RangeError(
      `Cannot use --kv-transfer-config.kv_connector as one of ${
        CONNECTORS.join(", ")
      }: current value is ${JSON.stringify((c as KvTransferConfig | null)?.kv_connector)}`,
    );
  }
  if (!KV_ROLES.includes(c.kv_role)) {
    throw new RangeError(
      `Cannot use --kv-transfer-config.kv_role as one of ${KV_ROLES.join(", ")}: current value is ${
        JSON.stringify(c.kv_role)
      }`,
    );
  }
  if (c.kv_connector === "P2pNcclConnector") {
    const x = c.kv_connector_extra_config ?? {};
    for (const k of ["proxy_ip", "proxy_port", "http_port"]) {
      // vLLM builds proxy_ip + ":" + proxy_port (a number there is a TypeError at start-up)
      if (x[k] !== undefined && typeof x[k] !== "string") {
        throw new TypeError(
          `Cannot use --kv-transfer-config.kv_connector_extra_config.${k} as a string: current value is ${
            JSON.stringify(x[k])
          }; vLLM's P2pNcclEngine concatenates proxy_ip + ":" + proxy_port`,
        );
      }
    }
  }
  return c;
}

/**
 * P2P-NCCL's proxy (`proxy_ip:proxy_port`) an engine registers with, and its
 * `http_port`, when the extra config names one (vLLM pings only then).
 */
export function p2pProxy(c: KvTransferConfig): { proxy: string; httpPort?: string } | undefined {
  if (c.kv_connector !== "P2pNcclConnector") return undefined;
  const x = c.kv_connector_extra_config ?? {};
  const ip = x.proxy_ip as string | undefined;
  const port = x.proxy_port as string | undefined;
  if (!ip || !port) return undefined;
  return { proxy: `${ip}:${port}`, httpPort: x.http_port as string | undefined };
}

/** Options of {@linkcode KvSideChannel}. */
export interface SideChannelOptions {
  engine: EngineCore;
  cost: CostModel;
  clock: SimClock;
  engineId: string;
  host: string;
  /** Port to listen on; 0 picks a free one. */
  port: number;
  tp: number;
  /** Link bandwidth for KV transfers, GB/s. */
  linkGBps: number;
  /** Fixed latency per transfer, simulated ms. @default DEFAULT_KV_LATENCY_MS (2) */
  latencyMs?: number;
  /** Cost per block transferred, µs. @default 0 */
  perBlockUs?: number;
  /** Tokens per KV block. @default 16 */
  blockSize?: number;
  /** Logs one line for people. */
  log: (level: "info" | "debug" | "warn", msg: string) => void;
}

/** The engine's side channel: serves pulls/pushes, and makes them toward peers. */
export class KvSideChannel {
  readonly #o: SideChannelOptions;
  #server: Deno.HttpServer | null = null;
  readonly #peers = new Set<string>();
  readonly #inbox = new Map<string, { tokens: number } | ((tokens: number) => void)>();
  port = 0;
  /** The link KV transfers into this instance share. */
  readonly link: KvLink;

  constructor(opts: SideChannelOptions) {
    this.#o = opts;
    this.link = new KvLink(
      opts.cost,
      opts.linkGBps,
      opts.latencyMs,
      opts.perBlockUs,
      opts.blockSize,
    );
  }

  #remote(
    fetchKv: (tokens: number, answer: (ok: boolean) => void) => void,
    tokens?: number,
  ): RemotePrefill {
    const clock = this.#o.clock;
    return linkedRemote(this.link, clock, (t, fn) => void clock.until(t).then(fn), fetchKv, tokens);
  }

  /** Starts listening; resolves with the bound port. */
  start(): Promise<number> {
    return new Promise((resolve) => {
      this.#server = Deno.serve({
        hostname: this.#o.host,
        port: this.#o.port,
        onListen: (a) => {
          this.port = a.port;
          resolve(a.port);
        },
      }, (req) => this.#handle(req));
    });
  }

  /** Stops listening. */
  async stop(): Promise<void> {
    await this.#server?.shutdown();
  }

  /** `kv_transfer_params` the producer returns for a request whose blocks it holds. */
  producerParams(requestId: string, blockIds: number[]): Record<string, unknown> {
    return {
      do_remote_prefill: true,
      do_remote_decode: false,
      remote_block_ids: blockIds,
      remote_engine_id: this.#o.engineId,
      remote_host: this.#o.host,
      remote_port: this.port,
      remote_request_id: requestId,
      tp_size: this.#o.tp,
    };
  }

  /** NIXL consumer: pull the blocks named in `params` from their engine. */
  nixlRemote(params: Record<string, unknown>): RemotePrefill {
    const host = String(params.remote_host ?? "127.0.0.1");
    const port = Number(params.remote_port);
    const rid = String(params.remote_request_id ?? "");
    const engineId = String(params.remote_engine_id ?? "");
    const pull = async (tokens: number): Promise<boolean> => {
      const base = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
      if (!this.#peers.has(base)) {
        const meta = await (await fetch(`${base}/nixl/metadata`)).json();
        if (engineId && meta.engine_id !== engineId) {
          this.#o.log(
            "warn",
            `NIXL handshake: ${base} is engine ${meta.engine_id}, expected ${engineId}`,
          );
        }
        this.#peers.add(base);
        this.#o.log(
          "info",
          `NIXL handshake: engine ${this.#o.engineId} connected to remote engine ${meta.engine_id} at ${base} (tp_size=${meta.tp_size}, block_size=${meta.block_size})`,
        );
      }
      const res = await fetch(`${base}/nixl/read`, {
        method: "POST",
        body: JSON.stringify({ request_id: rid, block_ids: params.remote_block_ids, tokens }),
      });
      const ok = res.ok;
      await res.body?.cancel();
      this.#o.log(
        ok ? "debug" : "warn",
        ok
          ? `NIXL read: ${tokens} tokens of request ${rid} from engine ${engineId}`
          : `NIXL read failed for request ${rid} (status ${res.status}); recomputing the prefill locally`,
      );
      return ok;
    };
    return this.#remote((tokens, answer) => void pull(tokens).catch(() => false).then(answer));
  }

  /** LMCache consumer: load a stored prefix of `tokens` tokens (found by the caller). */
  storedRemote(tokens: number): RemotePrefill {
    return this.#remote((n, answer) => {
      this.#o.log("debug", `LMCache: loading ${n} tokens of a stored prefix`);
      answer(true);
    }, tokens);
  }

  /** P2P-NCCL consumer: wait for the producer's push of `requestId`. */
  p2pRemote(requestId: string, timeoutMs = 30_000): RemotePrefill {
    const pull = (): Promise<boolean> => {
      const got = this.#inbox.get(requestId);
      if (got && typeof got !== "function") {
        this.#inbox.delete(requestId);
        return Promise.resolve(true);
      }
      return new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => {
          this.#inbox.delete(requestId);
          this.#o.log("warn", `P2P-NCCL: no KV arrived for ${requestId}; recomputing locally`);
          resolve(false);
        }, this.#o.clock.toRealMs(timeoutMs));
        this.#inbox.set(requestId, () => {
          clearTimeout(timer);
          this.#inbox.delete(requestId);
          resolve(true);
        });
      });
    };
    return this.#remote((_tokens, answer) => void pull().then(answer));
  }

  /** P2P-NCCL producer: push the KV of `tokens` tokens to the decode address in the request id. */
  async p2pPush(requestId: string, tokens: number): Promise<void> {
    const m = /___decode_addr_(.+?:\d+)_/.exec(requestId);
    if (!m) return;
    const res = await fetch(`http://${m[1]}/p2p/put`, {
      method: "POST",
      body: JSON.stringify({ request_id: requestId, tokens, engine_id: this.#o.engineId }),
    });
    await res.body?.cancel();
    this.#o.log(
      "debug",
      `P2P-NCCL send: ${tokens} tokens of ${requestId} to ${m[1]} (${res.status})`,
    );
  }

  async #handle(req: Request): Promise<Response> {
    const url = new URL(req.url);
    if (req.method === "GET" && url.pathname === "/nixl/metadata") {
      return Response.json({
        engine_id: this.#o.engineId,
        tp_size: this.#o.tp,
        block_size: this.#o.engine.kv.blockSize,
        num_blocks: this.#o.engine.kv.numBlocks,
      });
    }
    if (req.method !== "POST") return new Response("not found", { status: 404 });
    const body = await req.json().catch(() => null) as Record<string, unknown> | null;
    const rid = String(body?.request_id ?? "");
    if (url.pathname === "/nixl/read") {
      const n = this.#o.engine.releaseHeld(rid);
      if (n === null) {
        return Response.json({ error: `unknown or expired request ${rid}` }, { status: 404 });
      }
      this.#o.log("debug", `NIXL: sent ${n} blocks of request ${rid}`);
      return Response.json({ blocks: n });
    }
    if (url.pathname === "/p2p/put") {
      const waiter = this.#inbox.get(rid);
      if (typeof waiter === "function") waiter(Number(body?.tokens ?? 0));
      else this.#inbox.set(rid, { tokens: Number(body?.tokens ?? 0) });
      return Response.json({ ok: true });
    }
    return new Response("not found", { status: 404 });
  }
}
