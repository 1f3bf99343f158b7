/**
 * The router's backends: their live state (health, in-flight and served
 * counts) and the health checker. What counts as evidence of death is
 * `liveness.ts` (I/O-free); this shell feeds it the legs' bytes and failures
 * and the `/health` probes, takes a backend out of rotation when the evidence
 * says so and puts it back once `/health` answers 200 again.
 *
 * @module
 */
import type { Logger } from "../../../lib/log.ts";
import { errorMessage } from "../../../lib/errors.ts";
import { http1Relay } from "../../../lib/http1_relay.ts";
import { sleep } from "../../../lib/net.ts";
import type { BackendSpec, Role, RouterConfig } from "../../../lib/contracts.ts";
import { classifyFailure, Liveness, type Verdict } from "../core/liveness.ts";

/** One backend and its counters. */
export class Backend {
  /** Whether it is in rotation (a spare, not started yet, is not until it answers `/health`). */
  healthy: boolean;
  /** Requests (legs) in flight on it now. */
  inFlight = 0;
  /** Legs it completed. */
  served = 0;
  /** Legs that failed on it (the backend's fault, or a stall). */
  errors = 0;
  /** Legs whose client went away first (not the backend's fault). */
  cancelled = 0;
  /** Why it was last taken out, if it was. */
  lastError = "";
  /** When it last changed health (ms since epoch). */
  changedAtMs = Date.now();
  /** Legs in flight on it: taken out of rotation, it fails them at once (no hang). */
  readonly legs = new Set<AbortController>();

  /**
   * @param registered it joined by registering (discovery) and leaves when it
   * goes silent
   * @param live the evidence of its life: when it last answered, legs failed in a row
   */
  constructor(
    readonly spec: BackendSpec,
    readonly role: Role,
    readonly registered = false,
    readonly live = new Liveness(),
  ) {
    this.healthy = spec.spare !== true;
  }

  get name(): string {
    return this.spec.name;
  }
  get url(): string {
    return this.spec.url;
  }
  get kvAddr(): string | undefined {
    return this.spec.kvAddr;
  }
}

/** Options of {@linkcode BackendPool}. */
export interface BackendPoolOptions {
  log: Logger;
  /**
   * A `/health` probe with no answer after this long is evidence (unless
   * the backend answered on a leg meanwhile). @default clamp(healthIntervalMs, 500, 5000)
   */
  checkTimeoutMs?: number;
  /**
   * The last backend of a role in rotation is kept until it has answered
   * nothing (no byte on a leg, no `/health` answer, late ones included) for
   * this long; a probe waits this long for a late answer. @default max(10000, 5 * checkTimeoutMs)
   */
  lastOfRoleSilentMs?: number;
}

/** All backends of a router by role, with periodic health checks. */
export class BackendPool {
  readonly all: Backend[] = [];
  readonly #byRole = new Map<Role, Backend[]>();
  #stop = new AbortController();
  #loop: Promise<void> | null = null;
  readonly #intervalMs: number;
  readonly #timeoutMs: number;
  readonly #silentMs: number;
  /** Backends whose `/health` probe is still waiting, and when it began. */
  readonly #probes = new Map<Backend, number>();

