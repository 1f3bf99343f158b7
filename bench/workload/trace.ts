/**
 * Trace replay: a fixed schedule of requests with their lengths, as the
 * Mooncake trace (FAST'25) writes it, one JSON object per line:
 * `{"timestamp": ms, "input_length", "output_length", "hash_ids": [...]}`
 * (optionally `session_id`), or the same columns in a CSV. Prompts are
 * synthesised from single-token words so that equal `hash_ids` give
 * byte-identical blocks of {@linkcode TRACE_BLOCK_TOKENS} tokens: the prefix
 * cache sees exactly the trace's sharing. A request without `hash_ids` gets a
 * unique prompt.
 *
 * @module
 */
import { Rng } from "../../lib/rng.ts";
import { minOf } from "../../lib/stats.ts";
import type { Tokenizer } from "../../lib/tokenizer.ts";
import type { RequestSpec } from "./types.ts";
import { type EndpointKind, idsPromptSpec, requestId, type SpecBase, textSpec } from "./_spec.ts";
import {
  drawIdsAt,
  randomIds,
  randomPicks,
  type WordList,
  wordList,
  wordPieces,
  wordsIds,
  wordsText,
} from "./_words.ts";
import { freshIds } from "../../lib/id_slabs.ts";

/** Tokens per hash id, as in the Mooncake trace. */
export const TRACE_BLOCK_TOKENS = 512;

/** One request of a trace. */
export interface TraceRecord {
  /** When it is due, ms after the trace's first request. */
  timestampMs: number;
  inputLen: number;
  outputLen: number;
  hashIds: number[];
  sessionId?: string;
}

const int = (v: unknown) => typeof v === "number" && Number.isInteger(v) && v >= 0;

/** Parses a trace (JSONL, or CSV when `file` ends in .csv); throws naming the file, line and field. */
export function parseTrace(text: string, file: string): TraceRecord[] {
  const out: TraceRecord[] = [];
  const lines = text.split("\n");
  const csv = file.endsWith(".csv");
  const cols = csv ? lines[0].split(",").map((c) => c.trim()) : [];
  lines.forEach((line, i) => {
    if (!line.trim() || (csv && i === 0)) return;
    const where = `${file}:${i + 1}`;
    let o: Record<string, unknown>;
    if (csv) {
      const cells = line.split(",").map((c) => c.trim());
      o = Object.fromEntries(
        cols.map((c, k) => [c, c === "session_id" ? cells[k] : Number(cells[k])]),
      );
    } else {
      try {
        o = JSON.parse(line);
      } catch (e) {
        throw new SyntaxError(
          `Cannot read ${where} as a trace record: current value is invalid JSON (${
            (e as Error).message
          })`,
        );
      }
    }
    for (const k of ["timestamp", "input_length", "output_length"]) {
      if (!int(o[k]) || (k !== "timestamp" && (o[k] as number) < 1)) {
        throw new TypeError(
          `Cannot use ${k} in ${where} as a whole number${
            k === "timestamp" ? " of ms >= 0" : " >= 1"
          }: current value is ${JSON.stringify(o[k])}`,
        );
      }
    }
    const h = o.hash_ids ?? [];
    if (!Array.isArray(h) || !h.every(int)) {
      throw new TypeError(
        `Cannot use hash_ids in ${where} as a list of block ids: current value is ${
          JSON.stringify(h)
        }`,
      );
    }
    out.push({
      timestampMs: o.timestamp as number,
      inputLen: o.input_length as number,
      outputLen: o.output_length as number,
      hashIds: h as number[],
      ...(o.session_id !== undefined && o.session_id !== ""
        ? { sessionId: String(o.session_id) }
        : {}),
    });
  });
  if (out.length === 0) {
    throw new RangeError(`Cannot use ${file} as a trace: current value has no records`);
  }
  const t0 = minOf(out.map((r) => r.timestampMs));
  for (const r of out) r.timestampMs -= t0;
  // in due order, stably (as Array.prototype.sort is): records due at the same time keep the
  // file's order (a session's turns stay in order); a trace in order (most are) is not sorted
  let inOrder = true;
  for (let i = 1; i < out.length && inOrder; i++) {
    inOrder = out[i - 1].timestampMs <= out[i].timestampMs;
  }
  return inOrder ? out : out.sort((a, b) => a.timestampMs - b.timestampMs);
}

