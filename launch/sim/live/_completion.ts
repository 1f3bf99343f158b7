/**
 * One admitted completion in the HTTP shell: the engine request with its sink,
 * then the answer, whole (JSON) or streamed (SSE chunks as vLLM writes them,
 * the usage chunk, `[DONE]`), including the injected mid-stream failure.
 *
 * @module
 */
import { sseEventBytes } from "../../../lib/sse.ts";
import { rawResponse } from "../../../lib/http_server.ts";
import type { EngineCore, EngineRequest, FinishInfo, FinishReason } from "../core/engine.ts";
import type { KvConnector, KvRequest } from "./connectors.ts";
import { type OutputVocab, tokenText } from "../core/vocab.ts";
import { storeImages } from "./encoder_cache.ts";
import type { PromptImage } from "../core/image.ts";
import type { EcTransferConfig } from "../../../lib/contracts.ts";
import {
  ApiError,
  chunk,
  type Endpoint,
  fullResponse,
  type ParsedRequest,
  usage,
  usageChunk,
} from "../core/openai.ts";
import type { OutputPlan } from "../core/frontend.ts";
import { TokenChunks } from "./_sse_chunks.ts";
import { JoinedStream } from "./_joined_stream.ts";

/** What a completion needs of the server. */
export interface CompletionDeps {
  servedModelName: string;
  vocab: OutputVocab;
  engine: Pick<EngineCore, "add" | "abort">;
  kv: KvConnector;
  ecTransfer?: EcTransferConfig;
  log: (level: "info" | "debug" | "warn", msg: string) => void;
  /** Frees the engine id when the request finishes. */
  release: (id: string) => void;
}

/** One request, admitted, with its ids, KV sources and drawn output. */
export interface CompletionPlan {
  endpoint: Endpoint;
  parsed: ParsedRequest;
  /** The engine's id (unique among requests in flight). */
  id: string;
  /** The id in the answer (`cmpl-…`, `chatcmpl-…`). */
  publicId: string;
  /** `X-Request-Id` of the answer. */
  base: string;
  kvReq: KvRequest;
  remote: EngineRequest["remotePrefill"];
  imageTokens: number[];
  images: PromptImage[];
  output: OutputPlan;
  /** `X-Return-Error: midstream`: the stream fails after its third token. */
  cut: boolean;
}

const DONE = new TextEncoder().encode("data: [DONE]\n\n");
const sse = (obj: unknown) => sseEventBytes(JSON.stringify(obj));

/** Runs `c` on the engine and answers it (whole, or as a stream when the body asked). */
export function answerCompletion(
  d: CompletionDeps,
  c: CompletionPlan,
  signal: AbortSignal,
): Promise<Response> | Response {
  const run = new Completion(d, c);
  return c.parsed.stream ? run.stream() : run.whole(signal);
}

/** The engine request and the answer of one completion. */
class Completion {
  readonly #tokensOut: number[] = [];
  #stored: Promise<void> = Promise.resolve();
  #finish: ((r: FinishReason, info: FinishInfo) => void) | null = null;
  #onToken: ((id: number, i: number) => void) | null = null;
  readonly #ereq: EngineRequest;
  readonly #ts: number;
  /** Token chunks from byte templates (streams without continuous usage). */
  #chunks: TokenChunks | null = null;

  constructor(readonly d: CompletionDeps, readonly c: CompletionPlan) {
    this.#ereq = this.#engineRequest();
    this.#ts = Math.floor(Date.now() / 1000);
  }

