/**
 * One leg of a routed request (a request from the router to one backend):
 * opening it with its stall timer, its bookkeeping on the backend, pool and
 * metrics when it ends, what its failures become (a retryable
 * {@linkcode Unreachable}, a 502 or the backend's own answer, a 504 stall,
 * a gone client), and whole non-streamed legs (encode, prefill).
 *
 * @module
 */
import { type BodyTap, http1Relay, type RelayAnswer } from "../../../lib/http1_relay.ts";
import type { Logger } from "../../../lib/log.ts";
import { errorMessage } from "../../../lib/errors.ts";
import type { Backend, BackendPool } from "./backends.ts";
import type { RouterConfig } from "../../../lib/contracts.ts";
import type { Leg, RouterMetrics } from "./metrics.ts";
import type { PickContext } from "../core/policy.ts";
import type { Route } from "../core/routing.ts";
import type { Body } from "../core/legs.ts";
import { HttpError } from "./_http.ts";
import { StallWatch, type Watched } from "./_stall_watch.ts";

/** Why a leg was cut: no byte from its backend for the stall timeout. */
export class Stalled extends Error {
  constructor(readonly b: Backend, readonly leg: Leg, readonly ms: number) {
    super(`${leg} backend ${b.name} sent nothing for ${ms / 1000} s`);
  }
  /** The 504 the client gets. */
  http(): HttpError {
    return new HttpError(504, this.message, "GatewayTimeout");
  }
}

/** The network failed before the backend answered: safe to try another backend. */
export class Unreachable extends HttpError {}
/** The client went away. */
export class ClientGone extends HttpError {}

/** One routed request, as its legs see it. */
export interface Ctx {
  t0: number;
  path: string;
  body: Body;
  /** The client's body as sent (forwarded as is when a leg sends it unchanged). */
  raw: string;
  /** Its bytes as the server read them, where valid UTF-8 (forwarded instead of `raw`). */
  rawBytes?: Uint8Array<ArrayBuffer>;
  fwd: Record<string, string>;
  requestId: string;
  pick: PickContext;
  ac: AbortController;
  /** Response headers collected along the way (names in lower case). */
  out: Map<string, string>;
  route: Route;
  prefilled: boolean;
  /** Backends whose leg failed this request before any token: a retry picks others while it can. */
  avoid?: Set<string>;
  /** The prefill or decode leg under way (a failure names it for a retry). */
  current?: { leg: "prefill" | "decode"; backend: string };
}

/** `performance.now()`. */
export const now = (): number => performance.now();

function upstreamMessage(text: string): string {
  try {
    const m = JSON.parse(text)?.error?.message;
    if (typeof m === "string") return m;
  } catch { /* not JSON */ }
  return text.slice(0, 300);
}

/** Opens legs and accounts for them, for one router configuration. */
export class LegIo {
  /** Every leg's stall timer, one sweep. */
  readonly stalls: StallWatch;

  constructor(
    readonly cfg: RouterConfig,
    readonly pool: BackendPool,
    readonly metrics: RouterMetrics,
    readonly log: Logger,
  ) {
    this.stalls = new StallWatch(cfg.stallTimeoutMs);
  }

  /**
   * A network failure on a leg begun at `startMs`: evidence for the pool (a
   * failure the router caused itself, by a stall or by taking the backend
   * out, is none); `connecting` ones may be retried on another backend.
   */
  netError(
    b: Backend,
    leg: Leg,
    e: unknown,
    signal: AbortSignal,
    startMs: number,
    connecting = true,
    ours = false,
  ): HttpError {
    if (signal.aborted) return new ClientGone(499, "Client closed the request", "ClientClosed");
    const msg = connecting
      ? `Cannot reach ${leg} backend ${b.name} at ${b.url}: ${errorMessage(e)}`
      : `${leg} backend ${b.name} failed while answering: ${errorMessage(e)}`;
    if (!ours) this.pool.legFailed(b, startMs, e, msg);
    return connecting ? new Unreachable(502, msg) : new HttpError(502, msg);
  }

  /**
   * What a failed leg becomes: the 504 of its stall, else {@linkcode netError}
   * (`own`, the leg's own signal, aborted: the router cut it).
   */
  failure(
    b: Backend,
    leg: Leg,
    client: AbortSignal,
    own: AbortSignal,
    startMs: number,
    e: unknown,
    connecting = false,
  ): HttpError {
    const ours = own.aborted;
    const why = ours ? own.reason : e;
    if (why instanceof Stalled) return why.http();
    return this.netError(b, leg, why, client, startMs, connecting, ours);
  }

