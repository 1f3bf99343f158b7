/**
 * Fault and scaling scenarios: the `events:` timeline of an experiment file,
 * validated once and read by both clocks. Times are seconds from the start of
 * the load point (its first scheduled request at 0).
 *
 * - `kill` (SIGKILL): the instance is gone with its running requests and KV;
 * - `stop` (SIGTERM): it stops taking connections and finishes its own (drain);
 * - `pause` / `resume` (SIGSTOP / SIGCONT): a hung engine (`duration` on a
 *   pause resumes it that many seconds later);
 * - `start`: a new instance of a role (`target: decode`), cold, serving
 *   `startup` seconds after it is started;
 * - `slow`: the instance's step time × `factor` for `duration` seconds;
 * - `burst`: the offered rate × `factor` for `duration` seconds.
 *
 * Targets name a role and an index as the topology's instances are numbered:
 * `decode[1]` is `decode-1`, `replicas[0]` is `replica-0`.
 *
 * @module
 */
import { type Key, Reader } from "./schema.ts";

/** What an event does. */
export const EVENT_ACTIONS = ["kill", "stop", "pause", "resume", "start", "slow", "burst"] as const;
/** One of {@linkcode EVENT_ACTIONS}. */
export type EventAction = typeof EVENT_ACTIONS[number];

/** Roles an event may name (a topology's role blocks). */
export const EVENT_ROLES = ["prefill", "decode", "encode", "replicas", "server"] as const;
/** One of {@linkcode EVENT_ROLES}. */
export type EventRole = typeof EVENT_ROLES[number];

/** Keys of one event (the experiment file's `events[]`). */
export const EVENT_KEYS = ["at", "action", "target", "factor", "duration", "startup"] as const;

/** Which keys each action takes besides `at` and `action`, and which of them it needs. */
const ACTION_KEYS: Record<EventAction, { may: string[]; need: string[] }> = {
  kill: { may: ["target"], need: ["target"] },
  stop: { may: ["target"], need: ["target"] },
  pause: { may: ["target", "duration"], need: ["target"] },
  resume: { may: ["target"], need: ["target"] },
  start: { may: ["target", "startup"], need: ["target"] },
  slow: { may: ["target", "factor", "duration"], need: ["target", "factor", "duration"] },
  burst: { may: ["factor", "duration"], need: ["factor", "duration"] },
};

/** An instance named by role and index. */
export interface EventTarget {
  role: EventRole;
  /** Its index within the role; null for `start` (a new one). */
  index: number | null;
}

/** One validated event. */
export interface ScenarioEvent {
  /** Seconds from the start of the load point. */
  atS: number;
  action: EventAction;
  /** The instance (or, for `start`, the role); null for `burst`. */
  target: EventTarget | null;
  /** `slow`: step time ×; `burst`: rate ×. Else null. */
  factor: number | null;
  /** `slow`, `burst`, and optionally `pause`: seconds it lasts. Else null. */
  durationS: number | null;
  /** `start`: seconds from the start until it serves (model loading). @default 0 */
  startupS: number;
}

/** `role[index]` (or, for `start`, `role`) -> a target; names the field and the allowed forms. */
function readTarget(r: Reader, key: Key, start: boolean): EventTarget {
  const roles = EVENT_ROLES.join(", ");
  const allowed = start
    ? `a role to start one more of (${roles})`
    : `an instance as role[index] (${roles}), e.g. decode[1]`;
  const v = r.check<string>(key, (v) => typeof v === "string", allowed, "type");
  const m = /^([a-z]+)(?:\[(\d+)\])?$/.exec(v);
  if (!m || !(EVENT_ROLES as readonly string[]).includes(m[1]) || (m[2] === undefined) !== start) {
    throw r.fail(key, v, allowed);
  }
  return { role: m[1] as EventRole, index: m[2] === undefined ? null : Number(m[2]) };
}

