/**
 * The autoscaler's shell in virtual time: at every `interval_s` boundary of
 * the simulated clock it reads the role's instances (serving, starting, their
 * queues), asks the pure planner (`lib/autoscale.ts`) and applies its answer
 * through the faults' host: a cold instance serving `startup_s` later, or a
 * drain of the serving instance holding the fewest requests (the newest on a
 * tie). Every decision that acts is logged with its time. SIMULATED, virtual clock.
 *
 * @module
 */
import { type AutoscaleSpec, scaleDecision } from "../../lib/autoscale.ts";
import type { VirtualEngine } from "../../launch/sim/core/virtual_engine.ts";
import type { VirtualFaults } from "./virtual_faults.ts";
import type { VirtualInstance } from "./virtual_instance.ts";

/** One scale action the autoscaler took. */
export interface ScaleAction {
  /** Simulated seconds from the load start. */
  t_s: number;
  action: "up" | "down";
  instance: string;
  /** Instances of the role (serving + starting) after it. */
  count: number;
  why: string;
}

/** Plan role (`replicas`) -> instance name prefix, as `launch/_plan.ts` names them. */
const prefixOf = (role: string) => (role === "replicas" ? "replica" : role);

/** Drives `faults`' instances of `spec.role` by the planner, on the faults' ticks. */
export class VirtualAutoscaler {
  readonly actions: ScaleAction[] = [];
  readonly #intervalMs: number;
  /** When each instance it started serves, virtual ms (the plan's serve from 0). */
  readonly #servesAt = new Map<VirtualInstance, number>();

  constructor(readonly spec: AutoscaleSpec, readonly faults: VirtualFaults) {
    this.#intervalMs = Math.round(spec.intervalS * 1000);
    const have = this.#mine().length;
    if (!have) {
      const roles = [...new Set(faults.host.instances.map((i) => i.name.replace(/-\d+$/, "")))];
      throw new RangeError(
        `Cannot use autoscale.role ${spec.role} as a role of this topology: current value is ${spec.role}; allowed: ${
          roles.join(", ")
        }`,
      );
    }
    if (have < spec.min || have > spec.max) {
      throw new RangeError(
        `Cannot use autoscale.min..max ${spec.min}..${spec.max} with ${have} ${spec.role} instances at the start: current value is ${have}; allowed: a topology whose ${spec.role} count is within min..max`,
      );
    }
    faults.onTick = (tMs) => {
      if (tMs > 0 && tMs % this.#intervalMs === 0) this.decide(tMs);
    };
  }

  /** The role's instances not gone (serving, starting or draining). */
  #mine(): VirtualInstance[] {
    const stem = `${prefixOf(this.spec.role)}-`;
    return this.faults.host.instances.filter((i) => i.name.startsWith(stem) && i.state !== "dead");
  }

  /** One decision at `tMs` (an interval boundary), applied. */
  decide(tMs: number): void {
    const live = this.#mine().filter((i) => i.state !== "draining");
    const serving = live.filter((i) => i.state !== "starting");
    let signal = 0;
    for (const i of serving) {
      const e = i.engine as VirtualEngine;
      signal += e.numWaiting + (this.spec.signal === "load" ? e.numRunning : 0);
    }
    const d = scaleDecision(this.spec, {
      serving: serving.length,
      starting: live.length - serving.length,
      signal,
      fresh: serving.filter((i) => tMs - (this.#servesAt.get(i) ?? 0) < this.#intervalMs).length,
    });
    if (d.delta === 0) return;
    const tS = tMs / 1000;
    if (d.delta > 0) {
      const inst = this.faults.startInstance(
        this.spec.role,
        this.spec.startupS,
        "scale",
        `autoscale up at ${tS} s (serving after ${this.spec.startupS} s): ${d.why}`,
      );
      this.#servesAt.set(inst, tMs + this.spec.startupS * 1000);
      this.#push(tS, "up", inst.name, live.length + 1, d.why);
      return;
    }
    const victim =
      [...serving].sort((a, b) => a.inFlight - b.inFlight || live.indexOf(b) - live.indexOf(a))[0];
    this.faults.drain(victim, `autoscale down at ${tS} s (draining): ${d.why}`);
    this.#push(tS, "down", victim.name, live.length - 1, d.why);
  }

  #push(t_s: number, action: "up" | "down", instance: string, count: number, why: string): void {
    this.actions.push({ t_s, action, instance, count, why });
  }
}
