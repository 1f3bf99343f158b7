/**
 * The progress line a run shows on a terminal (stderr), once a second: elapsed
 * server seconds, sent / done / failed, the send rate and the recent TTFT p50.
 *
 * @module
 */
import { percentile } from "../lib/stats.ts";
import type { RunState } from "./runner.ts";

const enc = new TextEncoder();

/** Starts the line; disposing it stops it and ends the line. */
export function startProgress(
  state: RunState,
  recentTtftMs: readonly number[],
  elapsedS: () => number,
): Disposable {
  const timer = setInterval(() => {
    const el = elapsedS();
    Deno.stderr.writeSync(enc.encode(
      `\r[bench] ${
        el.toFixed(0)
      } s sent ${state.sent} done ${state.done} failed ${state.failed} rate ${
        (state.sent / Math.max(el, 1e-3)).toFixed(1)
      }/s p50 TTFT ${percentile([...recentTtftMs], 50).toFixed(1)} ms   `,
    ));
  }, 1000);
  return {
    [Symbol.dispose]() {
      clearInterval(timer);
      Deno.stderr.writeSync(enc.encode("\n"));
    },
  };
}
