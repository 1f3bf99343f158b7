/**
 * Block-hash chains kept by session for the session's next request: a
 * conversation's next prompt starts with the previous prompt and its answer,
 * whose blocks were hashed already (by this engine or, in PD, by the other
 * side). A new request takes the hashes of the leading blocks whose tokens it
 * repeats, checked token by token, so a chain is reused only where hashing
 * would give the same numbers (a stale or foreign session costs one compare).
 * Held for the last {@linkcode MAX_SESSIONS} sessions of the process.
 *
 * @module
 */

/** Sessions whose last chain is held (a run's conversations in flight fit many times over). */
export const MAX_SESSIONS = 256;

/** The hashes of a request's leading full blocks over its prompt followed by `then`. */
interface Chain {
  blockSize: number;
  tokens: ArrayLike<number>;
  then: ArrayLike<number>;
  /** The hashes: the first `count` of `hashes`. */
  hashes: ArrayLike<number>;
  count: number;
}

const chains = new Map<string, Chain>();

/** Keeps the chain of a session's request (the latest one wins). */
export function keepChain(
  session: string,
  blockSize: number,
  tokens: ArrayLike<number>,
  then: ArrayLike<number>,
  hashes: ArrayLike<number>,
  count = hashes.length,
): void {
  if (count === 0) return;
  chains.delete(session); // re-inserted last: the oldest session goes first
  chains.set(session, { blockSize, tokens, then, hashes, count });
  if (chains.size > MAX_SESSIONS) chains.delete(chains.keys().next().value!);
}

/**
 * The session's kept hashes of the leading blocks that `tokens` (then `then`)
 * repeats token for token, copied into `into` (empty); how many.
 */
export function reuseChain(
  session: string,
  blockSize: number,
  tokens: ArrayLike<number>,
  then: ArrayLike<number>,
  into: { [i: number]: number; readonly length: number },
): number {
  const c = chains.get(session);
  if (!c || c.blockSize !== blockSize) return 0;
  const n = Math.min(c.count * blockSize, tokens.length + then.length);
  const same = tokens === c.tokens && then === c.then
    ? n
    : sameLength(c.tokens, c.then, tokens, then, n);
  const blocks = Math.min(Math.floor(same / blockSize), into.length);
  const from = c.hashes;
  if (into instanceof Float64Array && from instanceof Float64Array) {
    into.set(blocks === from.length ? from : from.subarray(0, blocks)); // a copy of memory
  } else for (let b = 0; b < blocks; b++) into[b] = from[b];
  return blocks;
}

/** How many leading tokens (up to `n`) stream a (`a` then `a2`) and stream b share. */
function sameLength(
  a: ArrayLike<number>,
  a2: ArrayLike<number>,
  b: ArrayLike<number>,
  b2: ArrayLike<number>,
  n: number,
): number {
  const shared = Math.min(n, a.length, b.length);
  let i = a === b ? shared : 0; // the same prompt (the other side of PD)
  while (i < shared && a[i] === b[i]) i++;
  if (i < shared) return i;
  // a conversation's next prompt repeats the last one's output: a's second part against b
  const na = a.length, inB = Math.min(n, na + a2.length, b.length);
  if (i === na) {
    for (; i < inB; i++) if (a2[i - na] !== b[i]) return i;
  }
  for (; i < n; i++) {
    const x = i < a.length ? a[i] : a2[i - a.length];
    const y = i < b.length ? b[i] : b2[i - b.length];
    if (x !== y) return i;
  }
  return n;
}
