/**
 * The simulated engine's HTTP API, as `vllm serve` exposes it: OpenAI
 * completions and chat (streamed and not), models, tokenize/detokenize,
 * health, metrics, prefix cache reset, plus fault injection for tests.
 *
 * @module
 */
import { readBodyText } from "../../lib/read_body.ts";
import { sseEventBytes } from "../../lib/sse.ts";
import type { Tokenizer } from "../../lib/tokenizer.ts";
import { PromptTokens } from "../../lib/prompt_tokens.ts";
import { Rng } from "../../lib/rng.ts";
import type { EngineCore, EngineRequest, FinishInfo, FinishReason } from "./engine.ts";
import type { KvConnector, KvRequest } from "./connectors.ts";
import type { ModelProfile } from "./profiles.ts";
import { type OutputVocab, sampleOutput, tokenText } from "./_vocab.ts";
import { imagePlaceholderIds, prepareImages, storeImages } from "./_encoder_cache.ts";
import type { EcTransferConfig } from "../../lib/contracts.ts";
import { imageSize } from "./_image.ts";
import { detokenizeApi, tokenizeApi } from "./_tokenize.ts";
import {
  ApiError,
  chunk,
  type Endpoint,
  errorBody,
  fullResponse,
  type ParsedRequest,
  parseRequest,
  usage,
  usageChunk,
} from "./openai.ts";
import { ControlGuard, type ControlGuardOptions } from "../../lib/control_guard.ts";

