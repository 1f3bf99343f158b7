/**
 * Token-length distributions for inputs and outputs (`--input-dist`,
 * `--output-dist`): `fixed(n)`, `uniform(min,max)`, `choices(a,b,c)`,
 * `normal(mean,sd)` and `lognormal(mean,sd)` (mean and sd of the lengths
 * themselves). Draws are whole tokens, at least 1. vLLM's
 * `--random-range-ratio r` is `uniform(len·(1−r), len·(1+r))`.
 *
 * @module
 */
import type { Rng } from "../../lib/rng.ts";

/** Kinds of length distribution. */
export const LENGTH_DISTS = ["fixed", "uniform", "choices", "normal", "lognormal"] as const;

/** A parsed length distribution. */
export type LengthDist =
  | { kind: "fixed"; n: number }
  | { kind: "uniform"; min: number; max: number }
  | { kind: "choices"; values: number[] }
  | { kind: "normal"; mean: number; sd: number }
  | { kind: "lognormal"; mean: number; sd: number };

const ARITY: Record<LengthDist["kind"], number | "many"> = {
  fixed: 1,
  uniform: 2,
  choices: "many",
  normal: 2,
  lognormal: 2,
};

/** Parses `kind(a,b,...)`; throws a RangeError naming `field`, the value and the forms allowed. */
export function parseLengthDist(spec: string, field: string): LengthDist {
  const bad = (why: string) =>
    new RangeError(
      `Cannot use ${field} ${
        JSON.stringify(spec)
      } as a length distribution: ${why}; allowed: fixed(n), uniform(min,max), choices(a,b,...), normal(mean,sd), lognormal(mean,sd) in tokens`,
    );
  const m = /^\s*(\w+)\s*\(([^)]*)\)\s*$/.exec(spec);
  if (!m) throw bad("not of the form kind(numbers)");
  const kind = m[1] as LengthDist["kind"];
  if (!(LENGTH_DISTS as readonly string[]).includes(kind)) throw bad(`unknown kind ${m[1]}`);
  const args = m[2].split(",").map((x) => x.trim()).filter((x) => x !== "").map(Number);
  if (args.some((x) => !Number.isFinite(x) || x < 0)) throw bad("every number must be >= 0");
  const want = ARITY[kind];
  if (want === "many" ? args.length === 0 : args.length !== want) {
    throw bad(`${kind} takes ${want === "many" ? "one or more" : want} number(s)`);
  }
  const int = (x: number) => {
    if (!Number.isInteger(x) || x < 1) throw bad(`${x} is not a whole number of tokens >= 1`);
    return x;
  };
  switch (kind) {
    case "fixed":
      return { kind, n: int(args[0]) };
    case "uniform":
      if (args[0] > args[1]) throw bad("min is above max");
      return { kind, min: int(args[0]), max: int(args[1]) };
    case "choices":
      return { kind, values: args.map(int) };
    case "normal":
    case "lognormal":
      if (args[0] <= 0) throw bad("the mean must be > 0");
      return { kind, mean: args[0], sd: args[1] };
  }
}

/** The distribution of the old flags: `len` with vLLM's range ratio. */
export function rangeDist(len: number, ratio: number): LengthDist {
  if (!ratio) return { kind: "fixed", n: len };
  const min = Math.max(1, Math.floor(len * (1 - ratio)));
  return { kind: "uniform", min, max: Math.max(min, Math.ceil(len * (1 + ratio))) };
}

/** One draw: a whole number of tokens, at least 1. */
export function drawTokens(d: LengthDist, rng: Rng): number {
  switch (d.kind) {
    case "fixed":
      return d.n;
    case "uniform":
      return d.min + Math.floor(rng.next() * (d.max - d.min + 1));
    case "choices":
      return d.values[Math.floor(rng.next() * d.values.length)];
    case "normal":
      return Math.max(1, Math.round(d.mean + d.sd * rng.normal()));
    case "lognormal": {
      const s2 = Math.log(1 + (d.sd * d.sd) / (d.mean * d.mean));
      return Math.max(
        1,
        Math.round(Math.exp(Math.log(d.mean) - s2 / 2 + Math.sqrt(s2) * rng.normal())),
      );
    }
  }
}

/** The mean length of a distribution (for labels and expected sizes). */
export function meanTokens(d: LengthDist): number {
  switch (d.kind) {
    case "fixed":
      return d.n;
    case "uniform":
      return (d.min + d.max) / 2;
    case "choices":
      return d.values.reduce((a, b) => a + b, 0) / d.values.length;
    default:
      return d.mean;
  }
}

/** A short label: `fixed(512)` prints as `512`. */
export function distLabel(d: LengthDist): string {
  switch (d.kind) {
    case "fixed":
      return String(d.n);
    case "uniform":
      return `uniform(${d.min},${d.max})`;
    case "choices":
      return `choices(${d.values.join(",")})`;
    default:
      return `${d.kind}(${d.mean},${d.sd})`;
  }
}
