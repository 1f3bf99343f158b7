/**
 * Where a decode instance's KV comes from in virtual time, per connector, over
 * the decode instance's link (`launch/sim/core/kv_link.ts`, shared with the
 * live engine): NIXL pulls the blocks its prefill holds, P2P-NCCL has them
 * pushed, LMCache finds the longest stored prefix. SIMULATED, virtual clock.
 *
 * @module
 */
import type { EventLoop } from "../../lib/event_loop.ts";
import type {
  EngineRequest,
  FinishInfo,
  RemotePrefill,
  TokenIds,
} from "../../launch/sim/core/engine.ts";
import type { KvLink } from "../../launch/sim/core/kv_link.ts";
import type { VirtualInstance } from "./virtual_instance.ts";

/** The prefill leg behind a decode leg: its instance, request and what it finished with. */
export interface PrefillDone {
  prefill: VirtualInstance;
  id: string;
  promptTokens: TokenIds;
  info: FinishInfo;
}

/**
 * The decode side's KV source for `connector` (`lmcache`: the block hashes
 * stored so far); undefined when LMCache holds no prefix of the prompt.
 */
export function kvRemote(
  loop: EventLoop,
  connector: string,
  decode: VirtualInstance,
  p: PrefillDone,
  lmcache: ReadonlySet<number>,
): EngineRequest["remotePrefill"] {
  if (connector === "nixl") return new VirtualPull(loop, decode.link, p);
  if (connector === "p2pnccl") return new VirtualPull(loop, decode.link, null);
  // lmcache: the longest stored prefix of the prompt
  const hashes = decode.engine.kv.hashes(p.promptTokens, p.promptTokens.length - 1);
  let k = hashes.length;
  while (k > 0 && !lmcache.has(hashes[k - 1])) k--;
  if (k === 0) return undefined;
  return new VirtualPull(loop, decode.link, null, k * decode.engine.kv.blockSize);
}

/**
 * A transfer over the decode instance's link in virtual time, as
 * `linkedRemote` (`kv_link.ts`) moves it live: booked on the link at its
 * start, the blocks fetched at once (NIXL: released by the prefill; pushed KV
 * is always there), done at the booked arrival. One object per request, its
 * arrival an event of a shared function (no closures).
 */
class VirtualPull implements RemotePrefill {
  /** What the transfer answers at its arrival, and to whom. */
  ok = false;
  done: ((ok: boolean) => void) | null = null;

  /**
   * @param from NIXL: the prefill leg whose held blocks are pulled; null: pushed KV
   * @param tokens the prompt tokens the remote side holds (@default the whole prompt)
   */
  constructor(
    readonly loop: EventLoop,
    readonly link: KvLink,
    readonly from: PrefillDone | null,
    readonly tokens?: number,
  ) {}

  start(n: number, done: (ok: boolean) => void): void {
    const arriveMs = this.link.book(this.loop.nowMs(), n);
    this.ok = this.from === null || pulled(this.from);
    this.done = done;
    this.loop.call(arriveMs, arrived, this);
  }
}

/** NIXL: whether the prefill still holds the blocks (it lets them go now). */
function pulled(p: PrefillDone): boolean {
  // ASSUMED: a pull from a killed or hung prefill fails at once (the decode then computes the prefill)
  const there = p.prefill.state !== "dead" && p.prefill.state !== "paused";
  return there && p.info.heldBlockIds !== undefined && p.prefill.engine.releaseHeld(p.id) !== null;
}

/** A transfer's KV has arrived (the event of every {@linkcode VirtualPull}). */
function arrived(pull: VirtualPull): void {
  const done = pull.done!;
  pull.done = null;
  done(pull.ok);
}