  /** Cuts the leg (`ctl`) with {@linkcode Stalled} once its backend sends nothing for the stall timeout. */
  stallTimer(b: Backend, leg: Leg, ctl: AbortController): Watched {
    return this.stalls.watch(() => ctl.abort(new Stalled(b, leg, this.cfg.stallTimeoutMs)));
  }

  #upstream(b: Backend, leg: Leg, status: number, text: string): HttpError {
    const msg = `${leg} backend ${b.name} answered HTTP ${status}: ${upstreamMessage(text)}`;
    this.log.warn(msg);
    if (status >= 500) return new HttpError(502, msg);
    return new HttpError(status, msg, "BadRequestError", text);
  }

  /** Opens a leg; on success the caller owns `b.inFlight` (released by the relay). */
  async open(
    b: Backend,
    leg: Leg,
    ctx: Ctx,
    body: Body,
    requestId: string,
    tap?: BodyTap,
    ctl = new AbortController(),
  ): Promise<{ res: RelayAnswer; t0: number; ctl: AbortController }> {
    b.inFlight++;
    const t0 = now();
    const headers = { ...ctx.fwd, "x-request-id": requestId };
    // the leg ends with the client, when its backend is taken out, or when it stalls
    b.legs.add(ctl);
    // the request given up (its client gone) cuts the leg: a listener, not AbortSignal.any
    // (whose WeakRefs keep every leg's signals alive through scavenges)
    const client = ctx.ac.signal;
    if (client.aborted) ctl.abort(client.reason);
    else client.addEventListener("abort", () => ctl.abort(client.reason), { once: true });
    // no answer yet after the stall timeout: streamed answers and one-token legs
    // (prefill, encode) start at once; a whole non-streamed answer may take longer
    const timed = ctx.body.stream === true || leg === "prefill" || leg === "encode";
    const stall = timed ? this.stallTimer(b, leg, ctl) : undefined;
    let res: RelayAnswer;
    try {
      res = await http1Relay(`${b.url}${ctx.path}`, {
        method: "POST",
        headers,
        body: body === ctx.body ? (ctx.rawBytes ?? ctx.raw) : JSON.stringify(body),
        signal: ctl.signal,
        tap,
      });
    } catch (e) {
      this.done(b, leg, false, ctl, ctx.ac.signal.aborted);
      throw this.failure(b, leg, ctx.ac.signal, ctl.signal, t0, e, true);
    } finally {
      this.stalls.unwatch(stall);
    }
    this.pool.answered(b);
    if (!res.ok) {
      const text = await res.body.text().catch(() => "");
      this.done(b, leg, false, ctl);
      throw this.#upstream(b, leg, res.status, text);
    }
    return { res, t0, ctl };
  }

  /** A leg ended: served, failed, or cut because its client went away (`gone`: no error). */
  done(b: Backend, leg: Leg, ok: boolean, ctl?: AbortController, gone = false): void {
    if (ctl) b.legs.delete(ctl);
    b.inFlight--;
    if (ok) b.served++;
    else if (gone) {
      b.cancelled++;
      this.metrics.cancelled(b.name, leg);
      return;
    } else b.errors++;
    this.metrics.count(b.name, leg, ok);
  }

  /** A whole non-streamed leg (encode, prefill): its JSON answer and time. */
  async post(
    b: Backend,
    leg: Leg,
    ctx: Ctx,
    body: Body,
    requestId: string,
    path = ctx.path,
  ): Promise<{ json: Body | null; ms: number }> {
    const { res, t0, ctl } = await this.open(b, leg, { ...ctx, path }, body, requestId);
    let text: string;
    const stall = this.stallTimer(b, leg, ctl);
    try {
      text = await res.body.text();
    } catch (e) {
      this.done(b, leg, false, ctl, ctx.ac.signal.aborted);
      throw this.failure(b, leg, ctx.ac.signal, ctl.signal, t0, e);
    } finally {
      this.stalls.unwatch(stall);
    }
    this.pool.answered(b);
    const ms = now() - t0;
    this.done(b, leg, true, ctl);
    this.metrics.observeLeg(leg, ms);
    let json: Body | null = null;
    try {
      json = JSON.parse(text);
    } catch { /* not JSON: no kv_transfer_params */ }
    return { json, ms };
  }
}