/** Reads event `i` of the `events` list reader `list`. */
function readEvent(list: Reader, i: number): ScenarioEvent {
  const e = list.obj(i, EVENT_KEYS);
  const atS = e.need(e.atLeast("at", 0), "at", "a number of seconds >= 0 (from the load start)");
  const action = e.need(e.oneOf("action", EVENT_ACTIONS), "action", EVENT_ACTIONS.join(", "));
  const keys = ACTION_KEYS[action];
  for (const [k, v] of e.entries()) {
    if (k !== "at" && k !== "action" && !keys.may.includes(k) && v !== undefined) {
      throw e.fail(k, v, `absent for action ${action} (it takes ${keys.may.join(", ")})`);
    }
  }
  for (const k of keys.need) {
    if (e.absent(k)) throw e.fail(k, undefined, `present for action ${action}`);
  }
  return {
    atS,
    action,
    target: e.absent("target") ? null : readTarget(e, "target", action === "start"),
    factor: e.num("factor", 0, 1000, true) ?? null,
    durationS: e.num("duration", 0, 1e7, true) ?? null,
    startupS: e.atLeast("startup", 0) ?? 0,
  };
}

/** `decode[1]`, or `decode` for a role. */
export function targetText(t: EventTarget | null): string {
  if (!t) return "";
  return t.index === null ? t.role : `${t.role}[${t.index}]`;
}

/**
 * The order of the events must make sense per instance: nothing after a
 * kill or a stop, a resume only of a paused instance, bursts that do not
 * overlap.
 */
function checkOrder(list: Reader, events: ScenarioEvent[], order: number[]): void {
  const state = new Map<string, { what: string; i: number }>();
  let burstEndS = -Infinity;
  for (const i of order) {
    const e = events[i];
    if (e.action === "burst") {
      if (e.atS < burstEndS) {
        throw list.obj(i).fail(
          "at",
          e.atS,
          `a time after the previous burst ends (${burstEndS} s)`,
        );
      }
      burstEndS = e.atS + e.durationS!;
      continue;
    }
    if (e.action === "start") continue;
    const key = targetText(e.target);
    const s = state.get(key);
    if (s && (s.what === "kill" || s.what === "stop")) {
      throw list.obj(i).fail(
        "action",
        e.action,
        `no event on ${key} after its ${s.what} (events[${s.i}])`,
      );
    }
    const paused = s?.what === "pause";
    if (e.action === "resume" && !paused) {
      throw list.obj(i).fail(
        "action",
        e.action,
        `resume only after a pause of ${key} without duration`,
      );
    }
    if (e.action === "pause" && paused) {
      throw list.obj(i).fail("action", e.action, `one pause of ${key} at a time (events[${s!.i}])`);
    }
    const held = e.action === "pause" && e.durationS === null;
    if (held || e.action === "kill" || e.action === "stop") state.set(key, { what: e.action, i });
    else if (e.action === "resume") state.delete(key);
  }
}

/**
 * The `events` list at `key` of `r` (absent: none), in time order (events at
 * one time keep the file's order). Errors name the field, its value and what
 * is allowed.
 */
export function readEvents(r: Reader, key: Key = "events"): ScenarioEvent[] {
  if (r.absent(key)) return [];
  const list = r.list(key, "a list of events ({ at, action, ... })", "type", 0);
  const events = list.indices().map((i) => readEvent(list, i));
  const order = events.map((_, i) => i).sort((a, b) => events[a].atS - events[b].atS || a - b);
  checkOrder(list, events, order);
  return order.map((i) => events[i]);
}

/** The rate bursts of `events` as bench's `--rate-burst` value (`at:duration:factor,...`), or null. */
export function burstFlag(events: readonly ScenarioEvent[]): string | null {
  const b = events.filter((e) => e.action === "burst");
  return b.length ? b.map((e) => `${e.atS}:${e.durationS}:${e.factor}`).join(",") : null;
}

/** One line per event: `20 s kill decode[1]`, `30 s slow decode[0] x3 for 20 s`. */
export function eventText(e: ScenarioEvent): string {
  const x = e.factor !== null ? ` x${e.factor}` : "";
  const d = e.durationS !== null ? ` for ${e.durationS} s` : "";
  const up = e.action === "start" && e.startupS ? ` (serving after ${e.startupS} s)` : "";
  return `${e.atS} s ${e.action}${e.target ? ` ${targetText(e.target)}` : ""}${x}${d}${up}`;
}