  constructor(cfg: RouterConfig, readonly opts: BackendPoolOptions) {
    this.#intervalMs = cfg.healthIntervalMs;
    this.#timeoutMs = opts.checkTimeoutMs ?? Math.min(5000, Math.max(500, cfg.healthIntervalMs));
    this.#silentMs = opts.lastOfRoleSilentMs ?? Math.max(10_000, 5 * this.#timeoutMs);
    const add = (role: Role, specs: BackendSpec[]) => {
      const list = specs.map((s) => this.#backend(s, role));
      this.#byRole.set(role, list);
      this.all.push(...list);
    };
    if (cfg.backends.length) add("backend", cfg.backends);
    if (cfg.encode.length) add("encode", cfg.encode);
    if (cfg.prefill.length) add("prefill", cfg.prefill);
    if (cfg.decode.length) add("decode", cfg.decode);
    // registered instances fill these roles later
    if (cfg.discovery) {
      for (const r of ["prefill", "decode"] as const) {
        if (!this.#byRole.has(r)) this.#byRole.set(r, []);
      }
    }
  }

  #backend(spec: BackendSpec, role: Role, registered = false): Backend {
    return new Backend(
      spec,
      role,
      registered,
      new Liveness({ lastOfRoleSilentMs: this.#silentMs }),
    );
  }

  /** Roles present, in request order (encode, prefill, decode) or `backend`. */
  get roles(): Role[] {
    return [...this.#byRole.keys()];
  }

  /** Every backend of `role`. */
  of(role: Role): Backend[] {
    return this.#byRole.get(role) ?? [];
  }

  /** The healthy backends of `role`. */
  healthy(role: Role): Backend[] {
    return this.of(role).filter((b) => b.healthy);
  }

  /**
   * Adds a registered instance; it takes requests once its first health check
   * passes (a vLLM engine registers while it is still loading).
   */
  add(role: Role, spec: BackendSpec): Backend {
    const b = this.#backend(spec, role, true);
    b.healthy = false;
    b.lastError = "registered; waiting for /health";
    const list = this.#byRole.get(role) ?? [];
    this.#byRole.set(role, [...list, b]);
    this.all.push(b);
    this.opts.log.info(`Backend ${b.name} (${role}, ${b.url}) registered`);
    void this.check(b);
    return b;
  }

  /** Removes a registered instance (its in-flight legs run to their end). */
  remove(b: Backend, why: string): void {
    const list = this.#byRole.get(b.role) ?? [];
    this.#byRole.set(b.role, list.filter((x) => x !== b));
    const i = this.all.indexOf(b);
    if (i >= 0) this.all.splice(i, 1);
    b.healthy = false;
    b.lastError = why;
    this.opts.log.info(`Backend ${b.name} (${b.role}, ${b.url}) removed: ${why}`);
  }

  /** `b` answered something now (a byte on a leg, a response head). */
  answered(b: Backend): void {
    b.live.answered(performance.now());
  }

  /**
   * A leg to `b` begun at `startMs` (`performance.now()`) failed with no
   * answer: `b` is taken out when that is evidence of death.
   */
  legFailed(b: Backend, startMs: number, e: unknown, why: string): void {
    this.#apply(b, b.live.legFailed(startMs, performance.now(), classifyFailure(e), why));
  }

  #apply(b: Backend, v: Verdict): void {
    if (v.kind === "up") return this.#markUp(b);
    if (v.kind !== "eject") return;
    if (b.live.ejects(v, b.healthy && this.healthy(b.role).length === 1)) {
      return this.markDown(b, v.reason);
    }
    if (b.lastError !== v.reason) {
      this.opts.log.warn(
        `Backend ${b.name} (${b.role}, ${b.url}) kept: the last of its role in rotation, silent for ${
          (v.silentMs / 1000).toFixed(1)
        } s only (${v.reason})`,
      );
    }
    b.lastError = v.reason;
  }

  /** Takes `b` out of rotation until a health check passes. */
  markDown(b: Backend, reason: string): void {
    b.lastError = reason;
    if (!b.healthy) return;
    b.healthy = false;
    b.changedAtMs = Date.now();
    this.opts.log.warn(`Backend ${b.name} (${b.role}, ${b.url}) taken out: ${reason}`);
    // its in-flight legs would wait on a hung engine: end them now
    for (const c of b.legs) c.abort(new Error(`backend ${b.name} was taken out: ${reason}`));
    b.legs.clear();
  }

  #markUp(b: Backend): void {
    if (b.healthy) return;
    b.healthy = true;
    b.changedAtMs = Date.now();
    this.opts.log.info(`Backend ${b.name} (${b.role}, ${b.url}) is healthy again: put back`);
  }

  /**
   * Checks one backend's `/health` now; resolves to whether it is in rotation
   * after, at the latest after the probe timeout. A probe with no answer by
   * then (or failed) takes it out only if it answered nothing meanwhile (a
   * busy engine streams on); the probe waits on for a late answer, and while
   * it waits, later checks judge the silence so far instead of probing again.
   */
  async check(b: Backend): Promise<boolean> {
    const silent = () =>
      b.live.healthFailed(
        startMs,
        performance.now(),
        "timeout",
        `no answer within ${this.#timeoutMs} ms`,
      );
    let startMs = this.#probes.get(b) ?? -1;
    if (startMs >= 0) {
      this.#apply(b, silent());
      return b.healthy;
    }
    startMs = performance.now();
    this.#probes.set(b, startMs);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<boolean>((r) => (timer = setTimeout(() => r(true), this.#timeoutMs)));
    const probe = this.#probe(b, startMs).then(() => false);
    if (await Promise.race([probe, late])) {
      if (this.#probes.get(b) === startMs && !this.#stop.signal.aborted) this.#apply(b, silent());
    } else clearTimeout(timer);
    return b.healthy;
  }

  /** One `/health` probe, waiting up to `lastOfRoleSilentMs`; applies what it finds. */
  async #probe(b: Backend, startMs: number): Promise<void> {
    const signal = AbortSignal.any([this.#stop.signal, AbortSignal.timeout(this.#silentMs)]);
    let v: Verdict;
    try {
      // through our client: its pool honours the engine's Keep-Alive timeout (fetch's does not)
      const res = await http1Relay(`${b.url}/health`, { method: "GET", headers: {}, signal });
      await res.body.cancel();
      v = b.live.healthAnswered(startMs, performance.now(), res.status);
    } catch (e) {
      if (this.#stop.signal.aborted) return;
      const why = signal.aborted ? `no answer in ${this.#silentMs} ms` : errorMessage(e);
      const failure = classifyFailure(signal.aborted ? signal.reason : e);
      v = b.live.healthFailed(startMs, performance.now(), failure, why);
    } finally {
      this.#probes.delete(b);
    }
    this.#apply(b, v);
  }

  /** Checks every backend once, concurrently. */
  async checkAll(): Promise<void> {
    await Promise.all(this.all.map((b) => this.check(b)));
  }

  /** Starts the periodic checks (the first one right away). */
  start(): Promise<void> {
    const first = this.checkAll();
    this.#loop = (async () => {
      await first;
      while (!this.#stop.signal.aborted) {
        try {
          await sleep(this.#intervalMs, this.#stop.signal);
        } catch {
          break;
        }
        await this.checkAll();
      }
    })();
    return first;
  }

  /** Stops the checks. */
  async stop(): Promise<void> {
    this.#stop.abort();
    await this.#loop;
  }
}
