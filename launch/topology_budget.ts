/**
 * GPU budgets: every size of a topology that uses exactly N GPUs, as the
 * `--set` changes that give it (experiment files' `sweep.topology: { budget: 8 }`).
 * An instance counts tp × dp GPUs (tp × nodes without data parallelism).
 * dp gets `replicas.count = N / (tp·dp)`; pd and ppd every `P + D` split
 * (`P·gpus_prefill + D·gpus_decode = N`, P, D ≥ 1); epd every `E + P + D` split;
 * agg (one engine) only its own size, when that is N. Pure: no files.
 *
 * @module
 */
import type { RoleBlock, Topology } from "./topology.ts";
import { sizeLabelOf, type TopologySet } from "./topology_set.ts";
import { instanceGpus } from "./_parallel.ts";

/** GPUs a topology occupies: per instance tp × dp, or tp × nodes without data parallelism. */
export function topologyGpus(t: Topology): number {
  return t.roles.reduce((n, r) => n + r.tp.reduce((a, _, i) => a + instanceGpus(r, i), 0), 0);
}

/** Every way to write `budget` as `Σ counts[i]·sizes[i]` with each count ≥ 1, first role slowest. */
function splits(tps: readonly number[], budget: number): number[][] {
  if (tps.length === 0) return budget === 0 ? [[]] : [];
  const [tp, ...rest] = tps;
  const restMin = rest.reduce((a, b) => a + b, 0);
  const out: number[][] = [];
  for (let n = 1; n * tp + restMin <= budget; n++) {
    for (const tail of splits(rest, budget - n * tp)) out.push([n, ...tail]);
  }
  return out;
}

/**
 * The changes that size `t` to exactly `budget` GPUs, one list per size, in
 * order of the first role's count (`1P7D`, `2P6D`, ...). Throws a RangeError
 * naming `what` (e.g. the file and label) when the kind cannot be sized so.
 */
export function budgetSizes(t: Topology, budget: number, what = t.file): TopologySet[][] {
  if (!Number.isInteger(budget) || budget < 1) {
    throw new RangeError(
      `Cannot use ${budget} as a GPU budget of ${what}: current value is ${budget}; allowed: a whole number >= 1`,
    );
  }
  const gpus = topologyGpus(t);
  if (t.kind === "agg" || t.kind === "custom") {
    if (gpus === budget) return [[]];
    throw new RangeError(
      `Cannot size ${what} to a budget of ${budget} GPUs: current value is ${gpus} GPUs; kind ${t.kind} is ${
        t.kind === "agg" ? "one engine (its size is server.tp × server.dp)" : "a command topology"
      }; leave it out of sweep.topology.kinds or give it ${budget} GPUs`,
    );
  }
  const roles: RoleBlock[] = t.kind === "dp"
    ? ["replicas"]
    : t.kind === "epd"
    ? ["encode", "prefill", "decode"]
    : ["prefill", "decode"];
  const tps = roles.map((name) => roleTp(t, name, budget, what));
  // GPUs of one instance of each role: tp, × dp (or × nodes without DP)
  const sizes = roles.map((name, i) => {
    const r = t.roles.find((x) => x.role === name)!;
    return instanceGpus({ ...r, tp: [tps[i]] }, 0);
  });
  const found = splits(sizes, budget);
  if (!found.length) {
    const per = sizes.some((n, i) => n !== tps[i])
      ? `${sizes.join("/")} GPUs per instance (tp × dp, or tp × nodes)`
      : `tp ${tps.join("/")}`;
    throw new RangeError(
      `Cannot size ${what} (kind ${t.kind}) to a budget of ${budget} GPUs: current value is ${per} for ${
        roles.join("/")
      }, which no count of each (>= 1) sums to ${budget}`,
    );
  }
  return found.map((counts) => counts.map((n, i) => ({ path: [roles[i], "count"], value: n })));
}

/** The one tensor-parallel size of role `name` (budgets need one per role). */
function roleTp(t: Topology, name: RoleBlock, budget: number, what: string): number {
  const r = t.roles.find((x) => x.role === name)!;
  if (new Set(r.tp).size > 1) {
    throw new RangeError(
      `Cannot size ${what} to a budget of ${budget} GPUs: current value of ${name} has mixed tensor-parallel sizes ${
        JSON.stringify(r.tp)
      }; allowed: one tp per role (set ${name}.tp)`,
    );
  }
  return r.tp[0] ?? 1;
}

/**
 * A topology's size for labels of budget sweeps: {@linkcode sizeLabelOf}
 * without a `-tp1` suffix, a dp's replica count alone, and `_` between
 * differing TP sizes so the label can name a folder (`2P6D`, `8`, `4-tp2`,
 * `2P3D-tp1_2`, `1P1D-dep16`).
 */
export function shortSizeLabel(t: Topology): string {
  const size = sizeLabelOf(t).replace(/-tp1(?=-|$)/, "").replaceAll("/", "_");
  return t.kind === "dp" ? size.replace(/^dp/, "") : size;
}
