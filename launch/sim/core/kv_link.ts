/**
 * The KV transfer model shared by both clocks: one link per receiving
 * instance (its NIC or NVLink port, per tensor-parallel rank). Concurrent
 * transfers share the link first come, first served: each one occupies the
 * wire for `bytes / bandwidth` after those before it, then pays the fixed
 * handshake latency. The same arithmetic runs live (the decode process) and
 * virtual (the event loop), so both charge the same transfer time.
 *
 * @module
 */
import type { Clock } from "../../../lib/clock.ts";
import type { CostModel, LinkKind } from "./cost_model.ts";
import type { RemotePrefill } from "./engine.ts";

/** Default fixed cost of one KV transfer (handshake, first byte), simulated ms. */
export const DEFAULT_KV_LATENCY_MS = 2;

/** What one connector's transfers cost besides the bytes on the wire. */
export interface ConnectorKvCost {
  /** The link its KV moves over unless `--kv-link` says otherwise. */
  link: LinkKind;
  /** Fixed cost per transfer, simulated ms. */
  latencyMs: number;
  /** Cost per KV block moved (descriptors, copies not on the wire), µs. */
  perBlockUs: number;
}

/**
 * Per-connector transfer costs (vLLM's connector names). These are assumptions,
 * not measurements (no published per-transfer figures were found); change them
 * with `--kv-link`, `--kv-latency-ms`, `--kv-per-block-us`.
 */
export const CONNECTOR_KV_COSTS: Readonly<Record<string, ConnectorKvCost>> = {
  // NIXL READs of paged blocks over UCX: a notification round trip per transfer,
  // and one descriptor per block per layer for K and V (64 for Llama-8B) to prepare
  // and post, ~0.08 µs each.
  NixlConnector: { link: "nvlink", latencyMs: 2, perBlockUs: 5 },
  // P2P-NCCL: a ZMQ request and ack plus NCCL send/recv of one tensor per layer.
  P2pNcclConnector: { link: "nvlink", latencyMs: 3, perBlockUs: 0 },
  // LMCache: the KV goes through the host store, so GPU<->CPU over PCIe, plus a lookup.
  LMCacheConnectorV1: { link: "pcie", latencyMs: 3, perBlockUs: 0 },
};

/** The costs of connector `name`, or the defaults (nvlink, 2 ms, 0) for any other. */
export function connectorKvCost(name: string | undefined): ConnectorKvCost {
  return (name && CONNECTOR_KV_COSTS[name]) ||
    { link: "nvlink", latencyMs: DEFAULT_KV_LATENCY_MS, perBlockUs: 0 };
}

/** A link that KV transfers into one instance share. */
export class KvLink {
  #freeAtMs = 0;
  /** Simulated ms transfers spent queued behind others. */
  queuedMs = 0;
  /** Transfers booked. */
  transfers = 0;
  /** Their summed time from booking to arrival (queue, wire, handshake), simulated ms. */
  transferMs = 0;

  /**
   * @param cost the receiving instance's cost model (KV bytes per token per rank)
   * @param gbps link bandwidth per rank, GB/s
   * @param latencyMs fixed cost per transfer (@default DEFAULT_KV_LATENCY_MS)
   */
  /**
   * @param perBlockUs cost per block moved, µs (@default 0)
   * @param blockSize tokens per block (@default 16)
   */
  constructor(
    readonly cost: CostModel,
    readonly gbps: number,
    readonly latencyMs = DEFAULT_KV_LATENCY_MS,
    readonly perBlockUs = 0,
    readonly blockSize = 16,
  ) {
    if (!(gbps > 0) || !Number.isFinite(gbps)) {
      throw new RangeError(`Cannot use ${gbps} as KV link GB/s: current value is ${gbps}`);
    }
    if (!(latencyMs >= 0)) {
      throw new RangeError(
        `Cannot use ${latencyMs} as KV latency ms: current value is ${latencyMs}`,
      );
    }
  }

  /** Fixed and per-block cost of one transfer (not on the shared wire), ms. */
  #overheadMs(tokens: number): number {
    return this.latencyMs + Math.ceil(tokens / this.blockSize) * this.perBlockUs / 1000;
  }

  /** Time one transfer of `tokens` tokens takes on an idle link, ms. */
  aloneMs(tokens: number): number {
    if (tokens <= 0) return 0;
    return this.cost.kvTransferMs(tokens, this.gbps, 0) + this.#overheadMs(tokens);
  }

  /** Books a transfer of `tokens` tokens starting at `nowMs`; returns when its KV has arrived. */
  book(nowMs: number, tokens: number): number {
    if (tokens <= 0) return nowMs;
    const wireMs = this.cost.kvTransferMs(tokens, this.gbps, 0);
    const start = Math.max(nowMs, this.#freeAtMs);
    this.queuedMs += start - nowMs;
    this.#freeAtMs = start + wireMs;
    const arriveMs = start + wireMs + this.#overheadMs(tokens);
    this.transfers++;
    this.transferMs += arriveMs - nowMs;
    return arriveMs;
  }
}

/**
 * A {@linkcode RemotePrefill} over `link`: `fetchKv` moves the blocks (an HTTP
 * pull live, a call virtually) and reports success; the KV counts as arrived
 * when both the fetch has answered and the booked transfer time has passed.
 *
 * @param at runs a callback at a simulated instant (live: the wall clock x speed; virtual: an event)
 */
export function linkedRemote(
  link: KvLink,
  clock: Clock,
  at: (atMs: number, fn: () => void) => void,
  fetchKv: (tokens: number, answer: (ok: boolean) => void) => void,
  tokens?: number,
): RemotePrefill {
  return {
    tokens,
    start(n, done) {
      const arrive = link.book(clock.nowMs(), n);
      let ok: boolean | null = null;
      let due = false;
      fetchKv(n, (r) => {
        ok = r;
        if (due) done(r);
      });
      at(arrive, () => {
        due = true;
        if (ok !== null) done(ok);
      });
    },
  };
}
