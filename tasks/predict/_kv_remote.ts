/**
 * Where a decode instance's KV comes from in virtual time, per connector, over
 * the decode instance's link (`launch/sim/core/kv_link.ts`, shared with the
 * live engine): NIXL pulls the blocks its prefill holds, P2P-NCCL has them
 * pushed, LMCache finds the longest stored prefix. SIMULATED, virtual clock.
 *
 * @module
 */
import type { EventLoop } from "../../lib/event_loop.ts";
import type { EngineRequest, FinishInfo, TokenIds } from "../../launch/sim/core/engine.ts";
import { linkedRemote } from "../../launch/sim/core/kv_link.ts";
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
  const at = (t: number, fn: () => void) => void loop.at(t, fn);
  if (connector === "nixl") {
    return linkedRemote(decode.link, loop, at, (_n, answer) => {
      // ASSUMED: a pull from a killed or hung prefill fails at once (the decode then computes the prefill)
      const there = p.prefill.state !== "dead" && p.prefill.state !== "paused";
      answer(
        there && p.info.heldBlockIds !== undefined &&
          p.prefill.engine.releaseHeld(p.id) !== null,
      );
    });
  }
  if (connector === "p2pnccl") {
    return linkedRemote(decode.link, loop, at, (_n, answer) => answer(true));
  }
  // lmcache: the longest stored prefix of the prompt
  const hashes = decode.engine.kv.hashes(p.promptTokens, p.promptTokens.length - 1);
  let k = hashes.length;
  while (k > 0 && !lmcache.has(hashes[k - 1])) k--;
  if (k === 0) return undefined;
  const tokens = k * decode.engine.kv.blockSize;
  return linkedRemote(decode.link, loop, at, (_n, answer) => answer(true), tokens);
}
