/**
 * Llama 3's pre-tokenizer regex, hand-run on ASCII-only text (the common
 * prompt): the same pieces as the regex (a test compares both on random ASCII),
 * at a fraction of its cost. Text with any other character goes to the regex.
 *
 * The regex's alternatives, tried in order at each position:
 * 1. `'` + s|t|re|ve|m|ll|d (any case); 2. one char that is not CR, LF, a letter
 * or a digit (optional), then letters; 3. one to three digits; 4. an optional
 * space, "other" characters (not space, letter, digit), then CR/LF; 5. spaces
 * up to the last CR/LF among them; 6. spaces not followed by a non-space (all
 * of them at the end, else all but the last); 7. spaces.
 *
 * @module
 */

// character classes of ASCII codes: space (\s), letter, digit, other
const WS = 1, LETTER = 2, DIGIT = 3, OTHER = 4;
const CLASS: Uint8Array = (() => {
  const c = new Uint8Array(128).fill(OTHER);
  for (const x of [9, 10, 11, 12, 13, 32]) c[x] = WS;
  for (let x = 65; x <= 90; x++) c[x] = c[x + 32] = LETTER;
  for (let x = 48; x <= 57; x++) c[x] = DIGIT;
  return c;
})();

/** Whether `s` is all ASCII (the hand-run split applies). */
export function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) >= 128) return false;
  return true;
}

const lower = (c: number) => c | 32;

/** Length of a contraction (`'s`, `'ll`, …) at `i` (a `'`), or 0. */
function contraction(s: string, i: number): number {
  const a = lower(s.charCodeAt(i + 1)), b = lower(s.charCodeAt(i + 2));
  if (a === 115 || a === 116 || a === 109 || a === 100) return 2; // s t m d
  if ((a === 114 || a === 118) && b === 101) return 3; // re ve
  if (a === 108 && b === 108) return 3; // ll
  return 0;
}

const cls = (s: string, i: number) => i < s.length ? CLASS[s.charCodeAt(i)] : 0;

/** End of the run of class `k` from `i`. */
function run(s: string, i: number, k: number): number {
  while (cls(s, i) === k) i++;
  return i;
}

/** End of the whitespace piece at `i` (alternatives 5 to 7). */
function spaces(s: string, i: number): number {
  const end = run(s, i, WS);
  for (let j = end - 1; j >= i; j--) {
    const c = s.charCodeAt(j);
    if (c === 10 || c === 13) return j + 1; // 5: up to the last CR/LF
  }
  if (end === s.length || end - i === 1) return end; // 6 at the end, else 7
  return end - 1; // 6: all but the last
}

/** End of the piece starting at `i`. */
function pieceEnd(s: string, i: number): number {
  const c = s.charCodeAt(i), k = CLASS[c];
  if (c === 39) {
    const n = contraction(s, i);
    if (n) return i + n;
  }
  if (k === LETTER) return run(s, i, LETTER);
  if (k !== DIGIT && c !== 10 && c !== 13 && cls(s, i + 1) === LETTER) {
    return run(s, i + 1, LETTER);
  }
  if (k === DIGIT) return Math.min(run(s, i, DIGIT), i + 3);
  if (k === OTHER || (c === 32 && cls(s, i + 1) === OTHER)) {
    let j = run(s, k === OTHER ? i : i + 1, OTHER);
    while (j < s.length && (s.charCodeAt(j) === 10 || s.charCodeAt(j) === 13)) j++;
    return j;
  }
  return spaces(s, i);
}

/** Calls `piece` with each pre-tokenized piece of ASCII text `s`, in order. */
export function asciiSplit(s: string, piece: (p: string) => void): void {
  for (let i = 0; i < s.length;) {
    const end = pieceEnd(s, i);
    piece(s.slice(i, end));
    i = end;
  }
}
