/**
 * Where each plan candidate's simulated time goes at its SLO capacity: its
 * run's `step_terms.json` (virtual clock) summed per role and grouped into the
 * costs a deployment is argued over: attention (FLOPs and KV reads), dense
 * GEMMs and weight reads, the routed experts, the all-to-all that moves tokens
 * to them, tensor-parallel all-reduces, per-step overhead, and (disaggregated)
 * the KV transfer per request. The largest share of a role's step time is
 * what binds it.
 *
 * @module
 */
import { readStepTerms } from "../predict/step_terms_file.ts";

/** The cost groups of the report, each a sum of step terms. */
export const COST_GROUPS = {
  attention: ["attentionMs", "kvReadMs"],
  dense: ["denseGemmMs", "weightReadMs"],
  experts: ["expertMs"],
  all2all: ["all2allMs"],
  tp_comm: ["tpCommMs"],
  overhead: ["overheadMs"],
} as const;

/** One cost group. */
export type CostGroup = keyof typeof COST_GROUPS;

/** How the report names each group. */
export const COST_GROUP_NAMES: Readonly<Record<CostGroup, string>> = {
  attention: "attention",
  dense: "dense GEMMs/weights",
  experts: "expert GEMMs",
  all2all: "all-to-all",
  tp_comm: "TP all-reduce",
  overhead: "step overhead",
};

/** One role's time by cost at a candidate's capacity. */
export interface RoleStepCost {
  /** `backend` (one-role kinds), `prefill`, `decode`. */
  role: string;
  instances: number;
  gpus: number;
  /** Share of the run its instances were stepping (1: always busy). */
  busy: number;
  /** Each group's share of the role's step time (they add up to 1). */
  shares: Record<CostGroup, number>;
  /** The group with the largest share. */
  binds: CostGroup;
  /** Mean KV transfer into it per request, simulated ms (null: none). */
  kv_transfer_ms: number | null;
}

/** The roles of the run in `runDir` by cost, or null when it wrote no `step_terms.json`. */
export function stepCosts(runDir: string): RoleStepCost[] | null {
  const file = readStepTerms(runDir);
  if (!file || !file.instances.length) return null;
  const roles = [...new Set(file.instances.map((i) => i.role))];
  return roles.map((role) => {
    const xs = file.instances.filter((i) => i.role === role);
    const busyMs = xs.reduce((a, i) => a + i.busy_ms, 0);
    const shares = {} as Record<CostGroup, number>;
    for (const [g, keys] of Object.entries(COST_GROUPS) as [CostGroup, readonly string[]][]) {
      const ms = xs.reduce(
        (a, i) => a + keys.reduce((b, k) => b + i.terms_ms[k as keyof typeof i.terms_ms], 0),
        0,
      );
      shares[g] = busyMs > 0 ? ms / busyMs : 0;
    }
    const binds = (Object.keys(shares) as CostGroup[]).reduce((a, b) =>
      shares[b] > shares[a] ? b : a
    );
    const transfers = xs.reduce((a, i) => a + i.kv_transfers, 0);
    return {
      role,
      instances: xs.length,
      gpus: xs.reduce((a, i) => a + i.gpus, 0),
      busy: file.simulated_ms > 0 ? busyMs / (file.simulated_ms * xs.length) : 0,
      shares,
      binds,
      kv_transfer_ms: transfers ? xs.reduce((a, i) => a + i.kv_transfer_ms, 0) / transfers : null,
    };
  });
}

const pct = (x: number) => `${Math.round(x * 100)}%`;

/** `prefill bound by expert GEMMs (38%), then all-to-all (31%); busy 82%`. */
export function bindingText(r: RoleStepCost): string {
  const [first, second] = (Object.keys(r.shares) as CostGroup[])
    .sort((a, b) => r.shares[b] - r.shares[a]);
  const kv = r.kv_transfer_ms === null
    ? ""
    : `; KV transfer ${Number(r.kv_transfer_ms.toPrecision(3))} ms per request`;
  return `${r.role} bound by ${COST_GROUP_NAMES[first]} (${pct(r.shares[first])}), then ${
    COST_GROUP_NAMES[second]
  } (${pct(r.shares[second])}); busy ${pct(r.busy)}${kv}`;
}

/** The markdown table of every candidate's roles by cost (empty when none has step terms). */
export function stepCostsMd(cs: readonly { label: string; step_costs: RoleStepCost[] | null }[]) {
  const groups = Object.keys(COST_GROUPS) as CostGroup[];
  const rows = cs.flatMap((c) =>
    (c.step_costs ?? []).map((r) =>
      `| ${c.label} | ${r.role} | ${r.gpus} | ${pct(r.busy)} | ${
        groups.map((g) => pct(r.shares[g])).join(" | ")
      } | ${r.kv_transfer_ms === null ? "-" : Number(r.kv_transfer_ms.toPrecision(3))} | ${
        COST_GROUP_NAMES[r.binds]
      } |`
    )
  );
  if (!rows.length) return [];
  return [
    "",
    "Where the step time goes at each candidate's capacity (its last passing load; shares of each role's simulated step time, from the run's step_terms.json; SIMULATED, virtual clock):",
    "",
    `| candidate | role | GPUs | busy | ${
      groups.map((g) => COST_GROUP_NAMES[g]).join(" | ")
    } | KV transfer ms/request | largest share |`,
    `| --- | --- | ---: | ---: | ${groups.map(() => "---:").join(" | ")} | ---: | --- |`,
    ...rows,
  ];
}
