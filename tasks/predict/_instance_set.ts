/**
 * The instances of a virtual topology and the router's view of them: built
 * from the plan's `deno task sim` command lines (as `up` starts them), listed
 * per role, the subset in rotation (healthy), and one more of a role added
 * cold at run time (a scenario's `start`). SIMULATED, virtual clock.
 *
 * @module
 */
import type { BackendSpec, Role } from "../../lib/contracts.ts";
import type { Plan } from "../../launch/_plan.ts";
import { simCommand } from "../../launch/vllm.ts";
import {
  type InstanceContext,
  routedTargets,
  type VirtualInstance,
  virtualInstance,
} from "./virtual_instance.ts";

/** A topology's instances, per role and in rotation. */
export class InstanceSet {
  readonly all: VirtualInstance[] = [];
  /** GPUs the instances of the plan use (tensor-parallel x data-parallel sizes), added ones not counted. */
  readonly gpus: number;
  /** Instances per role, built once (routing asks on every request). */
  readonly #byRole = new Map<Role, VirtualInstance[]>();
  /** Instances per role in the router's rotation (the same lists as `#byRole` until one leaves). */
  #rotation = this.#byRole;

  /** Builds every instance of `plan` on `ctx`'s loop. */
  constructor(readonly plan: Plan, readonly ctx: InstanceContext) {
    for (const inst of plan.instances) {
      this.#push(virtualInstance(inst.name, inst.role, simCommand(plan, inst), ctx));
    }
    this.gpus = this.all.reduce((a, i) => a + i.cfg.tp * i.cfg.dp, 0);
  }

  #push(inst: VirtualInstance): void {
    this.all.push(inst);
    if (!this.#byRole.has(inst.role)) this.#byRole.set(inst.role, []);
    this.#byRole.get(inst.role)!.push(inst);
  }

  /**
   * Routes over the router configuration's backend lists (`file` names it in
   * errors): per role, the instances in its order, or with `dp_lb: external`
   * a target per rank (`launch/router/core/dp_ranks.ts`).
   */
  routeOver(lists: Partial<Record<Role, readonly BackendSpec[]>>, file: string): void {
    for (const [role, list] of Object.entries(lists) as [Role, readonly BackendSpec[]][]) {
      if (list?.length) this.#byRole.set(role, routedTargets(list, this.all, file));
    }
  }

  /** Instances of `role` in rotation (the router picks among these). */
  inRotation(role: Role): VirtualInstance[] {
    return this.#rotation.get(role) ?? [];
  }

  /** Every instance of `role`, in rotation or not. */
  configured(role: Role): VirtualInstance[] {
    return this.#byRole.get(role) ?? [];
  }

  /** One more instance of plan role `role`, cold and out of rotation (a `start` event). */
  add(role: string): VirtualInstance {
    const first = this.plan.instances.find((i) => i.role === role)!;
    const stem = first.name.replace(/\d+$/, "");
    const index = this.all.filter((i) => i.name.startsWith(stem)).length;
    const spec = { ...first, name: `${stem}${index}`, index };
    const inst = virtualInstance(spec.name, spec.role, simCommand(this.plan, spec), this.ctx);
    inst.state = "starting";
    inst.healthy = false;
    this.#push(inst);
    this.refresh();
    return inst;
  }

  /** Instances went in or out of rotation: the per-role lists the router picks from, again. */
  refresh(): void {
    const r = new Map<Role, VirtualInstance[]>();
    for (const [role, list] of this.#byRole) r.set(role, list.filter((i) => i.healthy));
    this.#rotation = r;
  }
}
