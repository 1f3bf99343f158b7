/**
 * The progress line a run shows on a terminal (stderr), once a second: elapsed
 * server seconds, sent / done / failed, the send rate, the recent TTFT p50 and
 * send-lag p99, and `BEHIND` while that lag is over 5 ms (the client cannot
 * keep the schedule: latencies from the schedule, in the summary, then differ
 * from those from the send).
 *
 * @module
 */
import { percentile } from "../lib/stats.ts";
import type { RunState } from "./runner.ts";

const enc = new TextEncoder();

/** Starts the line; disposing it stops it and ends the line. */
export function startProgress(
  state: RunState,
  recent: { ttftMs: readonly number[]; lagMs: readonly number[] },
  elapsedS: () => number,
): Disposable {
  const timer = setInterval(() => {
    Deno.stderr.writeSync(enc.encode(`\r${progressLine(state, recent, elapsedS())}   `));
  }, 1000);
  return {
    [Symbol.dispose]() {
      clearInterval(timer);
      Deno.stderr.writeSync(enc.encode("\n"));
    },
  };
}

/** Send lag p99 over which the line says the client is behind (ms), as the summary's `client_saturated`. */
export const BEHIND_MS = 5;

/** The progress line's text. */
export function progressLine(
  state: RunState,
  recent: { ttftMs: readonly number[]; lagMs: readonly number[] },
  elapsedS: number,
): string {
  const lag = recent.lagMs.length ? percentile([...recent.lagMs], 99) : 0;
  return `[bench] ${
    elapsedS.toFixed(0)
  } s sent ${state.sent} done ${state.done} failed ${state.failed} rate ${
    (state.sent / Math.max(elapsedS, 1e-3)).toFixed(1)
  }/s p50 TTFT ${percentile([...recent.ttftMs], 50).toFixed(1)} ms lag p99 ${lag.toFixed(1)} ms${
    lag > BEHIND_MS ? " BEHIND schedule" : ""
  }`;
}
