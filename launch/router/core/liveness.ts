/**
 * When a backend counts as dead, without I/O (times are passed in, in ms on
 * one monotonic clock): a busy backend is not a dead one.
 *
 * Evidence of death, for one backend:
 * - a leg or a `/health` probe that failed by connection refused or reset;
 * - {@linkcode LivenessOptions.failedLegsToEject} legs in a row that failed
 *   with no answer (network errors, no byte);
 * - a `/health` probe that failed or has no answer after its timeout;
 * - a `/health` answer other than 200.
 *
 * Each failure counts only when the backend answered nothing (no byte on any
 * leg, no health response) since that leg or probe began: a slow `/health`
 * while its streams flow is a busy backend, not a dead one, and a SIGSTOPped
 * or killed engine answers nothing, so it is still taken out. The last
 * backend of a role in rotation is kept while it answers anything: until it
 * refuses or resets a connection, or has answered nothing (a late `/health`
 * answer counts) for {@linkcode LivenessOptions.lastOfRoleSilentMs}. The live
 * health checker (`backends.ts`) and the router's legs (`_generate.ts`) feed
 * it; nothing here knows which.
 *
 * @module
 */

/**
 * How a leg or probe failed; `local` is the router's own shortage (out of file
 * descriptors or ephemeral ports), never evidence against a backend.
 */
export type Failure = "refused" | "reset" | "timeout" | "local" | "other";

/** What to do with a backend after one piece of evidence. */
export type Verdict =
  | { kind: "keep" }
  | { kind: "up" }
  | {
    kind: "eject";
    reason: string;
    /**
     * How long it has answered nothing (0: it answers, with a `/health`
     * status other than 200; Infinity: it refused or reset a connection).
     */
    silentMs: number;
  };

const KEEP: Verdict = { kind: "keep" };

const REFUSED = /connection refused|econnrefused|os error 111\b/i;
const RESET =
  /connection reset|econnreset|broken pipe|epipe|connection aborted|os error (104|32|103)\b/i;
const TIMEOUT = /timed? ?out|timeout/i;
const LOCAL = /too many open files|emfile|enfile|os error (24|23|99)\b|address not available/i;

/** How `e` (with its `cause` chain) failed: refused, reset, timeout or other. */
export function classifyFailure(e: unknown): Failure {
  for (let x = e, depth = 0; x !== undefined && x !== null && depth < 6; depth++) {
    const name = (x as { name?: unknown }).name;
    const msg = x instanceof Error ? x.message : typeof x === "string" ? x : "";
    if (LOCAL.test(msg)) return "local";
    if (name === "ConnectionRefused" || REFUSED.test(msg)) return "refused";
    if (
      name === "ConnectionReset" || name === "BrokenPipe" || name === "ConnectionAborted" ||
      RESET.test(msg)
    ) return "reset";
    if (name === "TimeoutError" || name === "TimedOut" || TIMEOUT.test(msg)) return "timeout";
    x = (x as { cause?: unknown }).cause;
  }
  return "other";
}

/** Options of {@linkcode Liveness}. */
export interface LivenessOptions {
  /** Legs in a row that fail with no answer (not refused or reset) before it is taken out. @default 3 */
  failedLegsToEject?: number;
  /** The last backend of its role in rotation is taken out only after answering nothing this long. @default 10000 */
  lastOfRoleSilentMs?: number;
}

function checkOption(name: string, v: number, min: number): number {
  if (!Number.isFinite(v) || v < min) {
    throw new RangeError(
      `Cannot use ${name} as a LivenessOptions field (liveness.ts): current value is ${v}; a number >= ${min} is allowed`,
    );
  }
  return v;
}

/** The evidence about one backend's life, and the verdict each new piece gives. */
export class Liveness {
  /** When it last answered anything: a byte on a leg or a `/health` response (-Infinity: never). */
  lastAnswerMs = -Infinity;
  /** Legs failed in a row with no answer since. */
  failedLegs = 0;
  readonly #failedLegsToEject: number;
  readonly #lastOfRoleSilentMs: number;

  constructor(opts: LivenessOptions = {}) {
    this.#failedLegsToEject = checkOption("failedLegsToEject", opts.failedLegsToEject ?? 3, 1);
    this.#lastOfRoleSilentMs = checkOption(
      "lastOfRoleSilentMs",
      opts.lastOfRoleSilentMs ?? 10_000,
      0,
    );
  }

  /** Whether it answered anything at or after `sinceMs`. */
  answeredSince(sinceMs: number): boolean {
    return this.lastAnswerMs >= sinceMs;
  }

  /** It answered something at `nowMs` (a byte on a leg, a response head, a health answer). */
  answered(nowMs: number): void {
    if (nowMs > this.lastAnswerMs) this.lastAnswerMs = nowMs;
    this.failedLegs = 0;
  }

  #silent(nowMs: number, failure: Failure): number {
    return failure === "refused" || failure === "reset" ? Infinity : nowMs - this.lastAnswerMs;
  }

  /** A leg begun at `startMs` failed at `nowMs` with no answer of its own, as `failure` (`why` says how). */
  legFailed(startMs: number, nowMs: number, failure: Failure, why: string): Verdict {
    if (failure === "local" || this.answeredSince(startMs)) return KEEP;
    this.failedLegs++;
    const silentMs = this.#silent(nowMs, failure);
    if (failure === "refused" || failure === "reset") {
      return { kind: "eject", reason: why, silentMs };
    }
    if (this.failedLegs < this.#failedLegsToEject) return KEEP;
    return {
      kind: "eject",
      reason: `${this.failedLegs} legs failed in a row with no answer; last: ${why}`,
      silentMs,
    };
  }

  /** A `/health` probe begun at `startMs` got `status` at `nowMs` (in time or late). */
  healthAnswered(startMs: number, nowMs: number, status: number): Verdict {
    this.answered(Math.max(startMs, nowMs));
    if (status === 200) return { kind: "up" };
    return { kind: "eject", reason: `/health answered ${status}`, silentMs: 0 };
  }

  /**
   * A `/health` probe begun at `startMs` failed at `nowMs` as `failure`, or
   * (`timeout`) has no answer yet (`why` says how).
   */
  healthFailed(startMs: number, nowMs: number, failure: Failure, why: string): Verdict {
    if (failure === "local" || this.answeredSince(startMs)) return KEEP;
    const silentMs = this.#silent(nowMs, failure);
    const idle = failure === "timeout" ? "; no byte from it on any leg meanwhile" : "";
    return { kind: "eject", reason: `/health failed: ${why}${idle}`, silentMs };
  }

  /**
   * Whether `v` takes the backend out of rotation: an eject verdict does,
   * except for the last backend of its role in rotation until it has
   * answered nothing for `lastOfRoleSilentMs`.
   */
  ejects(v: Verdict, lastOfRole: boolean): boolean {
    return v.kind === "eject" && (!lastOfRole || v.silentMs >= this.#lastOfRoleSilentMs);
  }
}
