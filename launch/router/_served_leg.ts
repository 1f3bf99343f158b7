/**
 * The serving leg of a routed request (direct, decode, PPD's direct turn):
 * its answer passed to the client whole, or as an SSE stream once its first
 * bytes are in. The backend's body stream goes to the client as it is,
 * watched through the {@linkcode BodyTap} this leg is: no second stream, one
 * stall timer (time the client does not read is the client's), and a failure
 * after the hand-over ends the stream with an SSE error event.
 *
 * @module
 */
import type { BodyTap } from "../../lib/http1.ts";
import type { Backend } from "./backends.ts";
import type { Leg } from "./metrics.ts";
import type { Body } from "./_legs.ts";
import { type HttpError, ms3, sseErrorTail } from "./_http.ts";
import { ClientGone, type Ctx, type LegIo, now, Stalled } from "./_leg_io.ts";

/** One serving leg: open it with {@linkcode ServedLeg.serve}. */
export class ServedLeg implements BodyTap {
  readonly #ctl = new AbortController();
  readonly #stallMs: number;
  #lastByteMs = 0;
  #stall: ReturnType<typeof setTimeout> | undefined;
  #finished = false;
  /** The client does not read: its time, not the backend's. */
  #paused = false;
  #legStartMs = now();
  // until the stream is handed to the client, its end (or first bytes) wake the
  // waiter in #stream; after, a failure becomes an SSE error event
  #handedOver = false;
  #ended: { error: unknown } | null = null;
  #wake: (() => void) | null = null;
  readonly #woken = new Promise<void>((r) => (this.#wake = r));

  constructor(
    readonly io: LegIo,
    readonly b: Backend,
    readonly leg: Leg,
    readonly ctx: Ctx,
  ) {
    this.#stallMs = io.cfg.stallTimeoutMs;
  }

  /** Opens the leg with `body` and answers the client (throws an HttpError when it cannot). */
  async serve(body: Body, requestId: string): Promise<Response> {
    const { b, ctx } = this;
    const { res, t0 } = await this.io.open(b, this.leg, ctx, body, requestId, this, this.#ctl);
    this.#legStartMs = t0;
    this.#lastByteMs = now();
    if (!this.#finished) this.#stall = setTimeout(this.#watch, this.#stallMs);
    const out = ctx.out;
    out.set("x-topobench-backend", b.name);
    out.set("x-backend", b.name);
    out.set("x-topobench-route", ctx.route);
    out.set("content-type", res.headers.get("content-type") ?? "application/json");
    const isSse = (res.headers.get("content-type") ?? "").includes("text/event-stream");
    if (!isSse || !res.body) return await this.#whole(res, t0);
    return await this.#stream(res, t0);
  }

  /** A non-streamed answer: read whole, then passed on. */
  async #whole(res: Response, t0: number): Promise<Response> {
    this.#firstByte(now() - t0);
    let text: string;
    try {
      text = await res.text();
    } catch (e) {
      throw this.#fail(e);
    }
    this.#finish(true);
    return new Response(text, { status: res.status, headers: this.ctx.out });
  }

  /** An SSE answer: handed over once its first bytes are in (or an error answer if it failed first). */
  async #stream(res: Response, t0: number): Promise<Response> {
    await this.#woken;
    // failed before any byte reached the client: an error answer, not a stream
    const end = this.#ended;
    if (end && end.error !== undefined) throw this.#fail(end.error);
    if (end) this.#finish(true);
    this.#firstByte(now() - t0);
    this.ctx.out.set("cache-control", "no-cache");
    this.#handedOver = true;
    return new Response(res.body, { status: res.status, headers: this.ctx.out });
  }

  #firstByte(ms: number): void {
    this.io.metrics.observeLeg(this.leg, ms);
    this.ctx.out.set("x-topobench-first-byte-ms", ms3(ms));
    if (this.ctx.prefilled) this.ctx.out.set("x-topobench-transfer-ms", ms3(ms));
  }

  /** Cuts the leg after the stall timeout without a byte (its read then fails with the Stalled reason). */
  readonly #watch = (): void => {
    const idleMs = now() - this.#lastByteMs;
    if (this.#finished) return;
    if (this.#paused) this.#stall = setTimeout(this.#watch, this.#stallMs);
    else if (idleMs >= this.#stallMs) this.#ctl.abort(new Stalled(this.b, this.leg, this.#stallMs));
    else this.#stall = setTimeout(this.#watch, this.#stallMs - idleMs);
  };

  /** The leg ended (once): its bookkeeping, and the request's time when served. */
  #finish(ok: boolean): void {
    if (this.#finished) return;
    this.#finished = true;
    clearTimeout(this.#stall);
    this.io.done(this.b, this.leg, ok, this.#ctl, !ok && this.ctx.ac.signal.aborted);
    if (ok) this.io.metrics.observeRequest(this.ctx.route, now() - this.ctx.t0);
  }

  /** The leg failed: the error the client gets (a stall's 504, or the network failure's). */
  #fail(e: unknown): HttpError {
    this.#finish(false);
    const ours = this.#ctl.signal.aborted;
    const why = ours ? this.#ctl.signal.reason : e;
    if (why instanceof Stalled) return why.http();
    const signal = this.ctx.ac.signal;
    return this.io.netError(this.b, this.leg, why, signal, this.#legStartMs, false, ours);
  }

  /** BodyTap: bytes came from the backend. */
  data(): void {
    this.#lastByteMs = now();
    this.b.live.answered(this.#lastByteMs);
    this.#wake?.();
    this.#wake = null;
  }

  /** BodyTap: the backend's body ended; after the hand-over a failure's SSE error event. */
  end(e: unknown): Uint8Array | undefined {
    if (!this.#handedOver) {
      this.#ended = { error: e };
      this.#wake?.();
      this.#wake = null;
      return undefined;
    }
    if (e === undefined) {
      this.#finish(true);
      return undefined;
    }
    const err = this.#fail(e);
    if (err instanceof ClientGone) return undefined;
    const msg = `${this.leg} backend ${this.b.name} failed mid-stream: ${err.message}`;
    this.io.log.warn(msg);
    const timeout = err.status === 504;
    return sseErrorTail(timeout ? 504 : 502, msg, timeout ? "GatewayTimeout" : "BadGatewayError");
  }

  /** BodyTap: the client cancelled the body. */
  cancel(): void {
    this.ctx.ac.abort();
    this.#finish(false);
  }

  /** BodyTap: reading paused (the client does not read) or resumed. */
  paused(on: boolean): void {
    this.#paused = on;
    if (!on) this.#lastByteMs = now();
  }
}
