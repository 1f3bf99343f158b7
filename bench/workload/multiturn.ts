/**
 * The `multiturn` dataset: conversations of T turns whose context grows with
 * each answer. Each turn adds a user message of `inputLen` random words and asks
 * for `outputLen` tokens; users think (exponential, seeded mean) between turns.
 * Presets W1–W4 are the PPD suite's (a short first turn, then W-sized turns);
 * W1-uniform..W4-uniform make every turn W-sized. The runner calls
 * {@linkcode turnSpec} with the answers received so far.
 *
 * @module
 */
import { Rng } from "../../lib/rng.ts";
import type { Tokenizer } from "../../lib/tokenizer.ts";
import type { Conversation, Message, RequestSpec } from "./types.ts";
import type { EndpointKind } from "./_spec.ts";
import { randomIds, randomPicks, wordList, wordPieces, wordsText } from "./_words.ts";
import { IDS_TEXT, IdsText, idsTextOf, LazyMessage } from "../../lib/lazy_text.ts";

/** A multiturn preset: tokens per turn, and turn 1's own when it differs. */
export interface MultiturnPreset {
  /** New user tokens of turns 2+ (and of turn 1 unless `firstInputLen`). */
  inputLen: number;
  /** Output tokens of turns 2+ (and of turn 1 unless `firstOutputLen`). */
  outputLen: number;
  /** Turn 1's user tokens. @default inputLen */
  firstInputLen?: number;
  /** Turn 1's output tokens. @default outputLen */
  firstOutputLen?: number;
}

/**
 * Turn 1 of the PPD suite's conversations (../shared/calibration PPD-floor): a
 * short setup of about 20 tokens; its answer is taken to be as short.
 */
export const PPD_FIRST_TURN = { firstInputLen: 20, firstOutputLen: 20 } as const;

/**
 * The presets. `W1`..`W4` are the PPD suite's workloads as published: a ~20-token
 * first turn, then each turn adds the W input and asks for the W output.
 * `W1-uniform`..`W4-uniform` make every turn W-sized (this tool's earlier presets).
 */
export const MULTITURN_PRESETS: Record<string, MultiturnPreset> = {
  W1: { inputLen: 512, outputLen: 256, ...PPD_FIRST_TURN },
  W2: { inputLen: 4096, outputLen: 128, ...PPD_FIRST_TURN },
  W3: { inputLen: 256, outputLen: 1024, ...PPD_FIRST_TURN },
  W4: { inputLen: 8192, outputLen: 64, ...PPD_FIRST_TURN },
  "W1-UNIFORM": { inputLen: 512, outputLen: 256 },
  "W2-UNIFORM": { inputLen: 4096, outputLen: 128 },
  "W3-UNIFORM": { inputLen: 256, outputLen: 1024 },
  "W4-UNIFORM": { inputLen: 8192, outputLen: 64 },
};

/** The preset name of these lengths (`W1`, `W1-uniform`), or undefined. */
export function presetName(o: MultiturnPreset): string | undefined {
  const name = Object.entries(MULTITURN_PRESETS).find(([, p]) =>
    p.inputLen === o.inputLen && p.outputLen === o.outputLen &&
    (p.firstInputLen ?? p.inputLen) === (o.firstInputLen ?? o.inputLen) &&
    (p.firstOutputLen ?? p.outputLen) === (o.firstOutputLen ?? o.outputLen)
  )?.[0];
  return name?.replace("-UNIFORM", "-uniform");
}

/** Options of {@linkcode multiturnDataset}. */
export interface MultiturnOptions {
  /** Number of conversations. */
  count: number;
  seed: number;
  /** Turns per conversation. */
  turns: number;
  /** New user tokens per turn. */
  inputLen: number;
  /** Output tokens per turn. */
  outputLen: number;
  /** Turn 1's user tokens. @default inputLen */
  firstInputLen?: number;
  /** Turn 1's output tokens. @default outputLen */
  firstOutputLen?: number;
  /** Mean think time between turns (exponential); 0 for none. */
  thinkTimeMs: number;
  /** Also keep each user message's token ids (the virtual clock skips tokenizing). @default false */
  tokenIds?: boolean;
}

/**
 * The conversations one after another, drawn as they are taken: a long run
 * keeps only those in flight (building all of them up front held every turn's
 * text and ids for the whole run). The n-th is the same however many are taken.
 */
