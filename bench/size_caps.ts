/**
 * Size caps from the environment: `TOPOBENCH_MAX_DURATION_S` caps every load
 * point's `--duration` (and `--ramp-duration`, `--warmup` as a duration, and
 * `--num-requests` to what `--rate` sends in that time), `TOPOBENCH_MAX_REQUESTS`
 * its `--num-requests` and `TOPOBENCH_MAX_THINK_MS`
 * its multi-turn `--think-time`, in both clocks. The
 * README-examples test sets them so the documented commands run as a user
 * types them, only small. A capped run says so on stderr once per process.
 *
 * @module
 */
import { fieldError } from "../lib/errors.ts";

/** Caps `--duration`, `--ramp-duration` and a `--warmup` duration, seconds. */
export const MAX_DURATION_ENV = "TOPOBENCH_MAX_DURATION_S";
/** Caps `--num-requests` (conversations for multi-turn). */
export const MAX_REQUESTS_ENV = "TOPOBENCH_MAX_REQUESTS";

/** Caps the mean `--think-time` between turns, ms. */
export const MAX_THINK_ENV = "TOPOBENCH_MAX_THINK_MS";

/** The fields a cap changes (a subset of the bench config). */
export interface Sized {
  durationS?: number;
  rampDurationS?: number;
  warmupS?: number;
  numRequests?: number;
  rateRps: number;
  dataset: { thinkTimeMs: number };
}

let told = false;

function capOf(name: string): number | undefined {
  const raw = Deno.env.get(name);
  if (raw === undefined || raw === "") return undefined;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) {
    throw fieldError({ field: `$${name}`, value: raw, expected: "a positive number" });
  }
  return n;
}

/** The most requests: `maxN`, and what `rateRps` sends in `maxS` seconds. */
function requestCap(rateRps: number, maxS?: number, maxN?: number): number | undefined {
  const byTime = maxS !== undefined && Number.isFinite(rateRps)
    ? Math.max(1, Math.ceil(rateRps * maxS))
    : undefined;
  const n = maxN === undefined ? undefined : Math.ceil(maxN);
  return byTime === undefined ? n : n === undefined ? byTime : Math.min(n, byTime);
}

const KEYS = ["durationS", "rampDurationS", "warmupS", "numRequests"] as const;

/** `cfg` with the environment's caps applied (the same object when none is set or none bites). */
export function withSizeCaps<T extends Sized>(cfg: T): T {
  const maxS = capOf(MAX_DURATION_ENV);
  const maxN = capOf(MAX_REQUESTS_ENV);
  const maxThink = capOf(MAX_THINK_ENV);
  if (maxS === undefined && maxN === undefined && maxThink === undefined) return cfg;
  const out: T = { ...cfg };
  if (maxThink !== undefined && cfg.dataset.thinkTimeMs > maxThink) {
    out.dataset = { ...cfg.dataset, thinkTimeMs: maxThink };
  }
  for (const k of KEYS) {
    const cap = k === "numRequests" ? requestCap(cfg.rateRps, maxS, maxN) : maxS;
    const x = cfg[k];
    if (x !== undefined && cap !== undefined && x > cap) out[k] = cap;
  }
  if (out.dataset === cfg.dataset && KEYS.every((k) => out[k] === cfg[k])) return cfg;
  if (!told) {
    told = true;
    console.error(
      `[bench] ${MAX_DURATION_ENV}=${maxS ?? "-"} ${MAX_REQUESTS_ENV}=${maxN ?? "-"} ` +
        `${MAX_THINK_ENV}=${maxThink ?? "-"}: ` +
        "load points are capped to these sizes (a test setting)",
    );
  }
  return out;
}
