/**
 * The simulated engine's HTTP API, as `vllm serve` exposes it: OpenAI
 * completions and chat (streamed and not), models, tokenize/detokenize,
 * health, metrics, prefix cache reset, plus fault injection for tests.
 *
 * @module
 */
import { readBodyText } from "../../../lib/read_body.ts";
import { clientSignal } from "../../../lib/http_server.ts";
import type { Tokenizer } from "../../../lib/tokenizer.ts";
import { PromptTokens } from "../../../lib/prompt_tokens.ts";
import { Rng } from "../../../lib/rng.ts";
import type { ServedEngine } from "../core/dp_group.ts";
import type { KvConnector, KvRequest } from "./connectors.ts";
import type { ModelProfile } from "../core/profiles.ts";
import type { OutputVocab } from "../core/vocab.ts";
import { prepareImages } from "./encoder_cache.ts";
import type { EcTransferConfig } from "../../../lib/contracts.ts";
import { detokenizeApi, tokenizeApi } from "./_tokenize.ts";
import { ApiError, type Endpoint, errorBody } from "../core/openai.ts";
import { ControlGuard, type ControlGuardOptions } from "../../../lib/control_guard.ts";
import { RequestFrontend } from "../core/frontend.ts";
import { answerCompletion, type CompletionDeps, type CompletionPlan } from "./_completion.ts";

/** Everything the HTTP layer needs. */
export interface SimServerOptions {
  /** Name clients must use (`--served-model-name`, else `--model`). */
  servedModelName: string;
  /** The model the profile is for (the `root` in /v1/models). */
  modelPath: string;
  profile: ModelProfile;
  tokenizer: Tokenizer;
  vocab: OutputVocab;
  /** One engine core, or the ranks of a data-parallel instance. */
  engine: ServedEngine;
  maxModelLen: number;
  /** Mean output length when EOS is not ignored. @default 256 */
  meanOutputTokens?: number;
  /** Share of requests answered with HTTP 500. @default 0 */
  failRate?: number;
  seed?: number;
  /** The KV connector chosen at start-up (`connectors.ts`). */
  kv: KvConnector;
  /** `--ec-transfer-config` (encoder disaggregation), if any. */
  ecTransfer?: EcTransferConfig;
  /** Largest request body accepted, bytes (413 above). @default DEFAULT_MAX_BODY_BYTES */
  maxBodyBytes?: number;
  /** Health answers 503 until this resolves (`--startup-delay`). */
  ready: () => boolean;
  log: (level: "info" | "debug" | "warn", msg: string) => void;
  /** Who may use `/reset_prefix_cache` (foreign origins are always refused). @default loopback only */
  guard?: ControlGuardOptions;
}

/** Default request-body limit: 32 MiB (room for long prompts and a few base64 images). */
export const DEFAULT_MAX_BODY_BYTES = 32 * 2 ** 20;

/** The body as text, refused with 413 above `limit` bytes (by its header, or as it streams in). */
function readBody(req: Request, limit: number): Promise<string> {
  return readBodyText(
    req,
    limit,
    (n) =>
      new ApiError(
        413,
        `Request body too large: ${n ?? `over ${limit}`} bytes; the limit is ${limit} bytes`,
      ),
  );
}

const json = (obj: unknown, status = 200, headers?: HeadersInit) =>
  Response.json(obj, { status, headers });

const ENDPOINTS: Record<string, Endpoint> = {
  "/v1/completions": "completion",
  "/v1/chat/completions": "chat",
};

/** Builds the request handler for `Deno.serve`. */
export function createHandler(o: SimServerOptions): (req: Request) => Promise<Response> {
  const server = new SimServer(o);
  return (req) => server.handle(req);
}

/** The HTTP shell of one engine: routing, control endpoints, and completions. */
class SimServer {
  readonly #rng: Rng;
  readonly #failRng: Rng;
  readonly #created = Math.floor(Date.now() / 1000);
  readonly #inUse = new Set<string>();
  #counter = 0;
  /** The tokenizer's own ids, with pre-tokens cached (a 2,000-token chat prompt: ~15 ms -> <1 ms). */
  readonly #prompts: PromptTokens;
  readonly #guard: ControlGuard;
  readonly #frontend: RequestFrontend;
  readonly #deps: CompletionDeps;

  constructor(readonly o: SimServerOptions) {
    this.#rng = new Rng(o.seed ?? 0);
    this.#failRng = new Rng((o.seed ?? 0) + 1);
    this.#prompts = new PromptTokens(o.tokenizer);
    this.#guard = new ControlGuard(o.guard);
    this.#frontend = new RequestFrontend({ ...o, prompts: this.#prompts });
    this.#deps = { ...o, release: (id) => this.#inUse.delete(id) };
  }

  /** One request: its answer, errors as vLLM's error body. */
  async handle(req: Request): Promise<Response> {
    try {
      const path = new URL(req.url).pathname;
      this.#checkOrigin(req, path);
      return await this.#route(req, path);
    } catch (e) {
      if (e instanceof ApiError) return json(errorBody(e), e.status);
      this.o.log("warn", `internal error: ${e instanceof Error ? e.stack : e}`);
      return json(errorBody(new ApiError(500, String(e), "InternalServerError")), 500);
    }
  }

  /** Writes come from loopback origins only; `/reset_prefix_cache` is POST and a control call. */
  #checkOrigin(req: Request, path: string): void {
    const get = req.method === "GET" || req.method === "HEAD";
    const reset = path === "/reset_prefix_cache";
    if (get && !reset) return;
    const r = reset && req.method !== "POST"
      ? new ApiError(
        405,
        `Method Not Allowed: ${req.method} ${path} (use POST)`,
        "MethodNotAllowed",
      )
      : refusal(reset ? this.#guard.control(req) : this.#guard.origin(req));
    if (r) throw r;
  }

