/**
 * The router's generation path: `/v1/completions` and `/v1/chat/completions`
 * through the legs of each topology (direct, P→D, E→P→D, PPD's direct turn 2+),
 * with per-role policies, retries on unreachable backends, timing headers and a
 * streamed relay of the serving leg.
 *
 * @module
 */
import { type BodyTap, http1Fetch } from "../../lib/http1.ts";
import type { Logger } from "../../lib/log.ts";
import { errorMessage } from "../../lib/errors.ts";
import type { Backend, BackendPool } from "./backends.ts";
import type { Role, RouterConfig } from "../../lib/contracts.ts";
import type { Leg, RouterMetrics } from "./metrics.ts";
import type { PickContext } from "./policy.ts";
import { type Mode, type Route, Routing } from "./routing.ts";
import {
  type Body,
  clientInternalFields,
  decodeBody,
  encoderBody,
  hexId,
  mmItems,
  p2pRequestId,
  prefillBody,
  sessionKey,
} from "./_legs.ts";
import { checkBody } from "./_body_check.ts";
import { errorResponse, forwardHeaders, HttpError, ms3, readBody, sseErrorTail } from "./_http.ts";

export type { Mode };

/** Why a leg was cut: no byte from its backend for the stall timeout. */
class Stalled extends Error {
  constructor(readonly b: Backend, readonly leg: Leg, readonly ms: number) {
    super(`${leg} backend ${b.name} sent nothing for ${ms / 1000} s`);
  }
  /** The 504 the client gets. */
  http(): HttpError {
    return new HttpError(504, this.message, "GatewayTimeout");
  }
}

/** The network failed before the backend answered: safe to try another backend. */
class Unreachable extends HttpError {}
/** The client went away. */
class ClientGone extends HttpError {}

interface Ctx {
  t0: number;
  path: string;
  body: Body;
  /** The client's body as sent (forwarded as is when a leg sends it unchanged). */
  raw: string;
  fwd: Record<string, string>;
  requestId: string;
  pick: PickContext;
  ac: AbortController;
  /** Response headers collected along the way. */
  out: Headers;
  route: Route;
  prefilled: boolean;
}

const now = () => performance.now();

function upstreamMessage(text: string): string {
  try {
    const m = JSON.parse(text)?.error?.message;
    if (typeof m === "string") return m;
  } catch { /* not JSON */ }
  return text.slice(0, 300);
}

/** Routes generation requests for one router configuration. */
export class Generator {
  /** The routing decisions (shared with the virtual loop of `deno task predict`). */
  readonly routing: Routing;

  constructor(
    readonly cfg: RouterConfig,
    readonly pool: BackendPool,
    readonly metrics: RouterMetrics,
    readonly log: Logger,
  ) {
    this.routing = new Routing(cfg);
  }

  /** Current PD mode (pd and ppd kinds). */
  get mode(): Mode {
    return this.routing.mode;
  }
  set mode(m: Mode) {
    this.routing.mode = m;
  }

  /** Conversation (session key) -> the decode backend that served its last turn. */
  get conversations(): Routing["conversations"] {
    return this.routing.conversations;
  }

  /** Handles a POST to a generation endpoint. */
  async handle(req: Request, path: string): Promise<Response> {
    const ac = new AbortController();
    const onGone = () => ac.abort();
    req.signal.addEventListener("abort", onGone, { once: true });
    const out = new Headers();
    try {
      let raw = await readBody(req, this.cfg.maxBodyBytes);
      let body: unknown;
      try {
        body = JSON.parse(raw);
      } catch (e) {
        throw new HttpError(400, `JSON decode error: ${errorMessage(e)}`, "BadRequestError");
      }
      if (typeof body !== "object" || body === null || Array.isArray(body)) {
        throw new HttpError(400, "Request body must be a JSON object", "BadRequestError");
      }
      const b = body as Body;
      checkBody(path, b);
      // only our own fields reach the engines (issue 26): the one check at the edge
      const keys = Object.keys(b).length;
      const internal = clientInternalFields(b, req.headers.get("x-request-id"));
      if (internal) throw new HttpError(400, internal, "BadRequestError");
      if (Object.keys(b).length !== keys) raw = JSON.stringify(b);
      const requestId = req.headers.get("x-request-id") ?? hexId();
      const ctx: Ctx = {
        t0: now(),
        path,
        body: b,
        raw,
        fwd: forwardHeaders(req.headers),
        requestId,
        pick: this.routing.context(b, sessionKey(req.headers, b)),
        ac,
        out,
        route: "direct",
        prefilled: false,
      };
      out.set("x-request-id", requestId);
      if (this.routing.direct) return await this.#direct(ctx);
      return await this.#disagg(ctx);
    } catch (e) {
      ac.abort();
      if (e instanceof HttpError) return errorResponse(e, out);
      this.log.error(`internal error: ${e instanceof Error ? e.stack : e}`);
      return errorResponse(new HttpError(500, errorMessage(e), "InternalServerError"), out);
    } finally {
      req.signal.removeEventListener("abort", onGone);
    }
  }

