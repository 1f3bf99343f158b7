/**
 * Routing policies: pick one backend of a role for a request.
 * `round_robin`, `least_loaded` (fewest in-flight requests), `session` (sticky by
 * session key, falling back to least loaded) and `prefix` (the backend that has
 * seen the longest prefix of this prompt, an estimate of its prefix cache).
 *
 * @module
 */
import type { Policy } from "../../../lib/contracts.ts";
import { minOf } from "../../../lib/stats.ts";

/** What a policy needs to know about a backend. */
export interface Candidate {
  /** Unique backend name. */
  name: string;
  /** Requests in flight on it now. */
  inFlight: number;
}

/** Per-request inputs of a pick. */
export interface PickContext {
  /** Conversation id or `X-Session-Id`, if any. */
  sessionKey?: string;
  /** Chained hashes of the prompt's blocks, from {@linkcode prefixHashes}. */
  prefixHashes?: number[];
}

/** A set with a size cap that forgets the least recently touched entries. */
export class LruMap<K, V> {
  #m = new Map<K, V>();
  constructor(readonly capacity: number) {}
  /** Value of `k`, marking it recently used. */
  get(k: K): V | undefined {
    const v = this.#m.get(k);
    if (v !== undefined) {
      this.#m.delete(k);
      this.#m.set(k, v);
    }
    return v;
  }
  /** Whether `k` is present (does not touch it). */
  has(k: K): boolean {
    return this.#m.has(k);
  }
  /** Sets `k`, evicting the oldest entry when full. */
  set(k: K, v: V): void {
    this.#m.delete(k);
    this.#m.set(k, v);
    if (this.#m.size > this.capacity) this.#m.delete(this.#m.keys().next().value as K);
  }
  delete(k: K): void {
    this.#m.delete(k);
  }
  clear(): void {
    this.#m.clear();
  }
  get size(): number {
    return this.#m.size;
  }
}

/** 53-bit string hash (cyrb53), seeded with the previous block's hash. */
function hash53(s: string, seed: number): number {
  let h1 = 0xdeadbeef ^ seed;
  let h2 = 0x41c6ce57 ^ seed;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

/**
 * Chained hashes of `text` cut into blocks of `blockChars` characters (a full
 * block only, as a prefix cache keeps full blocks); hash `i` covers blocks 0..i.
 */
export function prefixHashes(text: string, blockChars = 128, maxBlocks = 512): number[] {
  const out: number[] = [];
  let h = 0;
  for (let i = 0; i + blockChars <= text.length && out.length < maxBlocks; i += blockChars) {
    h = hash53(text.slice(i, i + blockChars), h % 4294967296);
    out.push(h);
  }
  return out;
}

function partText(c: unknown): string {
  if (typeof c === "string") return c;
  if (!Array.isArray(c)) return JSON.stringify(c ?? "");
  return c.map((p) => {
    if (typeof p !== "object" || p === null) return String(p);
    const o = p as Record<string, unknown>;
    if (typeof o.text === "string") return o.text;
    const img = o.image_url as { url?: unknown } | string | undefined;
    if (typeof img === "string") return img;
    if (img && typeof img.url === "string") return img.url;
    return JSON.stringify(o);
  }).join("");
}

/** The prompt of a completion or chat body as one string, for prefix hashing. */
export function promptText(body: Record<string, unknown>): string {
  if (Array.isArray(body.messages)) {
    return body.messages.map((m) => {
      const o = (typeof m === "object" && m !== null ? m : {}) as Record<string, unknown>;
      return `\u0001${String(o.role ?? "")}\u0002${partText(o.content)}`;
    }).join("");
  }
  const p = body.prompt;
  return typeof p === "string" ? p : JSON.stringify(p ?? "");
}

/** Picks backends of one role with one policy; keeps the policy's memory (sessions, prefixes). */
export class Picker {
  #rr = 0;
  #sessions: LruMap<string, string>;
  #prefixes = new Map<string, LruMap<number, true>>();

  /**
   * @param policy the policy
   * @param memory sessions remembered, and prefix blocks remembered per backend
   */
  constructor(readonly policy: Policy, readonly memory = 100_000) {
    this.#sessions = new LruMap(memory);
  }

  /** Chooses one of `cands` (the healthy backends), or undefined when there are none. */
  pick<C extends Candidate>(cands: readonly C[], ctx: PickContext = {}): C | undefined {
    if (cands.length === 0) return undefined;
    switch (this.policy) {
      case "round_robin":
        return cands[this.#rr++ % cands.length];
      case "least_loaded":
        return this.#least(cands);
      case "session":
        return this.#session(cands, ctx.sessionKey);
      case "prefix":
        return this.#prefix(cands, ctx.prefixHashes ?? []);
    }
  }

  /** Fewest in flight; ties rotate so equal backends share the load. */
  #least<C extends Candidate>(cands: readonly C[]): C {
    const start = this.#rr++ % cands.length;
    let best = cands[start];
    for (let i = 1; i < cands.length; i++) {
      const c = cands[(start + i) % cands.length];
      if (c.inFlight < best.inFlight) best = c;
    }
    return best;
  }

  #session<C extends Candidate>(cands: readonly C[], key?: string): C {
    if (key === undefined) return this.#least(cands);
    const known = this.#sessions.get(key);
    const hit = known === undefined ? undefined : cands.find((c) => c.name === known);
    if (hit) return hit;
    const c = this.#least(cands);
    this.#sessions.set(key, c.name);
    return c;
  }

  #prefix<C extends Candidate>(cands: readonly C[], hashes: number[]): C {
    let best: C[] = [];
    let bestLen = 0;
    for (const c of cands) {
      const seen = this.#prefixes.get(c.name);
      let n = 0;
      while (seen && n < hashes.length && seen.has(hashes[n])) n++;
      if (n > bestLen) [best, bestLen] = [[c], n];
      else if (n === bestLen) best.push(c);
    }
    let chosen = this.#least(best.length ? best : cands);
    // Keep a cache hit from piling everything onto one backend.
    const min = minOf(cands.map((c) => c.inFlight));
    if (bestLen > 0 && chosen.inFlight > 2 * min + 8) chosen = this.#least(cands);
    let seen = this.#prefixes.get(chosen.name);
    if (!seen) this.#prefixes.set(chosen.name, seen = new LruMap(this.memory));
    for (const h of hashes) seen.set(h, true);
    return chosen;
  }

  /** Forgets sessions and prefixes (all, or those of one backend). */
  forget(backend?: string): void {
    if (backend === undefined) {
      this.#sessions.clear();
      this.#prefixes.clear();
    } else this.#prefixes.delete(backend);
  }
}
