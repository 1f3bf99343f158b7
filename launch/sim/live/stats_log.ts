/**
 * vLLM's periodic engine stats line, with its exact wording, every
 * `--log-interval` simulated seconds while the engine is active.
 *
 * @module
 */
import type { ServedEngine } from "../core/dp_group.ts";
import type { SimClock } from "./clock.ts";

/** The line vLLM's LoggingStatLogger prints (without the log head). */
export function statsLine(s: {
  engineIndex: number;
  promptTps: number;
  genTps: number;
  running: number;
  waiting: number;
  kvUsagePct: number;
  prefixHitPct: number;
}): string {
  return `Engine ${String(s.engineIndex).padStart(3, "0")}: Avg prompt throughput: ${
    s.promptTps.toFixed(1)
  } tokens/s, ` +
    `Avg generation throughput: ${s.genTps.toFixed(1)} tokens/s, Running: ${s.running} reqs, ` +
    `Waiting: ${s.waiting} reqs, GPU KV cache usage: ${s.kvUsagePct.toFixed(1)}%, ` +
    `Prefix cache hit rate: ${s.prefixHitPct.toFixed(1)}%`;
}

/**
 * Logs the stats line every `intervalS` simulated seconds while anything
 * happened since the last line (and once more when it goes idle).
 * Returns a function that stops it.
 */
export function startStatsLogger(
  engine: ServedEngine,
  clock: SimClock,
  intervalS: number,
  write: (line: string) => void,
  engineIndex = 0,
): () => void {
  let last = { t: clock.nowMs(), prompt: 0, gen: 0, q: 0, h: 0 };
  let hitPct = 0;
  let wasIdle = true;
  const tick = () => {
    const m = engine.metrics;
    const now = clock.nowMs();
    const dt = Math.max(1e-9, (now - last.t) / 1000);
    const dq = engine.kv.queries - last.q;
    if (dq > 0) hitPct = (100 * (engine.kv.hits - last.h)) / dq;
    const promptTps = (m.promptTokens - last.prompt) / dt;
    const genTps = (m.generationTokens - last.gen) / dt;
    const idle = promptTps === 0 && genTps === 0 && engine.numRunning === 0 &&
      engine.numWaiting === 0;
    if (!(idle && wasIdle)) {
      write(statsLine({
        engineIndex,
        promptTps,
        genTps,
        running: engine.numRunning,
        waiting: engine.numWaiting,
        kvUsagePct: engine.kv.usage() * 100,
        prefixHitPct: hitPct,
      }));
    }
    wasIdle = idle;
    last = {
      t: now,
      prompt: m.promptTokens,
      gen: m.generationTokens,
      q: engine.kv.queries,
      h: engine.kv.hits,
    };
  };
  const timer = setInterval(tick, clock.toRealMs(intervalS * 1000));
  return () => clearInterval(timer);
}
