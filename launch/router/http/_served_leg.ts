/**
 * The serving leg of a routed request (direct, decode, PPD's direct turn):
 * its answer passed to the client whole, or as an SSE stream once its first
 * bytes are in. The backend's body (a `PushBody` of lib/http1_relay.ts, no
 * web stream) goes to the client as it comes, watched through a
 * {@linkcode BodyTap}: no second stream, one stall timer
 * (time the client does not read is the client's), and a failure after the
 * hand-over ends the stream with an SSE error event.
 *
 * The leg's state lives in closures of {@linkcode serveLeg}, not in an object:
 * a class or a plain object holding it measured 10-14 µs more router CPU per
 * request (more time in GC; interleaved A/B against the closures).
 *
 * @module
 */
import type { BodyTap, RelayAnswer } from "../../../lib/http1_relay.ts";
import { rawResponse } from "../../../lib/http_server.ts";
import type { Backend } from "./backends.ts";
import type { Leg } from "./metrics.ts";
import type { Body } from "../core/legs.ts";
import { type HttpError, ms3, sseErrorTail } from "./_http.ts";
import { ClientGone, type Ctx, type LegIo, now } from "./_leg_io.ts";
import type { Watched } from "./_stall_watch.ts";

/** Opens the serving leg on `b` with `body` and answers the client (throws an HttpError when it cannot). */
export async function serveLeg(
  io: LegIo,
  b: Backend,
  leg: Leg,
  ctx: Ctx,
  body: Body,
  requestId: string,
): Promise<Response> {
  const ctl = new AbortController();
  // cut the leg after the stall timeout without a byte (its read then fails with the
  // Stalled reason); paused while the client does not read: its time, not the backend's
  let stall: Watched | undefined;
  let finished = false, paused = false;
  const finish = (ok: boolean) => {
    if (finished) return;
    finished = true;
    io.stalls.unwatch(stall);
    io.done(b, leg, ok, ctl, !ok && ctx.ac.signal.aborted);
    if (ok) io.metrics.observeRequest(ctx.route, now() - ctx.t0);
  };
  let legStartMs = now();
  const fail = (e: unknown): HttpError => {
    finish(false);
    return io.failure(b, leg, ctx.ac.signal, ctl.signal, legStartMs, e);
  };
  // until the stream is handed to the client, its end (or first bytes) wake the
  // waiter below; after, a failure becomes an SSE error event
  let handedOver = false, ended: { error: unknown } | null = null;
  let wake: (() => void) | null = null;
  const woken = new Promise<void>((r) => (wake = r));
  const tap: BodyTap = {
    data: () => {
      const t = now();
      if (stall) stall.lastMs = t;
      b.live.answered(t);
      wake?.();
      wake = null;
    },
    end: (e) => {
      if (handedOver) {
        return e === undefined ? void finish(true) : midStreamTail(io, b, leg, fail(e));
      }
      ended = { error: e };
      wake?.();
      wake = null;
    },
    cancel: () => {
      ctx.ac.abort();
      finish(false);
    },
    // (the body's first bytes, and a pause, may come before the watch begins)
    paused: (on) => {
      paused = on;
      if (!stall) return;
      stall.paused = on;
      if (!on) stall.lastMs = now();
    },
  };
  const { res, t0 } = await io.open(b, leg, ctx, body, requestId, tap, ctl);
  legStartMs = t0;
  if (!finished) {
    stall = io.stallTimer(b, leg, ctl);
    stall.paused = paused;
  }
  if (!answerHeaders(ctx, b, res)) {
    return await wholeAnswer(io, leg, ctx, res, t0, finish, fail);
  }
  await woken;
  // failed before any byte reached the client: an error answer, not a stream
  const end = ended as { error: unknown } | null;
  if (end && end.error !== undefined) throw fail(end.error);
  if (end) finish(true);
  const answer = streamAnswer(io, leg, ctx, res, t0);
  handedOver = true;
  return answer;
}

/** Sets the answer's headers (backend, route, content type); true for an SSE answer. */
function answerHeaders(ctx: Ctx, b: Backend, res: RelayAnswer): boolean {
  const out = ctx.out;
  out.set("x-topobench-backend", b.name);
  out.set("x-backend", b.name);
  out.set("x-topobench-route", ctx.route);
  const type = res.headers.get("content-type");
  out.set("content-type", type ?? "application/json");
  return (type ?? "").includes("text/event-stream");
}

/** A non-streamed answer: read whole, then passed on. */
async function wholeAnswer(
  io: LegIo,
  leg: Leg,
  ctx: Ctx,
  res: RelayAnswer,
  t0: number,
  finish: (ok: boolean) => void,
  fail: (e: unknown) => HttpError,
): Promise<Response> {
  firstByte(io, leg, ctx, now() - t0);
  let text: string;
  try {
    text = await res.body.text();
  } catch (e) {
    throw fail(e);
  }
  finish(true);
  return rawResponse(text, res.status, [...ctx.out]);
}

/** An SSE answer, its first bytes in: the backend's body stream goes to the client as it is. */
function streamAnswer(io: LegIo, leg: Leg, ctx: Ctx, res: RelayAnswer, t0: number): Response {
  firstByte(io, leg, ctx, now() - t0);
  ctx.out.set("cache-control", "no-cache");
  return rawResponse(res.body, res.status, [...ctx.out]);
}

/** The leg's first bytes `ms` after it was opened: its metric and timing headers. */
function firstByte(io: LegIo, leg: Leg, ctx: Ctx, ms: number): void {
  io.metrics.observeLeg(leg, ms);
  ctx.out.set("x-topobench-first-byte-ms", ms3(ms));
  if (ctx.prefilled) ctx.out.set("x-topobench-transfer-ms", ms3(ms));
}

/**
 * The SSE error event that ends a stream whose backend failed after the
 * hand-over; none when the client is gone.
 */
function midStreamTail(io: LegIo, b: Backend, leg: Leg, err: HttpError): Uint8Array | undefined {
  if (err instanceof ClientGone) return undefined;
  const msg = `${leg} backend ${b.name} failed mid-stream: ${err.message}`;
  io.log.warn(msg);
  const timeout = err.status === 504;
  return sseErrorTail(timeout ? 504 : 502, msg, timeout ? "GatewayTimeout" : "BadGatewayError");
}
