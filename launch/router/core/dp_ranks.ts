/**
 * Data-parallel ranks as router backends: how a topology's `dp_lb` reaches
 * the routing decisions of both clocks.
 *
 * - `internal` (vLLM's internal DP load balancing): an instance is one
 *   backend; its API server spreads requests over its ranks (the engine's
 *   balancer, `launch/sim/core/dp_group.ts`), so the router's policy chooses
 *   the instance and never sees a rank.
 * - `external` (one `vllm serve --data-parallel-rank R` per rank, each its own
 *   port, as llm-d's scheduler routes wide-EP deployments): every rank is a
 *   backend named `<instance>-rank<R>`, so the router's policy (least_loaded,
 *   session, prefix) chooses the rank, and session or prefix stickiness keeps
 *   a conversation on the rank whose KV cache holds its prefix.
 *
 * The live router routes over the backends' URLs (one per rank port); the
 * virtual loop maps each backend of the same router configuration back to its
 * instance and rank with {@linkcode resolveBackends}.
 *
 * @module
 */
import type { BackendSpec } from "../../../lib/contracts.ts";

/** The router backend name of rank `rank` of `instance` (external load balancing). */
export function rankBackendName(instance: string, rank: number): string {
  return `${instance}-rank${rank}`;
}

/** The instance and rank a backend name stands for, or undefined for a whole instance. */
export function parseRankBackend(name: string): { instance: string; rank: number } | undefined {
  const m = /^(.+)-rank(\d+)$/.exec(name);
  return m ? { instance: m[1], rank: Number(m[2]) } : undefined;
}

/**
 * The targets behind a router's `backends`: a backend named as an instance is
 * that instance (`whole`), one named as a rank is `rank(instance, r)`. Throws
 * naming `file` and the backend when neither exists.
 */
export function resolveBackends<I, T>(
  backends: readonly BackendSpec[],
  find: (instance: string) => I | undefined,
  whole: (inst: I) => T,
  rank: (inst: I, r: number, name: string) => T | undefined,
  file: string,
): T[] {
  return backends.map((b, i) => {
    const inst = find(b.name);
    if (inst !== undefined) return whole(inst);
    const r = parseRankBackend(b.name);
    const owner = r && find(r.instance);
    const t = owner === undefined ? undefined : rank(owner, r!.rank, b.name);
    if (t === undefined) {
      throw new RangeError(
        `Cannot route to backend ${i} of ${file}: current value is ${b.name}; allowed: an instance of the topology, or <instance>-rank<R> with R below its data-parallel size`,
      );
    }
    return t;
  });
}
