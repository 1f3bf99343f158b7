/**
 * Request bodies and ids of each leg, per connector, as vLLM's disaggregation
 * proxies build them (pure functions).
 *
 * @module
 */
import { type Connector, NIXL_PREFILL_PARAMS } from "../../../lib/contracts.ts";

/** A JSON request body. */
export type Body = Record<string, unknown>;

/**
 * The prefill leg's body: the client body made into a one-token, non-streamed
 * request (`max_tokens=1`, `max_completion_tokens=1` if given, no
 * `stream_options`, no `min_tokens`), plus NIXL's `kv_transfer_params`.
 */
export function prefillBody(connector: Connector, body: Body): Body {
  const out: Body = structuredClone(body);
  out.max_tokens = 1;
  if ("max_completion_tokens" in out) out.max_completion_tokens = 1;
  out.stream = false;
  delete out.stream_options;
  delete out.min_tokens;
  if (connector === "nixl") out.kv_transfer_params = { ...NIXL_PREFILL_PARAMS };
  else delete out.kv_transfer_params;
  return out;
}

/** The decode leg's body: the client body plus the prefill's `kv_transfer_params`, if any. */
export function decodeBody(body: Body, kvTransferParams?: unknown): Body {
  if (
    typeof kvTransferParams !== "object" || kvTransferParams === null ||
    Object.keys(kvTransferParams).length === 0
  ) return body;
  return { ...body, kv_transfer_params: kvTransferParams };
}

/** A random request id: 32 hex digits. */
export function hexId(): string {
  return crypto.randomUUID().replaceAll("-", "");
}

/** P2P-NCCL's request id, which tells both instances where the KV goes. */
export function p2pRequestId(prefillKvAddr: string, decodeKvAddr: string, hex = hexId()): string {
  return `___prefill_addr_${prefillKvAddr}___decode_addr_${decodeKvAddr}_${hex}`;
}

const MM_TYPES = new Set(["image_url", "audio_url", "input_audio"]);

/** Every image/audio part of a chat body's messages, in order (the EPD proxy's encoder work). */
export function mmItems(body: Body): Body[] {
  const items: Body[] = [];
  if (!Array.isArray(body.messages)) return items;
  for (const m of body.messages) {
    const content = (m as Body | null)?.content;
    if (!Array.isArray(content)) continue;
    for (const it of content) {
      if (typeof it === "object" && it !== null && MM_TYPES.has(String((it as Body).type))) {
        items.push(it as Body);
      }
    }
  }
  return items;
}

/** The encoder leg's body for one multimodal part. */
export function encoderBody(model: unknown, item: Body): Body {
  return {
    model,
    messages: [{ role: "user", content: [item] }],
    max_tokens: 1,
    stream: false,
  };
}

/** The session key: `X-Session-Id`, else the body's `conversation_id`. */
export function sessionKey(headers: Headers, body: Body): string | undefined {
  const h = headers.get("x-session-id");
  if (h) return h;
  const c = body.conversation_id;
  return typeof c === "string" && c !== "" || typeof c === "number" ? String(c) : undefined;
}

/**
 * Body fields only the router sets on its legs: NIXL/LMCache
 * `kv_transfer_params` (the decode engine would pull KV from any
 * `remote_host:remote_port`, or free another request's held blocks) and the
 * encoder cache's `ec_transfer_params`.
 */
export const INTERNAL_FIELDS = ["kv_transfer_params", "ec_transfer_params"] as const;

/**
 * Checks a client's request at the router edge: an internal field with a
 * value, or a request id carrying P2P-NCCL's KV addresses
 * (`___prefill_addr_…___decode_addr_…`), is refused (the reason is returned);
 * an internal field that is `null` is dropped from `body` in place.
 */
export function clientInternalFields(body: Body, requestId: string | null): string | null {
  for (const f of INTERNAL_FIELDS) {
    if (!(f in body)) continue;
    if (body[f] !== null) {
      return `${f} is set by the router, not by clients; remove it from the request body`;
    }
    delete body[f];
  }
  if (requestId !== null && /_(prefill|decode)_addr_/.test(requestId)) {
    return `X-Request-Id ${
      JSON.stringify(requestId.slice(0, 200))
    } names KV addresses (_prefill_addr_/_decode_addr_), which only the router sets`;
  }
  return null;
}