export function* multiturnStream(
  tok: Tokenizer,
  o: Omit<MultiturnOptions, "count">,
): Generator<Conversation, void, undefined> {
  const wl = wordList(tok);
  const pieces = o.tokenIds ? wordPieces(wl) : undefined;
  const rng = new Rng(`multiturn:${o.seed}`);
  for (let c = 0;; c++) {
    const conversationId = `c${String(c).padStart(5, "0")}`;
    const turns: Conversation["turns"] = new Array(o.turns);
    for (let t = 0; t < o.turns; t++) {
      const first = t === 0;
      const n = first ? o.firstInputLen ?? o.inputLen : o.inputLen;
      const maxTokens = first ? o.firstOutputLen ?? o.outputLen : o.outputLen;
      if (!pieces) {
        turns[t] = { user: wordsText(wl, randomPicks(wl, rng, n, c * 64 + t)), maxTokens };
        continue;
      }
      // with ids asked for, the words' ids are drawn straight (no array of picks) and
      // the text is built only when read (virtual time reads the ids); they are kept in a
      // typed array, outside the garbage-collected heap, for the conversation's lifetime
      turns[t] = new IdsTurn(new IdsText(randomIds(wl, rng, n, c * 64 + t), pieces), maxTokens);
    }
    const thinkTimeMs = new Array<number>(Math.max(0, o.turns - 1));
    for (let t = 0; t < thinkTimeMs.length; t++) {
      thinkTimeMs[t] = o.thinkTimeMs > 0 ? rng.exponential(o.thinkTimeMs) : 0;
    }
    yield { conversationId, turns, thinkTimeMs };
  }
}

/** A turn whose user message is known by its ids: its text is built on each read. */
class IdsTurn {
  readonly [IDS_TEXT]: IdsText;

  constructor(text: IdsText, readonly maxTokens: number) {
    this[IDS_TEXT] = text;
  }

  /** The user message's token ids (a fresh array; readers that only count them use the text's ids). */
  get userTokenIds(): number[] {
    return Array.from(this[IDS_TEXT].ids);
  }

  get user(): string {
    return this[IDS_TEXT].toString();
  }

  toJSON(): Conversation["turns"][number] {
    return { user: this.user, maxTokens: this.maxTokens, userTokenIds: this.userTokenIds };
  }
}

/** Builds `count` conversations; same options, same conversations (the first `count` of the stream). */
export function multiturnDataset(tok: Tokenizer, o: MultiturnOptions): Conversation[] {
  const out: Conversation[] = [];
  if (o.count <= 0) return out;
  for (const c of multiturnStream(tok, o)) {
    out.push(c);
    if (out.length >= o.count) break;
  }
  return out;
}

/**
 * The request for turn `turn` (1-based) given the answers of earlier turns:
 * chat gets the message history, completions the concatenated text.
 * `promptTokens` is exact for turn 1 and an estimate after (the server's usage is authoritative).
 * A user message or answer known by its ids goes in as a message whose text
 * is built only when read ({@linkcode LazyMessage}).
 */
export function turnSpec(
  tok: Tokenizer,
  endpoint: EndpointKind,
  conv: Conversation,
  turn: number,
  answers: readonly { readonly text: string; readonly tokens: number }[],
): RequestSpec {
  const wl = wordList(tok);
  const messages: Message[] = conv.system ? [{ role: "system", content: conv.system }] : [];
  let tokens = 0;
  for (let t = 0; t < turn; t++) {
    const u = conv.turns[t];
    const known = idsTextOf(u);
    if (known) {
      messages.push(new LazyMessage("user", known));
      tokens += known.ids.length;
    } else {
      messages.push({ role: "user", content: u.user });
      tokens += u.userTokenIds?.length ?? (typeof u.user === "string" ? countWords(u.user) : 0);
    }
    if (t < turn - 1) {
      const a = answers[t];
      const said = idsTextOf(a);
      messages.push(
        said ? new LazyMessage("assistant", said) : { role: "assistant", content: a?.text ?? "" },
      );
      tokens += a?.tokens ?? 0;
    }
  }
  const requestId = `${conv.conversationId}-t${turn}`;
  const maxTokens = conv.turns[turn - 1].maxTokens;
  const { conversationId } = conv;
  if (endpoint === "chat") {
    // each message after the first costs its header and end tokens (5 with Llama 3)
    const promptTokens = tokens + wl.chatExtra + 5 * (messages.length - 1);
    return { requestId, conversationId, turn, maxTokens, ignoreEos: true, messages, promptTokens };
  }
  const prompt = messages.map((m) => m.content as string).join("");
  const promptTokens = tokens + wl.completionsExtra;
  return { requestId, conversationId, turn, maxTokens, ignoreEos: true, prompt, promptTokens };
}

function countWords(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) === 32) n++;
  return n;
}
