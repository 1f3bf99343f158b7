/**
 * Interrupted attempts are never pooled with their rerun: a run directory
 * holding an incomplete run (`complete: false`: Ctrl-C, a crash, a kill) is
 * skipped, with a warning, when another directory among the inputs holds a
 * complete run of the same key (what a resumed sweep leaves when the attempt
 * was not moved aside). Alone, an incomplete run is kept: it is all there is.
 *
 * @module
 */
import { poolKey, type RunInput } from "./run_rows.ts";

/** The inputs without superseded interrupted attempts, and one warning per skipped directory. */
export function dropInterrupted(inputs: RunInput[]): { inputs: RunInput[]; warnings: string[] } {
  const byDir = new Map<string, RunInput[]>();
  for (const i of inputs) {
    if (i.source !== "topobench") continue;
    if (!byDir.has(i.runDir)) byDir.set(i.runDir, []);
    byDir.get(i.runDir)!.push(i);
  }
  const interrupted = new Set(
    [...byDir].filter(([, xs]) => xs.some((x) => !x.complete)).map(([d]) => d),
  );
  if (interrupted.size === 0) return { inputs, warnings: [] };
  // pool key -> the first whole directory holding it
  const whole = new Map<string, string>();
  for (const [d, xs] of byDir) {
    if (interrupted.has(d)) continue;
    for (const x of xs) if (!whole.has(poolKey(x))) whole.set(poolKey(x), d);
  }
  const skip = new Map<string, string>();
  for (const d of interrupted) {
    const rerun = byDir.get(d)!.map((x) => whole.get(poolKey(x))).find((x) => x !== undefined);
    if (rerun) skip.set(d, rerun);
  }
  return {
    inputs: inputs.filter((i) => !skip.has(i.runDir)),
    warnings: [...skip].map(([d, rerun]) =>
      `${d}: an interrupted attempt (complete: false) of what ${rerun} holds whole; skipped, not pooled with it (move it aside or delete it)`
    ),
  };
}
