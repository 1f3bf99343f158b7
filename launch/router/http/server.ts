/**
 * The OpenAI-compatible router as an HTTP handler: generation endpoints, and
 * `/v1/models`, `/health`, `/status`, `/metrics`, `POST /metrics/clear`,
 * `GET /mode`, `POST /mode/pd|ppd`, `POST /conversations/clear`.
 *
 * @module
 */
import { createLogger, type Logger } from "../../../lib/log.ts";
import { errorMessage } from "../../../lib/errors.ts";
import { BackendPool } from "./backends.ts";
import type { Role, RouterConfig } from "../../../lib/contracts.ts";
import { RouterMetrics } from "./metrics.ts";
import { Generator, type Mode } from "./_generate.ts";
import { errorObject, errorResponse, HttpError, json, readBody } from "./_http.ts";
import type { RegistrationListener } from "../../../lib/p2p_registration.ts";
import { startDiscovery } from "./_discovery.ts";
import { ControlGuard, type ControlGuardOptions } from "../../../lib/control_guard.ts";

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
  const endpoints = new Endpoints(cfg, pool, metrics, gen, log, new ControlGuard(opts.guard));
  // discovery: admitted instances join on their first registration, leave after dropAfterMs of silence
  let listener: RegistrationListener | undefined;
  const router: Router = {
    handler: endpoints.handle,
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

/** The router's endpoints: the guard first, then generation, or one of the read or control endpoints. */
class Endpoints {
  readonly #startedMs = Date.now();
  readonly #pd: boolean;

  constructor(
    readonly cfg: RouterConfig,
    readonly pool: BackendPool,
    readonly metrics: RouterMetrics,
    readonly gen: Generator,
    readonly log: Logger,
    readonly guard: ControlGuard,
  ) {
    this.#pd = cfg.kind === "pd" || cfg.kind === "ppd";
  }

  /** The HTTP handler. */
  readonly handle = async (req: Request): Promise<Response> => {
    const path = new URL(req.url).pathname.replace(/\/+$/, "") || "/";
    const get = req.method === "GET" || req.method === "HEAD";
    const post = req.method === "POST";
    if (!get || CONTROL.has(path)) {
      const refused = this.#refusal(req, post, path);
      if (refused) return refused;
    }
    if (post && (path === "/v1/completions" || path === "/v1/chat/completions")) {
      return await this.gen.handle(req, path);
    }
    const res = get ? await this.#read(path) : post ? await this.#post(req, path) : undefined;
    return res ?? err(404, `Not Found: ${req.method} ${path}`, "NotFoundError");
  };

  /**
   * Why a request may not go on: a control endpoint's 405 to other methods or
   * the guard's verdict on it, else for any other method the guard's origin check.
   */
  #refusal(req: Request, post: boolean, path: string): Response | undefined {
    const control = CONTROL.has(path);
    if (control && !post) {
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
    const refused = control ? this.guard.control(req) : this.guard.origin(req);
    return refused ? err(refused.status, refused.message, "ForbiddenError") : undefined;
  }

  /** GET (and HEAD) endpoints; undefined when there is none at `path`. */
  async #read(path: string): Promise<Response | undefined> {
    switch (path) {
      case "/health": {
        const missing = this.#missingRoles();
        return missing.length
          ? json({ status: "unhealthy", missing }, 503)
          : json({ status: "ok" });
      }
      case "/v1/models":
      case "/version":
        return await this.#relay(path);
      case "/status":
        return json(this.#status());
      case "/metrics":
        return new Response(this.metrics.render(this.pool.all), {
          headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" },
        });
      case "/mode":
        return json({ mode: this.#mode() });
    }
  }

  /** POST endpoints besides generation; undefined when there is none at `path`. */
  async #post(req: Request, path: string): Promise<Response | undefined> {
    switch (path) {
      case "/tokenize":
      case "/detokenize":
        try {
          return await this.#relay(path, await readBody(req, this.cfg.maxBodyBytes));
        } catch (e) {
          if (e instanceof HttpError) return errorResponse(e);
          throw e;
        }
      case "/metrics/clear":
        this.metrics.clear();
        return json({ cleared: true });
      case "/mode/pd":
      case "/mode/ppd":
        return this.#setMode(path.slice("/mode/".length) as Mode);
      case "/conversations/clear": {
        const n = this.gen.conversations.size;
        this.gen.conversations.clear();
        return json({ cleared: n });
      }
    }
  }

  #mode(): string {
    return this.#pd ? this.gen.mode : this.cfg.kind;
  }

  #missingRoles(): Role[] {
    return this.pool.roles.filter((r) => this.pool.healthy(r).length === 0);
  }

  /** `/status`: the router's settings, health, uptime and every backend's counters. */
  #status(): unknown {
    const { cfg, pool } = this;
    return {
      name: cfg.name,
      kind: cfg.kind,
      connector: cfg.connector ?? null,
      mode: this.#mode(),
      policy: { default: cfg.policy, prefill: cfg.prefillPolicy, decode: cfg.decodePolicy },
      healthy: this.#missingRoles().length === 0,
      uptimeS: (Date.now() - this.#startedMs) / 1000,
      conversations: this.gen.conversations.size,
      // requests sent again after a leg failed before any token (off unless cfg.retries)
      retries: { max: cfg.retries, retried: this.gen.retried },
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
    };
  }

  /**
   * Relays a GET (`/v1/models`, `/version`) or a POST (`/tokenize`,
   * `/detokenize`) to the first healthy serving backend.
   */
  async #relay(path: string, post?: string): Promise<Response> {
    const order: Role[] = ["backend", "decode", "prefill", "encode"];
    const b = order.flatMap((r) => this.pool.healthy(r))[0];
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

  #setMode(m: Mode): Response {
    if (!this.#pd) {
      return err(
        400,
        `Cannot use mode ${m} as a routing mode of kind ${this.cfg.kind}: current value is "${m}"; mode switching needs kind pd or ppd`,
      );
    }
    if (this.gen.mode !== m) this.log.info(`Routing mode ${this.gen.mode} -> ${m}`);
    this.gen.mode = m;
    return json({ mode: m });
  }
}
