/**
 * The encoder legs of an epd request in virtual time, as the live router
 * sends them (`launch/router/http/_generate.ts`), and the vision tokens an
 * instance still has to encode itself (what the encoder cache does not hold).
 * SIMULATED, virtual clock.
 *
 * @module
 */
import type { EventLoop } from "../../lib/event_loop.ts";
import type { PromptTokens } from "../../lib/prompt_tokens.ts";
import type { ChatMessage } from "../../lib/tokenizer.ts";
import type { EngineRequest } from "../../launch/sim/core/engine.ts";
import type { MemoryEcStore } from "../../launch/sim/core/ec_cache.ts";
import type { PromptImage } from "../../launch/sim/core/image.ts";
import { encoderBody, mmItems } from "../../launch/router/core/legs.ts";
import type { VirtualInstance } from "./virtual_instance.ts";
import type { Admitted, VirtualResponse } from "./_virtual_request.ts";

/** What the encoder legs use of their topology. */
export interface EncodeHost {
  loop: EventLoop;
  /** Router hop per leg, simulated ms. */
  routerHopMs: number;
  /** The encoder cache the instances share. */
  ec: MemoryEcStore;
  /** Prompt token ids of the encoder bodies (a topology built with inputs). */
  prompts: PromptTokens | undefined;
  /** An encoder instance in rotation, picked by the router; undefined when none is left. */
  pick(): VirtualInstance | undefined;
  /** Answers 503: no encoder to route to. */
  unavailable(res: VirtualResponse): void;
  /** Sends `er` to `to` after the router hop. */
  leg(to: VirtualInstance, er: EngineRequest): void;
}

/** Vision tokens of `images` that `to` encodes itself (none cached there); none without images. */
export function imageTokens(
  ec: MemoryEcStore,
  images: readonly PromptImage[],
  to: VirtualInstance,
): number[] | undefined {
  return images.length ? ec.toEncode(images, to.ec) : undefined;
}

/**
 * EPD: each image part of a chat body to an encoder instance, all at once
 * (the live router's `#encode`: each picked as it is sent), then `next` once
 * every one has finished; another kind, or a body without images, goes on at
 * once. An encoder's refusal (vLLM's error) or abort answers the request.
 */
export function encodeLegs(
  h: EncodeHost,
  job: Admitted,
  body: Record<string, unknown>,
  res: VirtualResponse,
  next: () => void,
): void {
  const items = mmItems(body);
  if (items.length === 0) return next();
  let left = items.length; // legs to finish; < 0 once the request is answered
  const fail = (error: string, status: number, backend: string) => {
    left = -1;
    res.onFinish({ error, status, backend, outputIds: [] });
  };
  for (let i = 0; i < items.length; i++) {
    const enc = h.pick();
    if (!enc) {
      left = -1;
      return h.unavailable(res);
    }
    const eb = encoderBody(body.model, items[i]);
    const a = enc.frontend!.admit("chat", eb, h.prompts!.chat(eb.messages as ChatMessage[]));
    if (a.error) {
      const { status, message } = a.error;
      left = -1;
      h.loop.after(
        h.routerHopMs,
        () => fail(`HTTP ${status}: ${message}`, status, enc.name),
      );
      return;
    }
    const images = a.request.images;
    h.leg(enc, {
      id: `${job.id}:${i}`,
      promptTokens: a.request.promptTokens,
      outputIds: job.outputIds.slice(0, 1),
      finishReason: "length",
      imageTokens: imageTokens(h.ec, images, enc),
      sink: {
        onFinish: (r) => {
          enc.inFlight--;
          if (r !== "abort") h.ec.store(images, enc.ec);
          if (left < 0) return;
          if (r === "abort") fail("encode aborted", 502, enc.name);
          else if (--left === 0) next();
        },
      },
    });
  }
}