  async #route(req: Request, path: string): Promise<Response> {
    const o = this.o;
    if (req.method === "GET" && path === "/health") {
      return new Response(null, { status: o.ready() ? 200 : 503 });
    }
    if (!o.ready()) throw new ApiError(503, "The server is starting up", "ServiceUnavailableError");
    if (req.method === "GET") {
      if (path === "/v1/models") return json(this.#models());
      if (path === "/metrics") return this.#metrics();
      if (path === "/version" || path === "/ping") return json({ version: "topobench-sim" });
    }
    if (req.method === "POST" && path === "/reset_prefix_cache") return this.#resetPrefixCache();
    if (req.method === "POST" && (path === "/tokenize" || path === "/detokenize")) {
      const body = await this.#readJson(req);
      const deps = { ...o, prompts: this.#prompts };
      return json(path === "/tokenize" ? tokenizeApi(body, deps) : detokenizeApi(body, deps));
    }
    const endpoint = Object.hasOwn(ENDPOINTS, path) ? ENDPOINTS[path] : null;
    if (!endpoint) throw new ApiError(404, `Not Found: ${req.method} ${path}`, "NotFoundError");
    if (req.method !== "POST") throw new ApiError(405, "Method Not Allowed", "MethodNotAllowed");
    return await this.#generate(req, endpoint);
  }

  /** `/v1/models`: the one served model. */
  #models(): Record<string, unknown> {
    const o = this.o;
    return {
      object: "list",
      data: [{
        id: o.servedModelName,
        object: "model",
        created: this.#created,
        owned_by: "vllm",
        root: o.modelPath,
        parent: null,
        max_model_len: o.maxModelLen,
        permission: [],
      }],
    };
  }

  /** `/metrics`: vLLM's Prometheus text. */
  #metrics(): Response {
    const e = this.o.engine;
    const text = e.metrics.render({
      running: e.numRunning,
      waiting: e.numWaiting,
      kvUsage: e.kv.usage(),
      prefixQueries: e.kv.queries,
      prefixHits: e.kv.hits,
    }, this.o.servedModelName);
    return new Response(text, {
      headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" },
    });
  }

  /** `POST /reset_prefix_cache`: 500 while blocks are in use. */
  #resetPrefixCache(): Response {
    const ok = this.o.engine.kv.resetPrefixCache();
    this.o.log(
      "info",
      ok ? "Resetting prefix cache" : "Failed to reset prefix cache: blocks in use",
    );
    return new Response(null, { status: ok ? 200 : 500 });
  }

  /** The request body as JSON: 413 above the limit, 400 when it is not JSON. */
  async #readJson(req: Request): Promise<unknown> {
    const raw = await readBody(req, this.o.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES);
    try {
      return JSON.parse(raw);
    } catch (e) {
      throw new ApiError(400, `JSON decode error: ${(e as Error).message}`);
    }
  }

  /** A completion or chat request: admitted by the frontend, then run on the engine. */
  async #generate(req: Request, endpoint: Endpoint): Promise<Response> {
    const body = await this.#readJson(req);
    const forced = req.headers.get("x-return-error");
    this.#injectFault(forced);
    const admitted = this.#frontend.admit(endpoint, body);
    if (admitted.error) throw admitted.error;
    const { parsed, promptTokens, images } = admitted.request;
    const { id, base, publicId } = this.#reserveId(req, endpoint);
    const kvReq: KvRequest = { id, base, promptTokens, params: parsed.kvTransferParams };
    let remote: CompletionPlan["remote"];
    let imageTokens: number[];
    try {
      remote = await this.o.kv.remote(kvReq);
      imageTokens = await prepareImages(images, this.o.ecTransfer);
    } catch (e) {
      this.#inUse.delete(id);
      throw e;
    }
    // output length: exact with ignore_eos, else drawn and capped (EOS ends it)
    const output = this.#frontend.draw(admitted.request, this.#rng);
    const plan: CompletionPlan = {
      endpoint,
      parsed,
      id,
      publicId,
      base,
      kvReq,
      remote,
      imageTokens,
      images,
      output,
      cut: forced?.trim() === "midstream",
    };
    return await answerCompletion(this.#deps, plan, clientSignal(req));
  }

  /** `X-Return-Error: NNN` answers that status; `--fail-rate` answers 500 to a share. */
  #injectFault(forced: string | null): void {
    if (forced && /^\d{3}$/.test(forced.trim())) {
      const status = Number(forced.trim());
      throw new ApiError(
        status,
        `Injected error ${status} (X-Return-Error)`,
        status >= 500 ? "InternalServerError" : "BadRequestError",
      );
    }
    if ((this.o.failRate ?? 0) > 0 && this.#failRng.next() < this.o.failRate!) {
      throw new ApiError(500, "Injected failure (--fail-rate)", "InternalServerError");
    }
  }

  /** The request's ids (`X-Request-Id`, else random), its engine id made unique and reserved. */
  #reserveId(req: Request, endpoint: Endpoint): { id: string; base: string; publicId: string } {
    const base = req.headers.get("x-request-id") ?? crypto.randomUUID().replaceAll("-", "");
    const publicId = `${endpoint === "chat" ? "chatcmpl" : "cmpl"}-${base}`;
    let id = publicId;
    while (this.#inUse.has(id)) id = `${publicId}-${++this.#counter}`;
    // reserved now: two requests of one X-Request-Id (bench workers) may both be past the awaits
    this.#inUse.add(id);
    return { id, base, publicId };
  }
}

function refusal(r: { status: number; message: string } | null): ApiError | null {
  return r && new ApiError(r.status, r.message, "ForbiddenError");
}
