/**
 * GPT-2's byte-to-unicode table, which byte-level BPE vocabularies (Llama 3's
 * tokenizer.json) spell their tokens in: each byte stands for one printable
 * character (a space is `Ġ`, a newline `Ċ`).
 *
 * @module
 */

/** Byte -> the one character standing for it. */
export const BYTE_CHAR: readonly string[] = (() => {
  const out = new Array<string>(256);
  for (let b = 0; b < 256; b++) {
    if ((b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255)) {
      out[b] = String.fromCharCode(b);
    }
  }
  let n = 0;
  for (let b = 0; b < 256; b++) if (out[b] === undefined) out[b] = String.fromCharCode(256 + n++);
  return out;
})();

/** Character code -> the byte it stands for; -1 for a character that stands for none. */
export const CHAR_BYTE: Int16Array = (() => {
  const out = new Int16Array(65536).fill(-1);
  BYTE_CHAR.forEach((c, b) => out[c.charCodeAt(0)] = b);
  return out;
})();
