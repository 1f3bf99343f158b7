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

/** Collects garbage now (a full, blocking GC); returns false where V8's `gc` is not available. */
export function settleHeap(): boolean {
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
