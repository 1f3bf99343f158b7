/**
 * Spare instances: instances a topology plans but `up` does not start, for a
 * scenario's `start` events to start later (`tasks/_live_scenario.ts`). Each
 * spare is one more instance of its role block (the role's `count` raised),
 * moved to ports the OS reports free on its loopback address. The router
 * knows it before it runs: in its static list as a spare (out of rotation
 * until `/health` answers 200), or, where the topology uses discovery
 * (`router.discovery: zmq`), only on the discovery allow-list by its exact
 * `host:port`s, so it joins by registering as it listens.
 *
 * @module
 */
import { freePort } from "../lib/net.ts";
import type { InstancePlan, Plan } from "./_plan.ts";
import type { Topology } from "./topology.ts";
import type { TopologySet } from "./topology_set.ts";

/** Spare instances per role block (`decode: 1`). */
export type SpareCounts = Readonly<Record<string, number>>;

/** The `--set` changes that plan `spares` as more instances of their roles; throws on a role `t` lacks. */
export function spareSets(t: Topology, spares: SpareCounts): TopologySet[] {
  return Object.entries(spares).filter(([, n]) => n > 0).map(([role, n]) => {
    const spec = t.roles.find((r) => r.role === role);
    if (!spec) {
      throw new RangeError(
        `Cannot plan a spare ${role} instance of ${t.file}: current value is ${role}; allowed: ${
          t.roles.map((r) => r.role).join(", ")
        }`,
      );
    }
    const remote = spec.hosts.find((h) => h !== undefined);
    if (t.platform === "kubernetes" || remote !== undefined) {
      throw new RangeError(
        `Cannot plan a spare ${role} instance of ${t.file} on ${
          remote ?? "a cluster"
        }: current value is a remote role; allowed: local roles (start events run on this host)`,
      );
    }
    return { path: [role, "count"], value: spec.count + n };
  });
}

/**
 * Marks the last `spares[role]` instances of each role of `plan` as spares
 * and moves their HTTP and KV ports to free loopback ports; returns their names.
 */
export async function placeSpares(plan: Plan, spares: SpareCounts): Promise<string[]> {
  const names: string[] = [];
  for (const [role, n] of Object.entries(spares)) {
    const of = plan.instances.filter((i) => i.role === role);
    for (const inst of of.slice(of.length - n)) {
      await movePorts(inst);
      names.push(inst.name);
    }
  }
  plan.spares = names;
  return names;
}

async function movePorts(inst: InstancePlan): Promise<void> {
  if (!inst.address.startsWith("127.")) {
    throw new RangeError(
      `Cannot plan ${inst.name} as a spare on ${inst.address}: current value is ${inst.address}; allowed: a loopback address (127.0.0.x)`,
    );
  }
  if (inst.tp !== 1 || inst.endpoints || (inst.parallel?.dp ?? 1) > 1) {
    throw new RangeError(
      `Cannot plan ${inst.name} as a spare: current value is tp ${inst.tp}, dp ${
        inst.parallel?.dp ?? 1
      }; allowed: one-GPU instances (tp 1, dp 1)`,
    );
  }
  inst.port = await freePort(inst.address);
  inst.url = `http://${inst.address}:${inst.port}`;
  if (inst.kvPort !== undefined) inst.kvPort = await freePort(inst.address);
  if (inst.sideChannelPort !== undefined) inst.sideChannelPort = await freePort(inst.address);
}

/** Whether `plan` holds `inst` back as a spare. */
export function isSpare(plan: Plan, inst: { name: string }): boolean {
  return plan.spares?.includes(inst.name) ?? false;
}
