/**
 * An SLA planner in the loop: the `autoscale:` block of an experiment's
 * topology entry, validated once, and the planner's decision, a pure function
 * of what it observes at one interval boundary (no clock, no I/O). Every
 * `interval_s` it reads the role's instances' queue (`signal`: requests
 * waiting, or running + waiting) per instance and adds one instance (cold:
 * it serves `startup_s` later) or drains one (it stops taking requests,
 * finishes its own, then goes), within `min`..`max`. The shell that applies
 * it runs in virtual time (`tasks/predict/virtual_autoscaler.ts`).
 *
 * @module
 */
import type { Reader } from "./schema.ts";

/** Keys of an `autoscale:` block. */
export const AUTOSCALE_KEYS = [
  "role",
  "min",
  "max",
  "interval_s",
  "signal",
  "up_when_per_instance",
  "down_when_per_instance",
  "startup_s",
] as const;

/** Roles an autoscaler may size. */
export const AUTOSCALE_ROLES = ["prefill", "decode", "replicas"] as const;
/** What the planner reads per instance: `waiting` requests, or `load` (running + waiting). */
export const AUTOSCALE_SIGNALS = ["waiting", "load"] as const;

/** A validated `autoscale:` block. */
export interface AutoscaleSpec {
  role: typeof AUTOSCALE_ROLES[number];
  /** Fewest instances of the role (serving or starting). */
  min: number;
  /** Most instances of the role (serving or starting). */
  max: number;
  /** Seconds between decisions (simulated). @default 10 */
  intervalS: number;
  /** @default "waiting" */
  signal: typeof AUTOSCALE_SIGNALS[number];
  /** Add one when the signal per instance is above this. @default 8 */
  upWhenPerInstance: number;
  /** Drain one when the signal per instance is below this. @default 1 */
  downWhenPerInstance: number;
  /** Seconds from a start until the instance serves (model loading). @default 120 */
  startupS: number;
}

/** Reads the `autoscale` block at `key` of `r`; null when absent. Errors name field, value, allowed. */
export function readAutoscale(r: Reader, key = "autoscale"): AutoscaleSpec | null {
  if (r.absent(key)) return null;
  const a = r.obj(key, AUTOSCALE_KEYS);
  const role = a.need(a.oneOf("role", AUTOSCALE_ROLES), "role", AUTOSCALE_ROLES.join(", "));
  const min = a.need(a.int("min", 1, 1000), "min", "an integer in [1, 1000]");
  const max = a.need(a.int("max", 1, 1000), "max", "an integer in [1, 1000]");
  if (max < min) throw a.fail("max", max, `an integer >= min (${min})`);
  const up = a.atLeast("up_when_per_instance", 0) ?? 8;
  const down = a.atLeast("down_when_per_instance", 0) ?? 1;
  if (down >= up) {
    throw a.fail("down_when_per_instance", down, `a number < up_when_per_instance (${up})`);
  }
  return {
    role,
    min,
    max,
    intervalS: a.num("interval_s", 0, 86_400, true) ?? 10,
    signal: a.oneOf("signal", AUTOSCALE_SIGNALS) ?? "waiting",
    upWhenPerInstance: up,
    downWhenPerInstance: down,
    startupS: a.atLeast("startup_s", 0) ?? 120,
  };
}

/** What the planner sees of its role at one interval boundary. */
export interface ScaleObservation {
  /** Instances serving (in rotation). */
  serving: number;
  /** Instances started and still loading. */
  starting: number;
  /** The signal summed over the serving instances (waiting, or running + waiting). */
  signal: number;
  /** Serving instances that began serving less than one interval ago (their queues still fill). @default 0 */
  fresh?: number;
}

/** One decision: +1 start one, -1 drain one, 0 nothing; with why, in words. */
export interface ScaleDecision {
  delta: -1 | 0 | 1;
  why: string;
}

/**
 * The planner's decision: the signal per instance counts the starting ones
 * as capacity on its way (no second start for the same queue); one up when it
 * is above `upWhenPerInstance` and fewer than `max` exist, one down when it
 * is below `downWhenPerInstance`, more than `min` exist, none is starting
 * and none began serving within the last interval (its empty queue is no
 * evidence of spare capacity).
 */
export function scaleDecision(spec: AutoscaleSpec, o: ScaleObservation): ScaleDecision {
  const count = o.serving + o.starting;
  const per = o.signal / Math.max(1, count);
  const text = `${spec.signal} ${Math.round(per * 10) / 10}/instance over ${count}`;
  if (per > spec.upWhenPerInstance) {
    return count < spec.max
      ? { delta: 1, why: `${text} > ${spec.upWhenPerInstance}` }
      : { delta: 0, why: `${text} > ${spec.upWhenPerInstance}, at max ${spec.max}` };
  }
  if (per < spec.downWhenPerInstance && count > spec.min && o.starting === 0 && !o.fresh) {
    return { delta: -1, why: `${text} < ${spec.downWhenPerInstance}` };
  }
  return { delta: 0, why: text };
}