/** Everything the HTTP layer needs. */
export interface SimServerOptions {
  /** Name clients must use (`--served-model-name`, else `--model`). */
  servedModelName: string;
  /** The model the profile is for (the `root` in /v1/models). */
  modelPath: string;
  profile: ModelProfile;
  tokenizer: Tokenizer;
  vocab: OutputVocab;
  engine: EngineCore;
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

/** Characters one token can hold at most (a bound, not an estimate), for the early check. */
const MAX_CHARS_PER_TOKEN = 256;

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

/** Characters of prompt text in a request (images not counted). */
function textChars(p: ParsedRequest): number {
  if (p.endpoint === "completion") return typeof p.prompt === "string" ? p.prompt.length : 0;
  let n = 0;
  for (const m of p.messages ?? []) {
    if (typeof m.content === "string") n += m.content.length;
    else if (Array.isArray(m.content)) {
      for (const part of m.content) if (typeof part.text === "string") n += part.text.length;
    }
  }
  return n;
}

const enc = new TextEncoder();
const sse = (obj: unknown) => sseEventBytes(JSON.stringify(obj));
const json = (obj: unknown, status = 200, headers?: HeadersInit) =>
  Response.json(obj, { status, headers });

/** Builds the request handler for `Deno.serve`. */
export function createHandler(o: SimServerOptions): (req: Request) => Promise<Response> {
  const rng = new Rng(o.seed ?? 0);
  const failRng = new Rng((o.seed ?? 0) + 1);
  const created = Math.floor(Date.now() / 1000);
  const inUse = new Set<string>();
  let counter = 0;
  // the tokenizer's own ids, with pre-tokens cached (a 2,000-token chat prompt: ~15 ms -> <1 ms)
  const prompts = new PromptTokens(o.tokenizer);
  const guard = new ControlGuard(o.guard);

  return async (req: Request): Promise<Response> => {
    const url = new URL(req.url);
    const path = url.pathname;
    try {
      const get = req.method === "GET" || req.method === "HEAD";
      if (!get || path === "/reset_prefix_cache") {
        const r = path === "/reset_prefix_cache" && req.method !== "POST"
          ? new ApiError(
            405,
            `Method Not Allowed: ${req.method} ${path} (use POST)`,
            "MethodNotAllowed",
          )
          : refusal(path === "/reset_prefix_cache" ? guard.control(req) : guard.origin(req));
        if (r) throw r;
      }
      if (req.method === "GET" && path === "/health") {
        return new Response(null, { status: o.ready() ? 200 : 503 });
      }
      if (!o.ready()) {
        throw new ApiError(503, "The server is starting up", "ServiceUnavailableError");
      }
      if (req.method === "GET" && path === "/v1/models") {
        return json({
          object: "list",
          data: [{
            id: o.servedModelName,
            object: "model",
            created,
            owned_by: "vllm",
            root: o.modelPath,
            parent: null,
            max_model_len: o.maxModelLen,
            permission: [],
          }],
        });
      }
      if (req.method === "GET" && path === "/metrics") {
        const e = o.engine;
        const text = e.metrics.render({
          running: e.numRunning,
          waiting: e.numWaiting,
          kvUsage: e.kv.usage(),
          prefixQueries: e.kv.queries,
          prefixHits: e.kv.hits,
        }, o.servedModelName);
        return new Response(text, {
          headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" },
        });
      }
      if (req.method === "GET" && (path === "/version" || path === "/ping")) {
        return json({ version: "topobench-sim" });
      }
      if (req.method === "POST" && path === "/reset_prefix_cache") {
        const ok = o.engine.kv.resetPrefixCache();
        o.log(
          "info",
          ok ? "Resetting prefix cache" : "Failed to reset prefix cache: blocks in use",
        );
        return new Response(null, { status: ok ? 200 : 500 });
      }
      if (req.method === "POST" && (path === "/tokenize" || path === "/detokenize")) {
        const body = await readJson(req);
        const deps = { ...o, prompts };
        return json(path === "/tokenize" ? tokenizeApi(body, deps) : detokenizeApi(body, deps));
      }
      const endpoint: Endpoint | null = path === "/v1/completions"
        ? "completion"
        : path === "/v1/chat/completions"
        ? "chat"
        : null;
      if (!endpoint) throw new ApiError(404, `Not Found: ${req.method} ${path}`, "NotFoundError");
      if (req.method !== "POST") throw new ApiError(405, "Method Not Allowed", "MethodNotAllowed");
      return await generate(req, endpoint);
    } catch (e) {
      if (e instanceof ApiError) return json(errorBody(e), e.status);
      o.log("warn", `internal error: ${e instanceof Error ? e.stack : e}`);
      return json(errorBody(new ApiError(500, String(e), "InternalServerError")), 500);
    }
  };

  /** The request body as JSON: 413 above the limit, 400 when it is not JSON. */
  async function readJson(req: Request): Promise<unknown> {
    const raw = await readBody(req, o.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES);
    try {
      return JSON.parse(raw);
    } catch (e) {
      throw new ApiError(400, `JSON decode error: ${(e as Error).message}`);
    }
  }

  async function generate(req: Request, endpoint: Endpoint): Promise<Response> {
    const body = await readJson(req);
    const forced = req.headers.get("x-return-error");
    if (forced && /^\d{3}$/.test(forced.trim())) {
      const status = Number(forced.trim());
      throw new ApiError(
        status,
        `Injected error ${status} (X-Return-Error)`,
        status >= 500 ? "InternalServerError" : "BadRequestError",
      );
    }
    if ((o.failRate ?? 0) > 0 && failRng.next() < o.failRate!) {
      throw new ApiError(500, "Injected failure (--fail-rate)", "InternalServerError");
    }
    const p = parseRequest(endpoint, body);
    if (p.model && p.model !== o.servedModelName) {
      throw new ApiError(404, `The model \`${p.model}\` does not exist.`, "NotFoundError");
    }
    // a prompt too long for the context even at the most characters one token can hold is
    // refused before tokenising (megabytes of text would hold the event loop for seconds)
    const atLeast = Math.ceil(textChars(p) / MAX_CHARS_PER_TOKEN);
    if (atLeast >= o.maxModelLen) {
      throw new ApiError(
        400,
        `This model's maximum context length is ${o.maxModelLen} tokens. However, your request has at least ${atLeast} input tokens. Please reduce the length of the input messages.`,
      );
    }
    const { promptTokens, images } = tokenize(p);
    for (const img of images) promptTokens.push(...imagePlaceholderIds(img, o.tokenizer.vocabSize));
    const promptLen = promptTokens.length;
    if (promptLen >= o.maxModelLen) {
      throw new ApiError(
        400,
        `This model's maximum context length is ${o.maxModelLen} tokens. However, your request has ${promptLen} input tokens. Please reduce the length of the input messages.`,
      );
    }
    if (p.maxTokens !== null && promptLen + p.maxTokens > o.maxModelLen) {
      throw new ApiError(
        400,
        `'max_tokens' or 'max_completion_tokens' is too large: ${p.maxTokens}. This model's maximum context length is ${o.maxModelLen} tokens and your request has ${promptLen} input tokens (${p.maxTokens} > ${o.maxModelLen} - ${promptLen}).`,
      );
    }
    const maxTokens = p.maxTokens ?? o.maxModelLen - promptLen;
    const base = req.headers.get("x-request-id") ?? crypto.randomUUID().replaceAll("-", "");
    const publicId = `${endpoint === "chat" ? "chatcmpl" : "cmpl"}-${base}`;
    let id = publicId;
    while (inUse.has(id)) id = `${publicId}-${++counter}`;
    // reserved now: two requests of one X-Request-Id (bench workers) may both be past the awaits
    inUse.add(id);
    const kvReq: KvRequest = { id, base, promptTokens, params: p.kvTransferParams };
    let remote: Awaited<ReturnType<typeof o.kv.remote>>;
    let imageTokens: Awaited<ReturnType<typeof prepareImages>>;
    try {
      remote = await o.kv.remote(kvReq);
      imageTokens = await prepareImages(images, o.ecTransfer);
    } catch (e) {
      inUse.delete(id);
      throw e;
    }

    // Output length: exact with ignore_eos, else drawn and capped (EOS ends it).
    let n = maxTokens;
    let reason: "stop" | "length" = "length";
    if (!p.ignoreEos) {
      const drawn = Math.max(1, p.minTokens, Math.ceil(rng.exponential(o.meanOutputTokens ?? 256)));
      if (drawn < maxTokens) {
        n = drawn;
        reason = "stop";
      }
    }
    const outputIds = sampleOutput(o.vocab, rng, n, reason === "stop");

    const tokensOut: number[] = [];
    let stored: Promise<void> = Promise.resolve();
    let finish: ((r: FinishReason, info: FinishInfo) => void) | null = null;
    let onToken: ((id: number, i: number) => void) | null = null;
    const ereq: EngineRequest = {
      id,
      promptTokens,
      outputIds,
      finishReason: reason,
      imageTokens,
      remotePrefill: remote,
      holdForRemoteDecode: o.kv.holds(kvReq),
      sink: {
        onToken: (tid, i) => {
          tokensOut.push(tid);
          onToken?.(tid, i);
        },
        onFinish: (r, info) => {
          inUse.delete(id);
          o.log(
            "debug",
            `Finished request ${id}: prompt_tokens=${info.promptTokens} output_tokens=${info.outputTokens} cached_tokens=${info.cachedTokens} finish_reason=${r}`,
          );
          if (r !== "abort" && images.length) {
            storeImages(images, o.ecTransfer).catch((e) => o.log("warn", `EC store failed: ${e}`));
          }
          if (r !== "abort") stored = o.kv.finished(kvReq, info);
          finish?.(r, info);
        },
      },
    };
    const headers = { "x-request-id": base };
    const model = o.servedModelName;
    const ts = Math.floor(Date.now() / 1000);
    const cut = forced?.trim() === "midstream";

    if (!p.stream) {
      const done = new Promise<[FinishReason, FinishInfo]>((
        resolve,
      ) => (finish = (r, i) => resolve([r, i])));
      const onAbort = () => o.engine.abort(id);
      req.signal.addEventListener("abort", onAbort);
      inUse.add(id);
      o.engine.add(ereq);
      const [r, info] = await done;
      req.signal.removeEventListener("abort", onAbort);
      if (r === "abort") throw new ApiError(499, "Request aborted", "ClientClosedRequest");
      await stored;
      const text = tokensOut.map((t) => tokenText(o.vocab, t)).join("");
      const kvOut = o.kv.responseParams(kvReq, info);
      return json(
        fullResponse(
          endpoint,
          publicId,
          ts,
          model,
          text,
          r,
          usage(info.promptTokens, info.outputTokens, info.cachedTokens),
          kvOut,
        ),
        200,
        headers,
      );
    }

    const stream = new ReadableStream<Uint8Array>({
      start(ctrl) {
        let sentRole = false;
        onToken = (tid, i) => {
          try {
            if (endpoint === "chat" && !sentRole) {
              sentRole = true;
              ctrl.enqueue(sse(chunk(endpoint, publicId, ts, model, null, null)));
            }
            const last = i === outputIds.length - 1;
            const u = p.continuousUsage ? usage(promptLen, i + 1, 0) : undefined;
            ctrl.enqueue(
              sse(
                chunk(
                  endpoint,
                  publicId,
                  ts,
                  model,
                  tokenText(o.vocab, tid),
                  last ? reason : null,
                  u,
                ),
              ),
            );
            if (cut && i === Math.min(2, outputIds.length - 1)) {
              o.engine.abort(id);
              failWhenTaken(ctrl, new Error("injected mid-stream failure"));
            }
          } catch { /* client gone; cancel() aborts */ }
        };
        finish = (r, info) => {
          if (r === "abort") return;
          try {
            if (p.includeUsage) {
              ctrl.enqueue(
                sse(
                  usageChunk(
                    endpoint,
                    publicId,
                    ts,
                    model,
                    usage(info.promptTokens, info.outputTokens, info.cachedTokens),
                  ),
                ),
              );
            }
          } catch { /* already closed */ }
          stored.then(() => {
            try {
              ctrl.enqueue(enc.encode("data: [DONE]\n\n"));
              ctrl.close();
            } catch { /* already closed */ }
          });
        };
        inUse.add(id);
        o.engine.add(ereq);
      },
      cancel() {
        o.engine.abort(id);
      },
    });
    return new Response(stream, {
      headers: {
        ...headers,
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-cache",
      },
    });
  }

  function tokenize(
    p: ParsedRequest,
  ): { promptTokens: number[]; images: { url: string; tokens: number }[] } {
    if (p.endpoint === "completion") {
      const ids = typeof p.prompt === "string" ? prompts.completion(p.prompt) : p.prompt!;
      return { promptTokens: ids, images: [] };
    }
    const images: { url: string; tokens: number }[] = [];
    for (const m of p.messages!) {
      if (!Array.isArray(m.content)) continue;
      for (const part of m.content) {
        if (part.type !== "image_url") continue;
        if (!o.profile.vision) {
          throw new ApiError(
            400,
            `${o.servedModelName} does not support image input (image_url parts).`,
          );
        }
        const url = part.image_url?.url;
        if (typeof url !== "string") throw new ApiError(400, "image_url.url must be a string");
        images.push({ url, tokens: o.profile.vision.tokensPerImage(...imageDims(url)) });
      }
    }
    const messages = p.messages!.map((m) => ({ ...m, content: m.content ?? "" }));
    return {
      promptTokens: images.length ? o.tokenizer.encodeChat(messages) : prompts.chat(messages),
      images,
    };
  }
}

function refusal(r: { status: number; message: string } | null): ApiError | null {
  return r && new ApiError(r.status, r.message, "ForbiddenError");
}

function imageDims(url: string): [number, number] {
  const s = imageSize(url);
  return s ? [s.width, s.height] : [512, 512];
}

/**
 * Errors a stream once its reader has taken every chunk queued so far (an
 * error drops queued chunks), or after about a second.
 */
function failWhenTaken(ctrl: ReadableStreamDefaultController<Uint8Array>, e: Error, tries = 0) {
  if ((ctrl.desiredSize ?? 1) < 1 && tries < 1000) {
    setTimeout(() => failWhenTaken(ctrl, e, tries + 1), 1);
    return;
  }
  try {
    ctrl.error(e);
  } catch { /* cancelled by the client */ }
}
