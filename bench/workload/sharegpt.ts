/**
 * The `sharegpt` dataset from a local file in the public ShareGPT JSON format
 * (`[{ id, conversations: [{ from: "human"|"gpt", value }] }]`): the first
 * human turn is the prompt, the first answer's token count the output length
 * (unless fixed), filtered as vLLM does (prompt and output >= 4 tokens,
 * prompt <= 1024, prompt + output <= 2048). Seeded sampling.
 *
 * @module
 */
import { Rng } from "../../lib/rng.ts";
import type { Tokenizer } from "../../lib/tokenizer.ts";
import type { Conversation, RequestSpec } from "./types.ts";
import { type EndpointKind, requestId, textSpec } from "./_spec.ts";

/** Options of {@linkcode sharegptDataset}. */
export interface ShareGptOptions {
  path: string;
  count: number;
  seed: number;
  endpoint: EndpointKind;
  /** Fixed output length (else the recorded answer's). */
  outputLen?: number;
  /** @default false (the recorded answers' lengths are used as max_tokens) */
  ignoreEos?: boolean;
}

/** A prompt and its recorded answer. */
interface Pair {
  prompt: string;
  answer: string;
}

/** Reads prompt/answer pairs from ShareGPT JSON text; throws naming the file on a bad shape. */
export function parseShareGpt(text: string, path: string): Pair[] {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new SyntaxError(
      `Cannot read ${path} as ShareGPT JSON: current value is invalid JSON (${
        (e as Error).message
      })`,
    );
  }
  if (!Array.isArray(data)) {
    throw new TypeError(
      `Cannot read ${path} as ShareGPT JSON (an array of conversations): current value is ${typeof data}`,
    );
  }
  const out: Pair[] = [];
  for (const d of data) {
    const conv = (d as { conversations?: { from?: string; value?: string }[] })?.conversations;
    if (!Array.isArray(conv) || conv.length < 2) continue;
    const h = conv[0];
    const g = conv[1];
    if (h?.from !== "human" || typeof h.value !== "string" || typeof g?.value !== "string") {
      continue;
    }
    out.push({ prompt: h.value, answer: g.value });
  }
  return out;
}

/** Builds `count` requests sampled (seeded, with replacement if needed) from the file. */
export async function sharegptDataset(tok: Tokenizer, o: ShareGptOptions): Promise<RequestSpec[]> {
  const pairs = parseShareGpt(await Deno.readTextFile(o.path), o.path);
  const rng = new Rng(`sharegpt:${o.seed}`);
  const order = pairs.map((_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(rng.next() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  const out: RequestSpec[] = [];
  for (let pass = 0; out.length < o.count && pass < 1000; pass++) {
    const before = out.length;
    for (const k of order) {
      if (out.length >= o.count) break;
      const { prompt, answer } = pairs[k];
      const promptLen = tok.encode(prompt).length;
      const outLen = o.outputLen ?? tok.encode(answer).length;
      if (promptLen < 4 || outLen < 4 || promptLen > 1024 || promptLen + outLen > 2048) continue;
      out.push(
        textSpec(tok, o.endpoint, {
          requestId: requestId(out.length),
          maxTokens: outLen,
          ignoreEos: o.ignoreEos ?? false,
        }, prompt),
      );
    }
    if (out.length === before) break;
  }
  if (out.length < o.count) {
    throw new RangeError(
      `Cannot use ${o.path} as a ShareGPT dataset with ${o.count} usable conversations: current value is ${out.length}`,
    );
  }
  return out;
}

/** Options of {@linkcode sharegptConversations}. */
export interface ShareGptTurnsOptions {
  path: string;
  count: number;
  seed: number;
  /** Most turns per conversation (the recorded human turns beyond are dropped). */
  turns: number;
  /** Mean think time between turns, ms (exponential; 0 none). */
  thinkTimeMs: number;
  /** Fixed output length per turn (else each recorded answer's). */
  outputLen?: number;
}

/**
 * Whole ShareGPT conversations, replayed turn by turn: each human message is a
 * turn (up to `turns`), its recorded answer's length the turn's max_tokens;
 * the model's own answers are re-sent as the context of the next turn (the
 * runner appends them), not the recorded ones. Conversations need two turns.
 */
export async function sharegptConversations(
  tok: Tokenizer,
  o: ShareGptTurnsOptions,
): Promise<Conversation[]> {
  let data: unknown;
  try {
    data = JSON.parse(await Deno.readTextFile(o.path));
  } catch (e) {
    throw new SyntaxError(
      `Cannot read ${o.path} as ShareGPT JSON: current value is invalid (${(e as Error).message})`,
    );
  }
  const convs: { user: string; answer: string }[][] = [];
  for (const d of Array.isArray(data) ? data : []) {
    const msgs = (d as { conversations?: { from?: string; value?: string }[] })?.conversations;
    if (!Array.isArray(msgs)) continue;
    const turns: { user: string; answer: string }[] = [];
    for (let i = 0; i + 1 < msgs.length && turns.length < o.turns; i += 2) {
      const h = msgs[i], g = msgs[i + 1];
      if (h?.from !== "human" || typeof h.value !== "string" || typeof g?.value !== "string") break;
      turns.push({ user: h.value, answer: g.value });
    }
    if (turns.length >= 2) convs.push(turns);
  }
  if (convs.length === 0) {
    throw new RangeError(
      `Cannot use ${o.path} as multi-turn ShareGPT: current value has no conversation of 2+ human/gpt turns`,
    );
  }
  const rng = new Rng(`sharegpt-turns:${o.seed}`);
  return Array.from({ length: o.count }, (_, i) => {
    const c = convs[Math.floor(rng.next() * convs.length)];
    return {
      conversationId: `c${String(i).padStart(4, "0")}`,
      turns: c.map((t) => ({
        user: t.user,
        maxTokens: Math.max(1, o.outputLen ?? tok.encode(t.answer).length),
      })),
      thinkTimeMs: c.slice(1).map(() => (o.thinkTimeMs > 0 ? rng.exponential(o.thinkTimeMs) : 0)),
    };
  });
}
