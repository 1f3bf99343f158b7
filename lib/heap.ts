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
