/**
 * Byte arrays joined whole: what a reader collected in chunks (a request
 * body, a configuration file, an HTTP answer's parts) as one array.
 *
 * @module
 */

/**
 * The parts as one array (the part itself when there is one).
 *
 * @example
 * ```ts
 * concat([new Uint8Array([1]), new Uint8Array([2, 3])]); // Uint8Array [1, 2, 3]
 * ```
 */
export function concat(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0];
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
