/**
 * The bytes of an {@linkcode IdsText} as the inside of a JSON string (UTF-8,
 * escaped as `JSON.stringify` escapes it), written straight into a buffer
 * without building the text: what a load generator sends as a prompt
 * thousands of times a second (building the text, then `JSON.stringify` and
 * `TextEncoder` of it, cost a sixth of its CPU and most of its garbage).
 *
 * @example
 * ```ts
 * import { IdsText } from "./lazy_text.ts";
 * const t = new IdsText([1, 2], ["", ' "a', " b"]);
 * const n = jsonTextByteLength(t); // 8: \" is two bytes
 * const out = new Uint8Array(n);
 * writeJsonText(t, out, 0); // the bytes of ` \"a b`
 * ```
 *
 * @module
 */
import type { IdsText } from "./lazy_text.ts";

/** Each piece's escaped bytes, flat: piece `id` is `bytes[start[id], start[id + 1])`. */
interface PieceBytes {
  bytes: Uint8Array;
  start: Int32Array;
}

/** By pieces table; null where a piece is not well-formed UTF-16 (a lone surrogate). */
const tables = new WeakMap<readonly (string | undefined)[], PieceBytes | null>();
const utf8 = new TextEncoder();

/**
 * The escaped bytes of each piece, or null when some piece holds a lone
 * surrogate (escaped alone, it would not be the escape of the joined text).
 */
function tableOf(pieces: readonly (string | undefined)[]): PieceBytes | null {
  let t = tables.get(pieces);
  if (t !== undefined) return t;
  const parts: Uint8Array[] = new Array(pieces.length);
  const start = new Int32Array(pieces.length + 1);
  let n = 0;
  t = { bytes: new Uint8Array(0), start };
  for (let id = 0; id < pieces.length; id++) {
    const p = pieces[id] ?? "";
    start[id] = n;
    if (!p) continue;
    if (!p.isWellFormed()) {
      t = null;
      break;
    }
    parts[id] = utf8.encode(JSON.stringify(p).slice(1, -1));
    n += parts[id].length;
  }
  if (t) {
    start[pieces.length] = n;
    t.bytes = new Uint8Array(n);
    for (let id = 0; id < pieces.length; id++) if (parts[id]) t.bytes.set(parts[id], start[id]);
  }
  tables.set(pieces, t);
  return t;
}

/**
 * Bytes {@linkcode writeJsonText} writes for `t`, or -1 when it cannot (a piece
 * with a lone surrogate, or an id with no entry in the table): then encode
 * `JSON.stringify(String(t))` instead.
 */
export function jsonTextByteLength(t: IdsText): number {
  const table = tableOf(t.pieces);
  if (!table) return -1;
  const { start } = table;
  const ids = t.ids;
  const top = t.pieces.length;
  let n = 0;
  for (let k = 0; k < ids.length; k++) {
    const id = ids[k];
    if (!(id >= 0 && id < top)) return -1;
    n += start[id + 1] - start[id];
  }
  return n;
}

/**
 * Writes `t` as the inside of a JSON string into `out` from `at` on (the
 * room {@linkcode jsonTextByteLength} said, which must not be -1); returns the
 * index after it.
 */
export function writeJsonText(t: IdsText, out: Uint8Array, at: number): number {
  const { bytes, start } = tableOf(t.pieces)!;
  const ids = t.ids;
  for (let k = 0; k < ids.length; k++) {
    const id = ids[k];
    // a word is a few bytes: a loop beats a subarray and a copy call
    for (let i = start[id], end = start[id + 1]; i < end; i++) out[at++] = bytes[i];
  }
  return at;
}
