/**
 * Exact order statistics (the values at given 0-based ranks, as a sorted copy
 * would hold them) of numbers read as chunks, in a few passes and with memory
 * bounded by `sortLimit` values, not by their count. Each value's IEEE-754 bits
 * give a 64-bit key in `Float64Array#sort` order (-0 before +0, NaN last); the
 * key is read as four 16-bit digits. A pass either counts the next digit of
 * the values under one prefix (a histogram of 65,536 bins) or, once a prefix
 * holds at most `sortLimit` values, copies them out and sorts them. Ranks that
 * share a bin are answered together, so a few percentiles cost a few passes.
 *
 * @module
 */

/** Re-readable values: each call yields all values in the same order (a chunk may be reused once the next is asked for). */
export type Chunks = () => Iterable<Float64Array>;

const LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const HI = LE ? 1 : 0, LO = LE ? 0 : 1;
const BINS = 1 << 16;
const HI_MASK = [0, 0xffff0000, 0xffffffff, 0xffffffff, 0xffffffff];
const LO_MASK = [0, 0, 0, 0xffff0000, 0xffffffff];

/** Values under one key prefix (`depth` digits) and the wanted ranks among them. */
interface Group {
  depth: number;
  hi: number;
  lo: number;
  count: number;
  /** [global rank, rank within the group]. */
  ranks: [number, number][];
  /** "sort": copy out and sort; "hist": count the next digit; "same": all values are one. */
  mode: "sort" | "hist" | "same";
  buf: Float64Array | null;
  filled: number;
}

/**
 * The values at `ranks` (0-based, each below `count`, the number of values) of
 * `chunks` (see the module doc). `visit` sees every chunk of the first pass, in
 * order (a caller's own pass over the values, saved).
 * @default sortLimit 65,536 values (512 KiB per wanted rank)
 */
export function orderStatistics(
  chunks: Chunks,
  count: number,
  ranks: readonly number[],
  sortLimit = 1 << 16,
  visit: (c: Float64Array) => void = () => {},
): Map<number, number> {
  const out = new Map<number, number>();
  let groups = [group(0, 0, 0, count, [...new Set(ranks)].map((r) => [r, r]), sortLimit)];
  let seen = (c: Float64Array) => visit(c);
  while (groups.length) {
    const hists = groups.map((g) => (g.mode === "hist" ? new Uint32Array(BINS) : null));
    pass(chunks, groups, hists, seen);
    seen = () => {};
    const next: Group[] = [];
    groups.forEach((g, i) => {
      if (g.mode === "hist") next.push(...split(g, hists[i]!, sortLimit));
      else {
        if (g.mode === "sort") g.buf!.sort();
        for (const [r, k] of g.ranks) out.set(r, g.buf![g.mode === "sort" ? k : 0]);
      }
    });
    groups = next;
  }
  return out;
}

function group(
  depth: number,
  hi: number,
  lo: number,
  count: number,
  ranks: [number, number][],
  sortLimit: number,
): Group {
  const mode = depth === 4 ? "same" : count <= sortLimit ? "sort" : "hist";
  const size = mode === "sort" ? count : mode === "same" ? 1 : 0;
  return {
    depth,
    hi,
    lo,
    count,
    ranks,
    mode,
    buf: size ? new Float64Array(size) : null,
    filled: 0,
  };
}

/** The key's high word of `x` (`u`: the word itself): IEEE-754 bits in typed-sort order, every NaN last. */
function keyHi(x: number, u: number): number {
  if (x !== x) return 0xffffffff;
  return u & 0x80000000 ? ~u >>> 0 : (u | 0x80000000) >>> 0;
}

/** One pass over all values: each group copies or counts the values under its prefix. */
function pass(
  chunks: Chunks,
  groups: Group[],
  hists: (Uint32Array | null)[],
  visit: (c: Float64Array) => void,
): void {
  if (groups.length === 1 && groups[0].depth === 0) {
    return rootPass(chunks, groups[0], hists[0], visit);
  }
  // groups by their first digit
  const first = new Int32Array(BINS).fill(-1), next = new Int32Array(groups.length).fill(-1);
  for (let j = groups.length - 1; j >= 0; j--) {
    const d0 = groups[j].hi >>> 16;
    [next[j], first[d0]] = [first[d0], j];
  }
  for (const c of chunks()) {
    const u = new Uint32Array(c.buffer, c.byteOffset, c.length * 2);
    for (let i = 0; i < c.length; i++) {
      const x = c[i], hi = keyHi(x, u[2 * i + HI]);
      let j = first[hi >>> 16];
      if (j < 0) continue;
      const w = u[2 * i + LO];
      const lo = x !== x ? 0xffffffff : u[2 * i + HI] & 0x80000000 ? ~w >>> 0 : w;
      for (; j >= 0; j = next[j]) {
        const g = groups[j];
        if (g.depth > 1 && !under(g, hi, lo)) continue;
        const h = hists[j];
        if (h) h[digit(g.depth, hi, lo)]++;
        else if (g.filled < g.buf!.length) g.buf![g.filled++] = x;
      }
    }
  }
}

/** The first pass: every value counted by its first digit, or copied out when few. */
function rootPass(
  chunks: Chunks,
  g: Group,
  h: Uint32Array | null,
  visit: (c: Float64Array) => void,
): void {
  for (const c of chunks()) {
    visit(c);
    if (!h) {
      g.buf!.set(c, g.filled);
      g.filled += c.length;
      continue;
    }
    const u = new Uint32Array(c.buffer, c.byteOffset, c.length * 2);
    for (let i = 0; i < c.length; i++) h[keyHi(c[i], u[2 * i + HI]) >>> 16]++;
  }
}

/** Whether key `hi:lo` is under a group's prefix. */
function under(g: Group, hi: number, lo: number): boolean {
  return ((hi & HI_MASK[g.depth]) >>> 0) === g.hi && ((lo & LO_MASK[g.depth]) >>> 0) === g.lo;
}

function digit(depth: number, hi: number, lo: number): number {
  return depth === 0
    ? hi >>> 16
    : depth === 1
    ? hi & 0xffff
    : depth === 2
    ? lo >>> 16
    : lo & 0xffff;
}

/** The groups of the next digit that hold a wanted rank, from a group's histogram. */
function split(g: Group, hist: Uint32Array, sortLimit: number): Group[] {
  const out: Group[] = [];
  let below = 0, k = 0;
  const ranks = [...g.ranks].sort((a, b) => a[1] - b[1]);
  for (let b = 0; b < BINS && k < ranks.length; b++) {
    const n = hist[b];
    const inBin: [number, number][] = [];
    while (k < ranks.length && ranks[k][1] < below + n) {
      inBin.push([ranks[k][0], ranks[k][1] - below]);
      k++;
    }
    if (inBin.length) {
      const [hi, lo] = prefix(g, b);
      out.push(group(g.depth + 1, hi, lo, n, inBin, sortLimit));
    }
    below += n;
  }
  return out;
}

/** The key prefix of a group's bin `b` (its digits, the rest zero). */
function prefix(g: Group, b: number): [number, number] {
  switch (g.depth) {
    case 0:
      return [(b << 16) >>> 0, 0];
    case 1:
      return [(g.hi | b) >>> 0, 0];
    case 2:
      return [g.hi, (b << 16) >>> 0];
    default:
      return [g.hi, (g.lo | b) >>> 0];
  }
}
