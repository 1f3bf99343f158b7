/**
 * The OpenAI-compatible router as an HTTP handler: generation endpoints, and
 * `/v1/models`, `/health`, `/status`, `/metrics`, `POST /metrics/clear`,
 * `GET /mode`, `POST /mode/pd|ppd`, `POST /conversations/clear`.
 *
 * @module
 */
import { createLogger, type Logger } from "../../lib/log.ts";
import { errorMessage } from "../../lib/errors.ts";
import { BackendPool } from "./backends.ts";
import type { Role, RouterConfig } from "../../lib/contracts.ts";
import { RouterMetrics } from "./metrics.ts";
import { Generator, type Mode } from "./_generate.ts";
import { errorObject, errorResponse, HttpError, json, readBody } from "./_http.ts";
import type { RegistrationListener } from "../../lib/p2p_registration.ts";
import { startDiscovery } from "./_discovery.ts";
import { ControlGuard, type ControlGuardOptions } from "../../lib/control_guard.ts";

/** Options of {@linkcode createRouter}. */
export interface RouterOptions {
  /** @default an `info` logger named `router` */
  log?: Logger;
  /** Who may use the control endpoints (foreign origins are always refused). @default loopback only, no token */
  guard?: ControlGuardOptions;
}

/** Endpoints that change the router's state: POST only, local callers only. */
const CONTROL = new Set(["/metrics/clear", "/mode/pd", "/mode/ppd", "/conversations/clear"]);

/** A router: its handler and its parts. */
export interface Router {
  handler: (req: Request) => Promise<Response>;
  pool: BackendPool;
  metrics: RouterMetrics;
  generator: Generator;
  /** Runs the first health check, starts the periodic ones and the discovery listener. */
  start(): Promise<void>;
  /** Stops the health checks and the discovery listener. */
  stop(): Promise<void>;
  /** The bound discovery port, once started (discovery only). */
  discoveryPort?: number;
}

const err = (status: number, message: string, type = "BadRequestError") =>
  json(errorObject(status, message, type), status);

/** Builds the router for a validated configuration. */
export function createRouter(cfg: RouterConfig, opts: RouterOptions = {}): Router {
  const log = opts.log ?? createLogger({ name: "router" });
  const pool = new BackendPool(cfg, { log });
  const metrics = new RouterMetrics();
  const gen = new Generator(cfg, pool, metrics, log);
  const startedMs = Date.now();
  const pd = cfg.kind === "pd" || cfg.kind === "ppd";
  const mode = () => (pd ? gen.mode : cfg.kind);
  const guard = new ControlGuard(opts.guard);

  const missingRoles = (): Role[] => pool.roles.filter((r) => pool.healthy(r).length === 0);

  /**
   * Relays a GET (`/v1/models`, `/version`) or a POST (`/tokenize`,
   * `/detokenize`) to the first healthy serving backend.
   */
  async function relayGet(path: string, post?: string): Promise<Response> {
    const order: Role[] = ["backend", "decode", "prefill", "encode"];
    const b = order.flatMap((r) => pool.healthy(r))[0];
    if (!b) return err(503, `No healthy backend for ${path}`, "ServiceUnavailableError");
    try {
      const res = await fetch(`${b.url}${path}`, {
        signal: AbortSignal.timeout(10_000),
        ...(post !== undefined
          ? { method: "POST", body: post, headers: { "content-type": "application/json" } }
          : {}),
      });
      return new Response(await res.text(), {
        status: res.status,
        headers: { "content-type": "application/json", "x-topobench-backend": b.name },
      });
    } catch (e) {
      return err(502, `Cannot GET ${path} on ${b.name}: ${errorMessage(e)}`, "BadGatewayError");
    }
  }

  function setMode(m: Mode): Response {
    if (!pd) {
      return err(
        400,
        `Cannot use mode ${m} as a routing mode of kind ${cfg.kind}: current value is "${m}"; mode switching needs kind pd or ppd`,
      );
    }
    if (gen.mode !== m) log.info(`Routing mode ${gen.mode} -> ${m}`);
    gen.mode = m;
    return json({ mode: m });
  }

  /** A control endpoint's refusal: 405 to other methods, else the guard's verdict. */
  function control(req: Request, post: boolean, path: string) {
    if (!post) {
      return json(
        errorObject(
          405,
          `Method Not Allowed: ${req.method} ${path} (use POST)`,
          "MethodNotAllowed",
        ),
        405,
        { allow: "POST" },
      );
    }
    return guard.control(req);
  }

  const handler = async (req: Request): Promise<Response> => {
    const path = new URL(req.url).pathname.replace(/\/+$/, "") || "/";
    const get = req.method === "GET" || req.method === "HEAD";
    const post = req.method === "POST";
    if (!get || CONTROL.has(path)) {
      const refused = CONTROL.has(path) ? control(req, post, path) : guard.origin(req);
      if (refused) {
        return refused instanceof Response
          ? refused
          : err(refused.status, refused.message, "ForbiddenError");
      }
    }
    if (post && (path === "/v1/completions" || path === "/v1/chat/completions")) {
      return await gen.handle(req, path);
    }
    if (get && path === "/health") {
      const missing = missingRoles();
      return missing.length ? json({ status: "unhealthy", missing }, 503) : json({ status: "ok" });
    }
    if (get && (path === "/v1/models" || path === "/version")) return await relayGet(path);
    if (post && (path === "/tokenize" || path === "/detokenize")) {
      try {
        return await relayGet(path, await readBody(req, cfg.maxBodyBytes));
      } catch (e) {
        if (e instanceof HttpError) return errorResponse(e);
        throw e;
      }
    }
    if (get && path === "/status") {
      return json({
        name: cfg.name,
        kind: cfg.kind,
        connector: cfg.connector ?? null,
        mode: mode(),
        policy: { default: cfg.policy, prefill: cfg.prefillPolicy, decode: cfg.decodePolicy },
        healthy: missingRoles().length === 0,
        uptimeS: (Date.now() - startedMs) / 1000,
        conversations: gen.conversations.size,
        backends: pool.all.map((b) => ({
          name: b.name,
          role: b.role,
          url: b.url,
          kvAddr: b.kvAddr ?? null,
          registered: b.registered,
          healthy: b.healthy,
          inFlight: b.inFlight,
          served: b.served,
          errors: b.errors,
          cancelled: b.cancelled,
          lastError: b.lastError || null,
        })),
      });
    }
    if (get && path === "/metrics") {
      return new Response(metrics.render(pool.all), {
        headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" },
      });
    }
    if (post && path === "/metrics/clear") {
      metrics.clear();
      return json({ cleared: true });
    }
    if (get && path === "/mode") return json({ mode: mode() });
    if (post && (path === "/mode/pd" || path === "/mode/ppd")) {
      return setMode(path.slice("/mode/".length) as Mode);
    }
    if (post && path === "/conversations/clear") {
      const n = gen.conversations.size;
      gen.conversations.clear();
      return json({ cleared: n });
    }
    return err(404, `Not Found: ${req.method} ${path}`, "NotFoundError");
  };

  // discovery: admitted instances join on their first registration, leave after dropAfterMs of silence
  let listener: RegistrationListener | undefined;

  const router: Router = {
    handler,
    pool,
    metrics,
    generator: gen,
    start: async () => {
      await pool.start();
      if (!cfg.discovery) return;
      listener = await startDiscovery(cfg, pool, log);
      router.discoveryPort = listener.port;
    },
    stop: async () => {
      await listener?.close();
      await pool.stop();
    },
  };
  return router;
}