  #pickOne(role: Role, pick: PickContext, tried: Set<string>, why: string[]): Backend {
    const all = this.pool.of(role);
    const cands = this.pool.healthy(role).filter((b) => !tried.has(b.name));
    const b = this.routing.pick(role, cands, pick);
    if (!b) {
      const down = all.filter((x) => !x.healthy).map((x) => `${x.name}: ${x.lastError}`);
      throw new HttpError(
        503,
        `No healthy ${role === "backend" ? "" : `${role} `}backend (${all.length} configured)${
          [...why, ...down].length ? `; ${[...new Set([...why, ...down])].join("; ")}` : ""
        }`,
        "ServiceUnavailableError",
      );
    }
    return b;
  }

  /** Picks a backend of `role` and runs `fn` on it, trying others while it is unreachable. */
  async #attempt<T>(
    role: Role,
    pick: PickContext,
    fn: (b: Backend) => Promise<T>,
  ): Promise<[Backend, T]> {
    const tried = new Set<string>();
    const why: string[] = [];
    for (;;) {
      const b = this.#pickOne(role, pick, tried, why);
      tried.add(b.name);
      try {
        return [b, await fn(b)];
      } catch (e) {
        if (!(e instanceof Unreachable)) throw e;
        // still in rotation (busy, not dead) and no other to try: its own error, not a 503
        const others = this.pool.healthy(role).some((x) => !tried.has(x.name));
        if (b.healthy && !others) throw e;
        why.push(e.message);
      }
    }
  }

  /**
   * A network failure on a leg begun at `startMs`: evidence for the pool (a
   * failure the router caused itself, by a stall or by taking the backend
   * out, is none); `connecting` ones may be retried on another backend.
   */
  #netError(
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

  #upstream(b: Backend, leg: Leg, status: number, text: string): HttpError {
    const msg = `${leg} backend ${b.name} answered HTTP ${status}: ${upstreamMessage(text)}`;
    this.log.warn(msg);
    if (status >= 500) return new HttpError(502, msg);
    return new HttpError(status, msg, "BadRequestError", text);
  }

  /** Opens a leg; on success the caller owns `b.inFlight` (released by the relay). */
  async #open(
    b: Backend,
    leg: Leg,
    ctx: Ctx,
    body: Body,
    requestId: string,
    tap?: BodyTap,
    ctl = new AbortController(),
  ): Promise<{ res: Response; t0: number; ctl: AbortController }> {
    b.inFlight++;
    const t0 = now();
    const headers = { ...ctx.fwd, "x-request-id": requestId };
    // the leg ends with the client, when its backend is taken out, or when it stalls
    b.legs.add(ctl);
    // no answer yet after the stall timeout: streamed answers and one-token legs
    // (prefill, encode) start at once; a whole non-streamed answer may take longer
    const timed = ctx.body.stream === true || leg === "prefill" || leg === "encode";
    const stall = timed
      ? setTimeout(
        () => ctl.abort(new Stalled(b, leg, this.cfg.stallTimeoutMs)),
        this.cfg.stallTimeoutMs,
      )
      : undefined;
    let res: Response;
    try {
      res = await http1Fetch(`${b.url}${ctx.path}`, {
        method: "POST",
        headers,
        body: body === ctx.body ? ctx.raw : JSON.stringify(body),
        signal: AbortSignal.any([ctx.ac.signal, ctl.signal]),
        tap,
      });
    } catch (e) {
      clearTimeout(stall);
      this.#done(b, leg, false, ctl, ctx.ac.signal.aborted);
      if (ctl.signal.reason instanceof Stalled) throw ctl.signal.reason.http();
      const ours = ctl.signal.aborted;
      throw this.#netError(b, leg, ours ? ctl.signal.reason : e, ctx.ac.signal, t0, true, ours);
    } finally {
      clearTimeout(stall);
    }
    this.pool.answered(b);
    if (!res.ok) {
      const text = await res.text().catch(() => "");
      this.#done(b, leg, false, ctl);
      throw this.#upstream(b, leg, res.status, text);
    }
    return { res, t0, ctl };
  }

  /** A leg ended: served, failed, or cut because its client went away (`gone`: no error). */
  #done(b: Backend, leg: Leg, ok: boolean, ctl?: AbortController, gone = false): void {
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
  async #post(
    b: Backend,
    leg: Leg,
    ctx: Ctx,
    body: Body,
    requestId: string,
    path = ctx.path,
  ): Promise<{ json: Body | null; ms: number }> {
    const { res, t0, ctl } = await this.#open(b, leg, { ...ctx, path }, body, requestId);
    let text: string;
    const stall = setTimeout(
      () => ctl.abort(new Stalled(b, leg, this.cfg.stallTimeoutMs)),
      this.cfg.stallTimeoutMs,
    );
    try {
      text = await res.text();
    } catch (e) {
      this.#done(b, leg, false, ctl, ctx.ac.signal.aborted);
      if (ctl.signal.reason instanceof Stalled) throw ctl.signal.reason.http();
      const ours = ctl.signal.aborted;
      throw this.#netError(b, leg, ours ? ctl.signal.reason : e, ctx.ac.signal, t0, false, ours);
    } finally {
      clearTimeout(stall);
    }
    this.pool.answered(b);
    const ms = now() - t0;
    this.#done(b, leg, true, ctl);
    this.metrics.observeLeg(leg, ms);
    let json: Body | null = null;
    try {
      json = JSON.parse(text);
    } catch { /* not JSON: no kv_transfer_params */ }
    return { json, ms };
  }

  async #direct(ctx: Ctx): Promise<Response> {
    const [, res] = await this.#attempt(
      "backend",
      ctx.pick,
      (b) => this.#serve(b, "direct", ctx, ctx.body, ctx.requestId),
    );
    return res;
  }

  async #disagg(ctx: Ctx): Promise<Response> {
    const { cfg, routing } = this;
    const d0 = routing.ppdTarget(ctx.pick, () => this.pool.healthy("decode"));
    if (d0) {
      ctx.route = "ppd-direct";
      try {
        return await this.#serve(d0, "direct", ctx, ctx.body, ctx.requestId);
      } catch (e) {
        if (!(e instanceof Unreachable)) throw e;
        routing.lost(ctx.pick);
      }
    }
    ctx.route = routing.disaggRoute;
    // no decode instance to hand the KV to: do not run (and hold KV for) a prefill
    if (this.pool.healthy("decode").length === 0) {
      throw new HttpError(
        503,
        `No healthy decode backend (${
          this.pool.of("decode").map((b) => `${b.name}: ${b.lastError || "down"}`).join("; ")
        }); the prefill was not run`,
        "ServiceUnavailable",
      );
    }
    if (cfg.kind === "epd") await this.#encode(ctx);
    const connector = routing.connector;
    // P2P-NCCL names both instances in the request id, so the decode is chosen first.
    let decode: Backend | undefined;
    let rid = ctx.requestId;
    const pBody = prefillBody(connector, ctx.body);
    const [p, pre] = await this.#attempt("prefill", ctx.pick, (p) => {
      if (routing.decodeFirst) {
        decode ??= this.#pickOne("decode", ctx.pick, new Set(), []);
        rid = p2pRequestId(p.kvAddr!, decode.kvAddr!);
      }
      return this.#post(p, "prefill", ctx, pBody, rid);
    });
    ctx.prefilled = true;
    ctx.out.set("x-topobench-prefill-ms", ms3(pre.ms));
    ctx.out.set("x-topobench-prefill-backend", p.name);
    ctx.out.set("x-request-id", rid);
    const dBody = decodeBody(ctx.body, pre.json?.kv_transfer_params);
    const serve = (d: Backend) => this.#serve(d, "decode", ctx, dBody, rid);
    const [d, res] = decode
      ? [decode, await serve(decode)]
      : await this.#attempt("decode", ctx.pick, serve);
    routing.served(ctx.pick, d.name);
    return res;
  }

  /** EPD: every image/audio part to an encoder, concurrently, before the prefill. */
  async #encode(ctx: Ctx): Promise<void> {
    if (!ctx.path.endsWith("/chat/completions")) return;
    const items = mmItems(ctx.body);
    if (items.length === 0) return;
    const t0 = now();
    const names = await Promise.all(items.map(async (it, i) => {
      const [b] = await this.#attempt("encode", {}, (b) =>
        this.#post(
          b,
          "encode",
          ctx,
          encoderBody(ctx.body.model, it),
          `${ctx.requestId}:${i}:${hexId().slice(0, 6)}`,
          "/v1/chat/completions",
        ));
      return b.name;
    }));
    ctx.out.set("x-topobench-encode-ms", ms3(now() - t0));
    ctx.out.set("x-topobench-encode-backend", [...new Set(names)].join(","));
  }

  /**
   * Opens the serving leg and passes its answer to the client: whole, or as
   * an SSE stream once its first bytes are in (the backend's body stream goes
   * to the client as it is, watched by a tap: no second stream, one stall timer).
   */
  async #serve(b: Backend, leg: Leg, ctx: Ctx, body: Body, requestId: string): Promise<Response> {
    const stallMs = this.cfg.stallTimeoutMs;
    const { log } = this;
    const ctl = new AbortController();
    let lastByteMs = 0;
    let stall: ReturnType<typeof setTimeout> | undefined;
    // cut the leg after stallMs without a byte (its read then fails with the Stalled reason)
    const watch = () => {
      const idleMs = now() - lastByteMs;
      if (finished) return;
      // paused because the client does not read: its time, not the backend's
      if (paused) stall = setTimeout(watch, stallMs);
      else if (idleMs >= stallMs) ctl.abort(new Stalled(b, leg, stallMs));
      else stall = setTimeout(watch, stallMs - idleMs);
    };
    let finished = false;
    let paused = false;
    const finish = (ok: boolean) => {
      if (finished) return;
      finished = true;
      clearTimeout(stall);
      this.#done(b, leg, ok, ctl, !ok && ctx.ac.signal.aborted);
      if (ok) this.metrics.observeRequest(ctx.route, now() - ctx.t0);
    };
    let legStartMs = now();
    const fail = (e: unknown): HttpError => {
      finish(false);
      const ours = ctl.signal.aborted;
      const why = ours ? ctl.signal.reason : e;
      if (why instanceof Stalled) return why.http();
      return this.#netError(b, leg, why, ctx.ac.signal, legStartMs, false, ours);
    };
    // until the stream is handed to the client, its end (or first bytes) wake
    // the waiter below; after, a failure becomes an SSE error event
    let handedOver = false;
    let ended: { error: unknown } | null = null;
    let wake: (() => void) | null = null;
    const woken = new Promise<void>((r) => (wake = r));
    const tap: BodyTap = {
      data: () => {
        lastByteMs = now();
        b.live.answered(lastByteMs);
        wake?.();
        wake = null;
      },
      end: (e) => {
        if (!handedOver) {
          ended = { error: e };
          wake?.();
          wake = null;
          return undefined;
        }
        if (e === undefined) {
          finish(true);
          return undefined;
        }
        const err = fail(e);
        if (err instanceof ClientGone) return undefined;
        const msg = `${leg} backend ${b.name} failed mid-stream: ${err.message}`;
        log.warn(msg);
        const timeout = err.status === 504;
        return sseErrorTail(
          timeout ? 504 : 502,
          msg,
          timeout ? "GatewayTimeout" : "BadGatewayError",
        );
      },
      cancel: () => {
        ctx.ac.abort();
        finish(false);
      },
      paused: (on) => {
        paused = on;
        if (!on) lastByteMs = now();
      },
    };
    const { res, t0 } = await this.#open(b, leg, ctx, body, requestId, tap, ctl);
    legStartMs = t0;
    lastByteMs = now();
    if (!finished) stall = setTimeout(watch, stallMs);
    const out = ctx.out;
    out.set("x-topobench-backend", b.name);
    out.set("x-backend", b.name);
    out.set("x-topobench-route", ctx.route);
    out.set("content-type", res.headers.get("content-type") ?? "application/json");
    const firstByte = (ms: number) => {
      this.metrics.observeLeg(leg, ms);
      out.set("x-topobench-first-byte-ms", ms3(ms));
      if (ctx.prefilled) out.set("x-topobench-transfer-ms", ms3(ms));
    };
    const isSse = (res.headers.get("content-type") ?? "").includes("text/event-stream");
    if (!isSse || !res.body) {
      firstByte(now() - t0);
      let text: string;
      try {
        text = await res.text();
      } catch (e) {
        throw fail(e);
      }
      finish(true);
      return new Response(text, { status: res.status, headers: out });
    }
    await woken;
    // failed before any byte reached the client: an error answer, not a stream
    const end = ended as { error: unknown } | null;
    if (end && end.error !== undefined) throw fail(end.error);
    if (end) finish(true);
    firstByte(now() - t0);
    out.set("cache-control", "no-cache");
    handedOver = true;
    return new Response(res.body, { status: res.status, headers: out });
  }
}
