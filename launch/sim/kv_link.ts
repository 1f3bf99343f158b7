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
import type { Clock } from "./clock.ts";
import type { CostModel } from "./cost_model.ts";
import type { RemotePrefill } from "./engine.ts";

/** Default fixed cost of one KV transfer (handshake, first byte), simulated ms. */
export const DEFAULT_KV_LATENCY_MS = 2;

/** A link that KV transfers into one instance share. */
export class KvLink {
  #freeAtMs = 0;
  /** Simulated ms transfers spent queued behind others. */
  queuedMs = 0;

  /**
   * @param cost the receiving instance's cost model (KV bytes per token per rank)
   * @param gbps link bandwidth per rank, GB/s
   * @param latencyMs fixed cost per transfer (@default DEFAULT_KV_LATENCY_MS)
   */
  constructor(
    readonly cost: CostModel,
    readonly gbps: number,
    readonly latencyMs = DEFAULT_KV_LATENCY_MS,
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

  /** Time one transfer of `tokens` tokens takes on an idle link, ms. */
  aloneMs(tokens: number): number {
    return this.cost.kvTransferMs(tokens, this.gbps, this.latencyMs);
  }

  /** Books a transfer of `tokens` tokens starting at `nowMs`; returns when its KV has arrived. */
  book(nowMs: number, tokens: number): number {
    if (tokens <= 0) return nowMs;
    const wireMs = this.cost.kvTransferMs(tokens, this.gbps, 0);
    const start = Math.max(nowMs, this.#freeAtMs);
    this.queuedMs += start - nowMs;
    this.#freeAtMs = start + wireMs;
    return start + wireMs + this.latencyMs;
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
