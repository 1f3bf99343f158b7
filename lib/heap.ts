/**
 * A full garbage collection on demand, so that set-up garbage (tokenizer,
 * dataset, word lists) is collected before a timed run starts instead of in a
 * ~100 ms mark-compact pause a moment into it (seen as send lag).
 *
 * @module
 */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

let gc: (() => void) | null | undefined;

/**
 * The Deno flag every bench process starts with (`deno task bench`, and each
 * bench process topobench starts): young-generation semi-spaces of at most
 * 4 MB, as `predict`, `plan` and `validate` run. Scavenges then come more often
 * and pause less: bench at 5,000 req/s after a 1 s warm-up, 8 alternated pairs
 * (2026-12-07, load 0.9–1.8): send-lag p99 4.8 / 5.3 / 3.4 / 6.1 / 5.8 / 25.7 /
 * 5.7 / 4.0 ms against 15.4 / 7.0 / 5.5 / 6.4 / 7.0 / 7.1 / 173 / 14.9 ms with
 * V8's default (16 MB here), CPU per request alike.
 */
export const BENCH_V8_FLAGS = "--v8-flags=--max-semi-space-size=4";

/**
 * Heap in use (bytes) below which a fast run's start leaves the heap alone
 * (`settleHeap(SETTLE_FAST_FROM_BYTES)`): V8's on-demand GC here is a
 * memory-reducing one that also shrinks the young generation, and a run at
 * thousands of requests a second then grew it back in its first second under
 * load, in scavenges of 10–30 ms (bench at 5,000 req/s, 2026-12-07: send-lag
 * p99 8/29/11 ms without it against 27/61/25 ms with it, three alternated
 * pairs, ~10 MB in use). A loaded tokenizer or a built dataset leaves far
 * more, and collecting that before the clock is what the GC is for.
 */
export const SETTLE_FAST_FROM_BYTES = 32 * 1024 * 1024;

/**
 * Collects garbage now (a full, blocking GC) when at least `fromBytes` are in
 * use; returns whether it did (false also where V8's `gc` is not available).
 */
export function settleHeap(fromBytes = 0): boolean {
  if (fromBytes > 0 && Deno.memoryUsage().heapUsed < fromBytes) return false;
  if (gc === undefined) {
    try {
      setFlagsFromString("--expose-gc");
      gc = runInNewContext("gc") as typeof gc;
    } catch {
      gc = null;
    }
  }
  if (!gc) return false;
  // (V8 here ignores gc()'s options: this is a memory-reducing full GC, and growing
  // the heap back costs a shorter incremental one about a second into the run)
  gc();
  return true;
}
