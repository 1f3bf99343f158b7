/**
 * The KV connectors of the simulated engine, chosen once at start-up from
 * `--kv-transfer-config` (vLLM's names): what a request receives instead of
 * computing its prefill (consumer), whether its blocks are kept for a pull
 * (producer), what happens when it finishes (LMCache store, P2P-NCCL push) and
 * the `kv_transfer_params` of its response. The HTTP handler asks the one
 * connector it was given and has no connector branches of its own.
 *
 * @module
 */
import type { EngineCore, FinishInfo, RemotePrefill, TokenIds } from "../core/engine.ts";
import type { KvSideChannel } from "./kv_transfer.ts";
import type { KvTransferConfig } from "../../../lib/contracts.ts";
import { lmcacheDir, lmcacheLookup, lmcacheStore } from "./_lmcache.ts";

/** What a connector sees of one request. */
export interface KvRequest {
  /** The engine's request id (unique while in flight). */
  id: string;
  /** The client's `X-Request-Id` (P2P-NCCL carries the peer addresses in it). */
  base: string;
  promptTokens: TokenIds;
  /** `kv_transfer_params` of the request body, if any. */
  params?: Record<string, unknown>;
}

/** One connector's behaviour. */
export interface KvConnector {
  /** vLLM's connector name, or `none`. */
  readonly name: string;
  /** Consumer side: where the prompt's KV comes from, or undefined to compute it here. */
  remote(r: KvRequest): Promise<RemotePrefill | undefined>;
  /** Producer side: keep the prompt's blocks after finishing, for a pull. */
  holds(r: KvRequest): boolean;
  /** After a finished (not aborted) request; the response completes after this resolves. */
  finished(r: KvRequest, info: FinishInfo): Promise<void>;
  /** The response's `kv_transfer_params`, or null. */
  responseParams(r: KvRequest, info: FinishInfo): Record<string, unknown> | null;
}

type Log = (level: "info" | "debug" | "warn", msg: string) => void;

const NONE: KvConnector = {
  name: "none",
  remote: () => Promise.resolve(undefined),
  holds: () => false,
  finished: () => Promise.resolve(),
  responseParams: () => null,
};

/**
 * The connector for `cfg` over the live side channel `side` (none without a
 * config; `MultiConnector` is accepted and moves nothing).
 */
export function createKvConnector(
  cfg: KvTransferConfig | undefined,
  side: KvSideChannel | undefined,
  engine: EngineCore,
  log: Log,
): KvConnector {
  if (!cfg || !side) return NONE;
  switch (cfg.kv_connector) {
    case "NixlConnector":
      return {
        name: cfg.kv_connector,
        remote: (r) =>
          Promise.resolve(
            r.params?.do_remote_prefill === true ? side.nixlRemote(r.params) : undefined,
          ),
        holds: (r) => r.params?.do_remote_decode === true,
        finished: () => Promise.resolve(),
        responseParams: (r, info) =>
          info.heldBlockIds ? side.producerParams(r.id, info.heldBlockIds) : null,
      };
    case "P2pNcclConnector": {
      const addressed = (r: KvRequest) => r.base.includes("___decode_addr_");
      return {
        name: cfg.kv_connector,
        remote: (r) =>
          Promise.resolve(
            addressed(r) && cfg.kv_role === "kv_consumer" ? side.p2pRemote(r.base) : undefined,
          ),
        holds: () => false,
        finished: (r, info) => {
          if (addressed(r) && cfg.kv_role === "kv_producer") {
            side.p2pPush(r.base, info.promptTokens).catch((e) =>
              log("warn", `P2P-NCCL send failed for ${r.base}: ${e}`)
            );
          }
          return Promise.resolve();
        },
        responseParams: () => null,
      };
    }
    case "LMCacheConnectorV1": {
      const dir = lmcacheDir(cfg.kv_connector_extra_config);
      const B = engine.kv.blockSize;
      return {
        name: cfg.kv_connector,
        remote: async (r) => {
          if (cfg.kv_role === "kv_producer") return undefined;
          const hashes = engine.kv.hashes(r.promptTokens, r.promptTokens.length - 1);
          const stored = await lmcacheLookup(dir, hashes, B);
          return stored > 0 ? side.storedRemote(stored) : undefined;
        },
        holds: () => false,
        // Stored before the response completes, so a decode sent next finds it.
        finished: (r) =>
          cfg.kv_role === "kv_consumer"
            ? Promise.resolve()
            : lmcacheStore(dir, engine.kv.hashes(r.promptTokens), B)
              .catch((e) => log("warn", `LMCache store failed: ${e}`)),
        responseParams: () => null,
      };
    }
    default:
      return NONE;
  }
}
