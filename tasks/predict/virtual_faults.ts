/**
 * Fault and scaling events in virtual time (`lib/scenario_events.ts`): what
 * the supervisor does live (SIGKILL, SIGTERM, SIGSTOP/SIGCONT, a new process)
 * done to the virtual instances, and what the live router then sees, judged
 * by the same I/O-free {@linkcode Liveness} rules as `launch/router/http/backends.ts`:
 * `/health` probes every `healthIntervalMs`, a probe with no answer after its
 * timeout, a refused or reset connection; an ejected instance's legs end at
 * once (the live router aborts them), a healthy answer puts it back.
 *
 * Every action and every verdict is logged with its virtual time
 * ({@linkcode FaultRecord}); the scenario's metrics (time to detect, to carry
 * load) are read from that log, not guessed. SIMULATED, virtual clock.
 *
 * @module
 */
import type { EventLoop } from "../../lib/event_loop.ts";
import { Liveness, type Verdict } from "../../launch/router/core/liveness.ts";
import { VirtualEngine } from "../../launch/sim/core/virtual_engine.ts";
import {
  type EventTarget,
  eventText,
  type ScenarioEvent,
  targetText,
} from "../../lib/scenario_events.ts";
import type { Role } from "../../lib/contracts.ts";
import type { LegEnd, VirtualInstance } from "./virtual_instance.ts";

/** One thing that happened to an instance, at a virtual time. */
export interface FaultRecord {
  tMs: number;
  instance: string;
  /**
   * `event` (a scenario action), `ejected` / `restored` (router verdicts),
   * `joined` (a new instance put in rotation), `first_leg` (its first request),
   * `scale` (an autoscaler's action: started, draining, removed).
   */
  what: "event" | "ejected" | "restored" | "joined" | "first_leg" | "scale";
  detail: string;
}

/** What the faults act on: the topology's instances and its rotation. */
export interface FaultHost {
  readonly instances: VirtualInstance[];
  /** Builds one more instance of `role` (cold), not yet in rotation. */
  addInstance(role: string): VirtualInstance;
  /** The instances in rotation changed: routing reads them again. */
  refreshRotation(): void;
}

/** Router and drain settings of {@linkcode VirtualFaults}. */
export interface FaultOptions {
  /** The router's `/health` period, ms (`router.health_interval_ms`). */
  healthIntervalMs: number;
  /** A probe unanswered this long is evidence. @default clamp(healthIntervalMs, 500, 5000), as live */
  checkTimeoutMs?: number;
  /** The last of its role goes only after this much silence. @default max(10000, 5 x timeout), as live */
  lastOfRoleSilentMs?: number;
  /** A stopped (SIGTERM) engine cuts what it still serves after this, ms (`lib/http_server.ts`). @default 10000 */
  drainMs?: number;
}

/** Plan role (`replicas`) -> instance name prefix (`replica`), as `launch/_plan.ts` names them. */
const prefixOf = (role: string) => (role === "replicas" ? "replica" : role);

/** The engine core of an instance; a data-parallel instance takes no events (yet). */
function coreOf(inst: VirtualInstance): VirtualEngine {
  if (!(inst.engine instanceof VirtualEngine)) {
    throw new RangeError(
      `Cannot apply a scenario event to ${inst.name} as one engine: current value is a data-parallel instance; allowed: instances with --data-parallel-size 1`,
    );
  }
  return inst.engine;
}

/** The scenario's events on a virtual topology, and the router's health checks. */
export class VirtualFaults {
  readonly log: FaultRecord[] = [];
  readonly #live = new Map<VirtualInstance, Liveness>();
  /** Probes under way (a paused instance's), by instance: when each began. */
  readonly #probes = new Map<VirtualInstance, number>();
  readonly #timeoutMs: number;
  readonly #silentMs: number;
  /** Events of ours still on the loop (the ticks stop once only ours are left). */
  #own = 0;
  /** The ticks go on at least until this (the last event's end and a second), ms. */
  #horizonMs = 1000; // a second at least: the load is on the loop by then
  /** Per-second samples: [t s, then per instance running, waiting, in rotation]. */
  readonly samples: { tS: number; instances: Record<string, [number, number, number]> }[] = [];
  /** When each instance began (0: the plan's) and went (killed, drained), virtual ms. */
  readonly #born = new Map<VirtualInstance, number>();
  readonly #gone = new Map<VirtualInstance, number>();
  /** Called on every tick (each second and health interval), e.g. an autoscaler. @default none */
  onTick: ((tMs: number) => void) | null = null;

