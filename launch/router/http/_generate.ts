/**
 * The router's generation path: `/v1/completions` and `/v1/chat/completions`
 * through the legs of each topology (direct, P→D, E→P→D, PPD's direct turn 2+),
 * with per-role policies, retries on unreachable backends and timing headers.
 * A leg's I/O and bookkeeping are in `_leg_io.ts`, the serving leg's relay to
 * the client in `_served_leg.ts`.
 *
 * @module
 */
import type { Logger } from "../../../lib/log.ts";
import { errorMessage } from "../../../lib/errors.ts";
import type { Backend, BackendPool } from "./backends.ts";
import type { Role, RouterConfig } from "../../../lib/contracts.ts";
import type { Leg, RouterMetrics } from "./metrics.ts";
import type { PickContext } from "../core/policy.ts";
import { type Mode, Routing } from "../core/routing.ts";
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
} from "../core/legs.ts";
import { checkBody } from "./_body_check.ts";
import { bodyText, errorResponse, forwardHeaders, HttpError, ms3, readBody } from "./_http.ts";
import { ClientGone, type Ctx, LegIo, now, Unreachable } from "./_leg_io.ts";
import { serveLeg } from "./_served_leg.ts";
import { clientSignal, rawRequest } from "../../../lib/http_server.ts";

export type { Mode };

/** Routes generation requests for one router configuration. */
export class Generator {
  /** The routing decisions (shared with the virtual loop of `deno task predict`). */
  readonly routing: Routing;
  /** Requests sent again after a leg failed before any token (`retries` in the config). */
  retried = 0;

  readonly #io: LegIo;

  constructor(
    readonly cfg: RouterConfig,
    readonly pool: BackendPool,
    readonly metrics: RouterMetrics,
    readonly log: Logger,
  ) {
    this.routing = new Routing(cfg);
    this.#io = new LegIo(cfg, pool, metrics, log);
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
    const gone = clientSignal(req);
    gone.addEventListener("abort", onGone, { once: true });
    const out = new Map<string, string>();
    const seen = rawRequest(req);
    try {
      const whole = seen?.body ? bodyText(seen.body, this.cfg.maxBodyBytes) : undefined;
      let raw = whole?.text ?? await readBody(req, this.cfg.maxBodyBytes);
      let rawBytes = whole?.bytes;
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
      if (Object.keys(b).length !== keys) [raw, rawBytes] = [JSON.stringify(b), undefined];
      const requestId = req.headers.get("x-request-id") ?? hexId();
      const ctx: Ctx = {
        t0: now(),
        path,
        body: b,
        raw,
        rawBytes,
        fwd: forwardHeaders(seen?.headers ?? req.headers),
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
      if (e instanceof HttpError) return errorResponse(e, [...out]);
      this.log.error(`internal error: ${e instanceof Error ? e.stack : e}`);
      return errorResponse(new HttpError(500, errorMessage(e), "InternalServerError"), [...out]);
    } finally {
      gone.removeEventListener("abort", onGone);
    }
  }

  #pickOne(
    role: Role,
    pick: PickContext,
    tried: Set<string>,
    why: string[],
    avoid?: Set<string>,
  ): Backend {
    const all = this.pool.of(role);
    let cands = this.pool.healthy(role).filter((b) => !tried.has(b.name));
    // a retry avoids the backends that failed it, while there are others
    const others = avoid?.size ? cands.filter((b) => !avoid.has(b.name)) : cands;
    if (others.length) cands = others;
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
    avoid?: Set<string>,
  ): Promise<[Backend, T]> {
    const tried = new Set<string>();
    const why: string[] = [];
    for (;;) {
      const b = this.#pickOne(role, pick, tried, why, avoid);
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

  async #direct(ctx: Ctx): Promise<Response> {
    const [, res] = await this.#attempt(
      "backend",
      ctx.pick,
      (b) => this.#serve(b, "direct", ctx, ctx.body, ctx.requestId),
    );
    return res;
  }

  async #disagg(ctx: Ctx): Promise<Response> {
    const { routing } = this;
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
    for (let attempt = 1;; attempt++) {
      try {
        return await this.#pd(ctx);
      } catch (e) {
        const lost = ctx.current;
        const own = !(e instanceof HttpError) || e instanceof ClientGone || e.status < 500;
        if (
          !lost || !routing.retry(attempt, { leg: lost.leg, tokensOut: 0, clientOrRequest: own })
        ) {
          throw e;
        }
        // no token reached the client (a failure after the hand-over does not throw): again, elsewhere
        this.retried++;
        (ctx.avoid ??= new Set()).add(lost.backend);
        ctx.current = undefined;
        ctx.prefilled = false;
        ctx.out.set("x-topobench-retried", String(attempt));
        this.log.warn(
          `request ${ctx.requestId}: ${lost.leg} leg on ${lost.backend} failed before any token (${
            errorMessage(e)
          }); sending it again (retry ${attempt} of ${this.cfg.retries})`,
        );
      }
    }
  }

  /** One P -> D (E -> P -> D) pass of a request. */
  async #pd(ctx: Ctx): Promise<Response> {
    const { cfg, routing } = this;
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
        decode ??= this.#pickOne("decode", ctx.pick, new Set(), [], ctx.avoid);
        rid = p2pRequestId(p.kvAddr!, decode.kvAddr!);
      }
      ctx.current = { leg: "prefill", backend: p.name };
      return this.#io.post(p, "prefill", ctx, pBody, rid);
    }, ctx.avoid);
    ctx.prefilled = true;
    ctx.out.set("x-topobench-prefill-ms", ms3(pre.ms));
    ctx.out.set("x-topobench-prefill-backend", p.name);
    ctx.out.set("x-request-id", rid);
    const dBody = decodeBody(ctx.body, pre.json?.kv_transfer_params);
    const serve = (d: Backend) => {
      ctx.current = { leg: "decode", backend: d.name };
      return this.#serve(d, "decode", ctx, dBody, rid);
    };
    const [d, res] = decode
      ? [decode, await serve(decode)]
      : await this.#attempt("decode", ctx.pick, serve, ctx.avoid);
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
        this.#io.post(
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

  /** Opens the serving leg on `b` and passes its answer to the client. */
  #serve(b: Backend, leg: Leg, ctx: Ctx, body: Body, requestId: string): Promise<Response> {
    return serveLeg(this.#io, b, leg, ctx, body, requestId);
  }
}