/** Options of {@linkcode traceRequests}. */
export interface TraceOptions {
  endpoint: EndpointKind;
  seed: number;
  ignoreEos: boolean;
  /** Divide the trace's times by this (AIPerf's and Dynamo's speed-up). @default 1 */
  speedup?: number;
  /** Also keep each prompt's token ids (the virtual clock skips tokenizing). @default false */
  tokenIds?: boolean;
}

/**
 * The requests of a trace with their due offsets (ms): equal hash ids give the
 * same 512 words (the block's own draw), the last block cut to the input length.
 */
export function traceRequests(
  tok: Tokenizer,
  records: readonly TraceRecord[],
  o: TraceOptions,
): { requests: RequestSpec[]; offsetsMs: number[] } {
  const wl = wordList(tok);
  const speed = o.speedup ?? 1;
  const request = o.tokenIds && o.endpoint === "completions"
    ? idsRequests(tok, wl, o)
    : textRequests(tok, wl, o);
  const requests: RequestSpec[] = [];
  const offsetsMs: number[] = [];
  records.forEach((r, i) => {
    const conv = r.sessionId !== undefined ? { conversationId: r.sessionId } : {};
    const base = {
      requestId: requestId(i),
      maxTokens: r.outputLen,
      ignoreEos: o.ignoreEos,
      ...conv,
    };
    requests.push(request(r, i, base));
    offsetsMs.push(r.timestampMs / speed);
  });
  return { requests, offsetsMs };
}

/** What every request of a trace is built from: its record, index and spec base. */
type TraceRequest = (r: TraceRecord, i: number, base: SpecBase) => RequestSpec;

/** Trace requests with text prompts (the words of their blocks, then their own). */
function textRequests(tok: Tokenizer, wl: WordList, o: TraceOptions): TraceRequest {
  const blocks = new Map<number, number[]>();
  const block = (h: number) => {
    let b = blocks.get(h);
    if (!b) {
      blocks.set(h, b = randomPicks(wl, new Rng(`trace-block:${o.seed}:${h}`), TRACE_BLOCK_TOKENS));
    }
    return b;
  };
  return (r, i, base) => {
    // the blocks' words cut to the input length, copied into one array (no spread per block)
    const picks: number[] = [];
    let k = 0;
    for (const h of r.hashIds) {
      if (k >= r.inputLen) break;
      const b = block(h), m = Math.min(b.length, r.inputLen - k);
      for (let j = 0; j < m; j++) picks[k++] = b[j];
    }
    picks.length = k;
    if (k < r.inputLen) {
      // beyond its blocks (or no hash ids): words of its own, led by a unique id
      randomPicks(wl, new Rng(`trace-tail:${o.seed}:${i}`), r.inputLen - k, i, picks);
    }
    const spec = textSpec(tok, o.endpoint, base, wordsText(wl, picks), {
      tokens: r.inputLen,
      ...wl,
    });
    if (o.tokenIds) spec.promptTokenIds = wordsIds(wl, picks);
    return spec;
  };
}

/**
 * Trace requests of the completions endpoint whose prompts are token ids (the
 * virtual clock): the ids as the server counts them (BOS first), the words of
 * {@linkcode textRequests} drawn straight into a slab view (`lib/id_slabs.ts`),
 * the text built only if read.
 */
function idsRequests(tok: Tokenizer, wl: WordList, o: TraceOptions): TraceRequest {
  const pieces = wordPieces(wl);
  const blocks = new Map<number, Uint32Array>();
  const block = (h: number) => {
    let b = blocks.get(h);
    if (!b) {
      blocks.set(h, b = randomIds(wl, new Rng(`trace-block:${o.seed}:${h}`), TRACE_BLOCK_TOKENS));
    }
    return b;
  };
  const bos = tok.bosTokenId, lead = bos === undefined ? 0 : 1;
  return (r, i, base) => {
    const ids = freshIds(lead + r.inputLen);
    if (bos !== undefined) ids[0] = bos;
    let k = 0;
    for (const h of r.hashIds) {
      if (k >= r.inputLen) break;
      const b = block(h), m = Math.min(b.length, r.inputLen - k);
      ids.set(m === b.length ? b : b.subarray(0, m), lead + k);
      k += m;
    }
    if (k < r.inputLen) {
      drawIdsAt(wl, new Rng(`trace-tail:${o.seed}:${i}`), r.inputLen - k, i, ids, lead + k);
    }
    return idsPromptSpec(base, ids, lead, r.inputLen + wl.completionsExtra, pieces);
  };
}