  constructor(
    readonly loop: EventLoop,
    readonly host: FaultHost,
    readonly o: FaultOptions,
  ) {
    this.#timeoutMs = o.checkTimeoutMs ?? Math.min(5000, Math.max(500, o.healthIntervalMs));
    this.#silentMs = o.lastOfRoleSilentMs ?? Math.max(10_000, 5 * this.#timeoutMs);
  }

  #liveness(inst: VirtualInstance): Liveness {
    let l = this.#live.get(inst);
    if (!l) this.#live.set(inst, l = new Liveness({ lastOfRoleSilentMs: this.#silentMs }));
    return l;
  }

  #record(inst: VirtualInstance | string, what: FaultRecord["what"], detail: string): void {
    const instance = typeof inst === "string" ? inst : inst.name;
    this.log.push({ tMs: this.loop.nowMs(), instance, what, detail });
  }

  /** Runs `fn` after `delayMs` as one of ours. */
  #after(delayMs: number, fn: () => void): void {
    this.#own++;
    this.loop.after(delayMs, () => {
      this.#own--;
      fn();
    });
  }

  /** The instance `t` names, or an error naming the target and what there is. */
  #resolve(t: EventTarget): VirtualInstance {
    const name = `${prefixOf(t.role)}-${t.index}`;
    const inst = this.host.instances.find((i) => i.name === name);
    if (!inst) {
      throw new RangeError(
        `Cannot use events target ${
          targetText(t)
        } as an instance of this topology: current value is ${targetText(t)}; allowed: ${
          this.host.instances.map((i) => i.name.replace(/-(\d+)$/, "[$1]")).join(", ")
        }`,
      );
    }
    return inst;
  }

  /** Checks every event's target, then puts the events and the ticks on the loop. */
  schedule(events: readonly ScenarioEvent[]): void {
    const roles = new Set(this.host.instances.map((i) => i.name.replace(/-\d+$/, "")));
    for (const e of events) {
      if (!e.target || e.action === "burst") continue;
      if (e.action === "start") {
        if (!roles.has(prefixOf(e.target.role))) {
          throw new RangeError(
            `Cannot use events target ${e.target.role} as a role to start: current value is ${e.target.role}; allowed: ${
              [...roles].join(", ")
            }`,
          );
        }
        coreOf(this.host.instances.find((i) => i.name.startsWith(prefixOf(e.target!.role)))!);
      } else coreOf(this.#resolve(e.target));
    }
    for (const e of events) {
      if (e.action !== "burst") this.loop.at(e.atS * 1000, () => this.#apply(e));
      this.#horizonMs = Math.max(this.#horizonMs, (e.atS + (e.durationS ?? 0) + 1) * 1000);
    }
    this.#tick();
  }

  /** The periodic work: a sample every second, the router's probes every interval. */
  #tick(): void {
    const t = this.loop.nowMs();
    if (t % 1000 === 0) this.#sample(t);
    if (t % this.o.healthIntervalMs === 0 && t > 0) this.#probeAll();
    this.onTick?.(t);
    // go on while anything but our own events is left (the run ends when the load does)
    if (t >= this.#horizonMs && this.loop.pending - this.#own <= 0) return;
    const next = Math.min(
      (Math.floor(t / 1000) + 1) * 1000,
      (Math.floor(t / this.o.healthIntervalMs) + 1) * this.o.healthIntervalMs,
    );
    this.#after(next - t, () => this.#tick());
  }

  #sample(tMs: number): void {
    const instances: Record<string, [number, number, number]> = {};
    for (const i of this.host.instances) {
      const e = i.engine as VirtualEngine;
      instances[i.name] = i.state === "dead" || i.state === "starting"
        ? [0, 0, 0]
        : [e.numRunning, e.numWaiting, i.healthy ? 1 : 0];
    }
    this.samples.push({ tS: tMs / 1000, instances });
  }

  #apply(e: ScenarioEvent): void {
    if (e.action === "start") return this.#start(e);
    const inst = this.#resolve(e.target!);
    this.#record(inst, "event", eventText(e));
    const core = coreOf(inst);
    if (e.action === "kill") return this.#kill(inst);
    if (e.action === "stop") return this.#stop(inst);
    if (e.action === "pause") {
      inst.state = "paused";
      core.pause();
      if (e.durationS !== null) this.loop.after(e.durationS * 1000, () => this.#resume(inst, e));
      return;
    }
    if (e.action === "resume") return this.#resume(inst, e);
    // slow
    core.stepFactor = e.factor!;
    this.loop.after(e.durationS! * 1000, () => {
      core.stepFactor = 1;
      this.#record(inst, "event", `${eventText(e)}: ends`);
    });
  }

  /** Ends every request `inst` holds, each sink wording its error from `why`. */
  #endLegs(inst: VirtualInstance, why: LegEnd): void {
    inst.ending = why;
    coreOf(inst).abortAll();
    inst.ending = null;
  }

  #kill(inst: VirtualInstance): void {
    const hadLegs = inst.inFlight > 0;
    inst.state = "dead";
    this.#gone.set(inst, this.loop.nowMs());
    this.#endLegs(inst, { reason: "killed", detail: "SIGKILL" });
    // its connections reset under the router's legs: evidence at once (else the next probe)
    if (hadLegs) {
      const now = this.loop.nowMs();
      this.#judge(inst, this.#liveness(inst).legFailed(now, now, "reset", "connection reset"));
    }
  }

  #stop(inst: VirtualInstance): void {
    inst.state = "draining";
    this.#after(this.o.drainMs ?? 10_000, () => {
      if (inst.inFlight > 0) {
        this.#endLegs(inst, { reason: "cut", detail: "the end of its drain" });
      }
      inst.state = "dead";
      this.#gone.set(inst, this.loop.nowMs());
      this.#record(inst, "event", "exited (drain over)");
    });
  }

  #resume(inst: VirtualInstance, e: ScenarioEvent): void {
    if (inst.state !== "paused") return;
    inst.state = "up";
    coreOf(inst).resume();
    this.#record(inst, "event", e.action === "resume" ? eventText(e) : `${eventText(e)}: resumed`);
    // a probe still waiting gets its late answer now
    const start = this.#probes.get(inst);
    if (start === undefined) return;
    this.#probes.delete(inst);
    this.#judge(inst, this.#liveness(inst).healthAnswered(start, this.loop.nowMs(), 200));
  }

  #start(e: ScenarioEvent): void {
    this.startInstance(e.target!.role, e.startupS, "event", eventText(e));
  }

  /** One more instance of `role`, cold, serving (and probed at once) `startupS` later. */
  startInstance(
    role: string,
    startupS: number,
    what: FaultRecord["what"],
    detail: string,
  ): VirtualInstance {
    const inst = this.host.addInstance(role);
    this.#born.set(inst, this.loop.nowMs());
    this.#record(inst, what, detail);
    this.loop.at(this.loop.nowMs() + startupS * 1000, () => {
      inst.state = "up";
      // it registers (discovery) as it listens; the router checks it at once
      this.#probe(inst);
    });
    return inst;
  }

  /**
   * Drains `inst` as a scale-down: out of the router's rotation at once (it
   * deregisters), it finishes what it holds and goes when it holds nothing
   * (checked every tick); no cut.
   */
  drain(inst: VirtualInstance, detail: string): void {
    inst.state = "draining";
    inst.healthy = false;
    this.host.refreshRotation();
    this.#record(inst, "scale", detail);
    const check = () => {
      if (inst.inFlight > 0) return this.#after(1000, check);
      inst.state = "dead";
      this.#gone.set(inst, this.loop.nowMs());
      this.#record(inst, "scale", "removed (drained, nothing in flight)");
    };
    check();
  }

  /**
   * GPU-hours of the run up to `endMs`: each instance's up time (from its
   * start, start-up included, to its end or `endMs`) x its GPUs (tp x dp).
   */
  gpuHours(endMs: number): number {
    let gpuMs = 0;
    for (const i of this.host.instances) {
      const from = this.#born.get(i) ?? 0;
      const to = Math.min(this.#gone.get(i) ?? endMs, endMs);
      gpuMs += Math.max(0, to - from) * i.cfg.tp * i.cfg.dp;
    }
    return gpuMs / 3_600_000;
  }

  /** The router picked `inst` for a leg. */
  routed(inst: VirtualInstance): void {
    if (!this.log.some((r) => r.instance === inst.name && r.what === "first_leg")) {
      if (this.log.some((r) => r.instance === inst.name && r.what === "joined")) {
        this.#record(inst, "first_leg", "first request routed to it");
      }
    }
  }

  /** The router's connection to `inst` was refused (a leg or a probe). */
  refused(inst: VirtualInstance): void {
    const now = this.loop.nowMs();
    this.#judge(inst, this.#liveness(inst).healthFailed(now, now, "refused", "connection refused"));
  }

  /** Whether `inst` refuses connections (nothing listening: killed, draining, still loading). */
  refuses(inst: VirtualInstance): boolean {
    return inst.state === "dead" || inst.state === "draining" || inst.state === "starting";
  }

  #probeAll(): void {
    for (const inst of [...this.host.instances]) this.#probe(inst);
  }

  /** One `/health` probe of `inst`, as the live checker runs it. */
  #probe(inst: VirtualInstance): void {
    const live = this.#liveness(inst);
    const now = this.loop.nowMs();
    if (this.refuses(inst)) return this.refused(inst);
    if (inst.state === "up") return this.#judge(inst, live.healthAnswered(now, now, 200));
    // paused: no answer; a probe already waiting is judged on the silence so far
    const start = this.#probes.get(inst);
    const why = `/health: no answer within ${this.#timeoutMs} ms`;
    if (start !== undefined) {
      return this.#judge(inst, live.healthFailed(start, now, "timeout", why));
    }
    this.#probes.set(inst, now);
    this.#after(this.#timeoutMs, () => {
      if (this.#probes.get(inst) !== now) return;
      this.#judge(inst, live.healthFailed(now, this.loop.nowMs(), "timeout", why));
    });
  }

  /** Applies a verdict as `BackendPool.#apply` does. */
  #judge(inst: VirtualInstance, v: Verdict): void {
    if (v.kind === "up") {
      if (inst.healthy) return;
      inst.healthy = true;
      this.host.refreshRotation();
      const first = !this.log.some((r) =>
        r.instance === inst.name && r.what !== "event" && r.what !== "scale"
      );
      this.#record(inst, first ? "joined" : "restored", "/health answered 200");
      return;
    }
    if (v.kind !== "eject" || !inst.healthy) return;
    const lastOfRole = this.host.instances.filter((i) => i.role === inst.role && i.healthy)
      .length === 1;
    if (!this.#liveness(inst).ejects(v, lastOfRole)) return;
    inst.healthy = false;
    this.host.refreshRotation();
    this.#record(inst, "ejected", v.reason);
    // the live router ends the legs of an instance it takes out (no hang on a hung engine)
    if (inst.inFlight > 0 && inst.state !== "dead") {
      this.#endLegs(inst, { reason: "ejected", detail: v.reason });
    }
  }

  /** Requests `role` instances in rotation can take now. */
  inRotation(role: Role): number {
    return this.host.instances.filter((i) => i.role === role && i.healthy).length;
  }
}

/**
 * The error a leg on `to` ends with while `to.ending` says why, worded with
 * the reason first (`lib/failure_reason.ts` reads it): `stranded` for a decode
 * leg that had the prefill's KV and no token out yet, else `reset`,
 * `ejected` or `refused`. A leg that had streamed tokens ends with status 200
 * (the client saw the stream break), else 502.
 */
export function legError(
  to: VirtualInstance,
  streamed: boolean,
  handedOver: boolean,
): { error: string; status: number } {
  const why = to.ending!;
  const status = streamed ? 200 : 502;
  if (why.reason === "killed") {
    return {
      status,
      error: handedOver && !streamed
        ? `stranded: ${to.name} was killed (${why.detail}) holding the KV its prefill handed over`
        : `reset: connection to ${to.name} reset (killed: ${why.detail})`,
    };
  }
  if (why.reason === "ejected") {
    return { status, error: `ejected: backend ${to.name} was taken out: ${why.detail}` };
  }
  if (why.reason === "cut") {
    return { status, error: `reset: ${to.name} closed the connection at ${why.detail}` };
  }
  return { status: 502, error: `refused: connection to ${to.name} refused` };
}
