/**
 * An experiment's topologies as they run: `sweep.topology` expanded (field
 * values crossed, then every size of a GPU budget), and each topology's router
 * policy resolved (a replica baseline routes by session on multi-turn workloads
 * unless the experiment sets `router.policy`).
 *
 * @module
 */
import { loadTopologyWith, sizeLabelOf, type TopologySet } from "../launch/topology_set.ts";
import { budgetSizes, shortSizeLabel } from "../launch/topology_budget.ts";
import type { Topology } from "../launch/topology.ts";
import { parseTrace } from "../bench/workload/trace.ts";
import { readConfigText } from "../lib/read_config.ts";
import type { Experiment, ExperimentTopology } from "./_experiment.ts";

/** The policy a replica baseline gets on multi-turn workloads (the router's sticky one). */
export const SESSION_POLICY = "session";

/** `label`, or `label-2`, `label-3`, ... when `taken` already has it. */
function uniqueLabel(label: string, taken: readonly ExperimentTopology[]): string {
  let out = label;
  for (let k = 2; taken.some((x) => x.label === out); k++) out = `${label}-${k}`;
  return out;
}

/** Every combination of the cartesian `sweep.topology` fields, as change lists. */
function fieldCombos(fields: Record<string, unknown[]>): TopologySet[][] {
  let combos: TopologySet[][] = [[]];
  for (const [k, vs] of Object.entries(fields)) {
    combos = combos.flatMap((c) => vs.map((v) => [...c, { path: k.split("."), value: v }]));
  }
  return combos;
}

/** `t` at each budget size (or as it is when the budget leaves it out). */
async function budgetEntries(
  exp: Experiment,
  base: string,
  t: ExperimentTopology,
  topo: Topology,
  taken: readonly ExperimentTopology[],
): Promise<ExperimentTopology[]> {
  const b = exp.sweep.budget;
  if (!b || (b.kinds && !b.kinds.includes(base))) return [t];
  const where = `topology ${base} of ${exp.file} (sweep.topology.budget)`;
  const out: ExperimentTopology[] = [];
  for (const size of budgetSizes(topo, b.gpus, where)) {
    if (size.length === 0) {
      out.push(t);
      continue;
    }
    const sets = [...t.sets, ...size];
    const sized = await loadTopologyWith(t.file, sets);
    const label = uniqueLabel(`${base}-${shortSizeLabel(sized)}`, [...taken, ...out]);
    out.push({ ...t, label, sets });
  }
  return out;
}

/**
 * One topology entry per combination of the `sweep.topology` fields, labelled
 * `<label>-<size>` (`pd-2P1D-tp1`), then, with a budget, one per size that uses
 * exactly the budget's GPUs, labelled `<label>-<size>` again (`pd-2P6D`, `dp-8`;
 * `-2`, `-3` where field values give the same size); every file is read and
 * validated, so a bad combination fails before anything runs.
 */
export async function expandTopologySweep(exp: Experiment): Promise<Experiment> {
  const fields = Object.keys(exp.sweep.topology).length > 0;
  if (!fields && !exp.sweep.budget) return exp;
  const out: ExperimentTopology[] = [];
  for (const t of exp.topologies) {
    for (const c of fieldCombos(exp.sweep.topology)) {
      const sets = [...t.sets, ...c];
      const topo = await loadTopologyWith(t.file, sets);
      const label = fields ? uniqueLabel(`${t.label}-${sizeLabelOf(topo)}`, out) : t.label;
      out.push(...await budgetEntries(exp, t.label, { ...t, label, sets }, topo, out));
    }
  }
  return { ...exp, topologies: out };
}

/** Whether the workload's requests come in sessions (conversations, or a trace's `session_id`). */
export async function workloadHasSessions(workload: Experiment["workload"]): Promise<boolean> {
  const dataset = String(workload.dataset ?? "random");
  if (dataset === "multiturn" || dataset === "sharegpt-multiturn") return true;
  if (dataset !== "trace" || typeof workload["dataset-path"] !== "string") return false;
  const file = workload["dataset-path"];
  return parseTrace(await readConfigText(file, "a trace file"), file).some((r) =>
    r.sessionId !== undefined
  );
}

/** The router's policies in words: `session`, or `round_robin (decode: session)` where roles differ. */
export function policyText(r: Topology["router"]): string {
  const roles = [["prefill", r.prefillPolicy], ["decode", r.decodePolicy]]
    .filter(([, p]) => p !== undefined && p !== r.policy).map(([k, p]) => `${k}: ${p}`);
  return roles.length ? `${r.policy} (${roles.join(", ")})` : r.policy;
}

const setsPolicy = (sets: readonly TopologySet[]) =>
  sets.some((s) => s.path.join(".") === "router.policy");

/**
 * Each topology's router policy: a dp topology on a workload with sessions
 * routes by session (so a conversation's turns find their prefix cache) unless
 * its entry, a `sweep.topology` field or `commandSets` set `router.policy`.
 */
export async function resolveRouting(
  exp: Experiment,
  commandSets: readonly TopologySet[] = [],
): Promise<Experiment> {
  const sessions = await workloadHasSessions(exp.workload);
  const topologies: ExperimentTopology[] = [];
  for (const t of exp.topologies) {
    // a default chosen before (command-line sets now) is chosen again
    const own = t.routerPolicyDefaulted
      ? t.sets.filter((s) => s.path.join(".") !== "router.policy")
      : t.sets;
    const topo = await loadTopologyWith(t.file, [...own, ...commandSets]);
    const explicit = setsPolicy(own) || setsPolicy(commandSets);
    if (topo.kind === "dp" && sessions && !explicit) {
      const set: TopologySet = { path: ["router", "policy"], value: SESSION_POLICY };
      topologies.push({
        ...t,
        sets: [...own, set],
        routerPolicy: SESSION_POLICY,
        routerPolicyDefaulted: true,
      });
    } else {
      topologies.push({
        ...t,
        sets: own,
        routerPolicy: policyText(topo.router),
        routerPolicyDefaulted: false,
      });
    }
  }
  return { ...exp, topologies };
}