  #engineRequest(): EngineRequest {
    const { d, c } = this;
    return {
      id: c.id,
      promptTokens: c.kvReq.promptTokens,
      outputIds: c.output.outputIds,
      finishReason: c.output.finishReason,
      imageTokens: c.imageTokens,
      remotePrefill: c.remote,
      holdForRemoteDecode: d.kv.holds(c.kvReq),
      sink: {
        onToken: (tid, i) => {
          this.#tokensOut.push(tid);
          this.#onToken?.(tid, i);
        },
        onFinish: (r, info) => this.#finished(r, info),
      },
    };
  }

  #finished(r: FinishReason, info: FinishInfo): void {
    const { d, c } = this;
    d.release(c.id);
    d.log(
      "debug",
      `Finished request ${c.id}: prompt_tokens=${info.promptTokens} output_tokens=${info.outputTokens} cached_tokens=${info.cachedTokens} finish_reason=${r}`,
    );
    if (r !== "abort" && c.images.length) {
      storeImages(c.images, d.ecTransfer).catch((e) => d.log("warn", `EC store failed: ${e}`));
    }
    if (r !== "abort") this.#stored = d.kv.finished(c.kvReq, info);
    this.#finish?.(r, info);
  }

  /** The whole answer as one JSON body, once the engine is done (499 when the client left). */
  async whole(signal: AbortSignal): Promise<Response> {
    const { d, c } = this;
    const done = new Promise<[FinishReason, FinishInfo]>((
      resolve,
    ) => (this.#finish = (r, i) => resolve([r, i])));
    const onAbort = () => d.engine.abort(c.id);
    signal.addEventListener("abort", onAbort);
    d.engine.add(this.#ereq);
    const [r, info] = await done;
    signal.removeEventListener("abort", onAbort);
    if (r === "abort") throw new ApiError(499, "Request aborted", "ClientClosedRequest");
    await this.#stored;
    const text = this.#tokensOut.map((t) => tokenText(d.vocab, t)).join("");
    const kvOut = d.kv.responseParams(c.kvReq, info);
    const u = usage(info.promptTokens, info.outputTokens, info.cachedTokens);
    const body = fullResponse(
      c.endpoint,
      c.publicId,
      this.#ts,
      d.servedModelName,
      text,
      r,
      u,
      kvOut,
    );
    return Response.json(body, { status: 200, headers: { "x-request-id": c.base } });
  }

  /**
   * The answer as SSE: a chunk per token (chat: a role chunk first), usage,
   * `[DONE]`; the chunks a busy reader has not taken yet go out joined.
   */
  stream(): Response {
    const { d, c } = this;
    if (!c.parsed.continuousUsage) {
      this.#chunks = new TokenChunks(c.endpoint, c.publicId, this.#ts, d.servedModelName, d.vocab);
    }
    const out = new JoinedStream(() => d.engine.abort(c.id));
    let sentRole = false;
    this.#onToken = (tid, i) => {
      if (c.endpoint === "chat" && !sentRole) {
        sentRole = true;
        out.write(sse(this.#chunk(null, null)));
      }
      this.#tokenChunk(out, tid, i);
    };
    this.#finish = (r, info) => this.#streamEnd(out, r, info);
    d.engine.add(this.#ereq);
    // the head from a list (no Headers iteration when the server writes it: ~20 KB of garbage)
    return rawResponse(out.body, 200, [
      ["x-request-id", c.base],
      ["content-type", "text/event-stream; charset=utf-8"],
      ["cache-control", "no-cache"],
    ]);
  }

  #chunk(text: string | null, finishReason: string | null, u?: Record<string, unknown>) {
    return chunk(
      this.c.endpoint,
      this.c.publicId,
      this.#ts,
      this.d.servedModelName,
      text,
      finishReason,
      u,
    );
  }

  /**
   * One token's chunk (continuous usage when asked), then the injected failure
   * after the third.
   */
  #tokenChunk(out: JoinedStream, tid: number, i: number): void {
    const { d, c } = this;
    const ids = c.output.outputIds;
    const reason = i === ids.length - 1 ? c.output.finishReason : null;
    if (this.#chunks) {
      const [head, text, tail] = this.#chunks.parts(tid, reason);
      out.write(head, text, tail); // the tail only on the last token
    } else {
      const u = usage(c.kvReq.promptTokens.length, i + 1, 0);
      out.write(sse(this.#chunk(tokenText(d.vocab, tid), reason, u)));
    }
    if (c.cut && i === Math.min(2, ids.length - 1)) {
      d.engine.abort(c.id);
      out.fail(new Error("injected mid-stream failure"));
    }
  }

  /** After the last token: the usage chunk when asked, then `[DONE]` once KV is stored. */
  #streamEnd(out: JoinedStream, r: FinishReason, info: FinishInfo) {
    if (r === "abort") return;
    if (this.c.parsed.includeUsage) {
      const u = usage(info.promptTokens, info.outputTokens, info.cachedTokens);
      out.write(
        sse(usageChunk(this.c.endpoint, this.c.publicId, this.#ts, this.d.servedModelName, u)),
      );
    }
    this.#stored.then(() => {
      out.write(DONE);
      out.close();
    });
  }
}
