/**
 * How the bench settings that need more than a number or enum check are read
 * (`_bench_settings.ts` names each one's reader): the endpoint and base URL,
 * the rate, the warmup, the multiturn preset, the extra body, `--out`, the
 * worker hosts and the start instant.
 *
 * @module
 */
import { basename } from "node:path";
import { enumFlag, type FlagValues, numberFlag } from "../lib/args.ts";
import { fieldError } from "../lib/errors.ts";
import { checkSafeName } from "../lib/safe_name.ts";
import { ARRIVAL_PROCESSES, type ArrivalProcess, type RateBurst } from "./workload/arrivals.ts";
import { MULTITURN_PRESETS, type MultiturnPreset } from "./workload/multiturn.ts";
import { parseImageSizes } from "./workload/random_mm.ts";
import { num } from "./_setting_table.ts";

/** `Cannot use --FLAG as EXPECTED: current value is VALUE`. */
export const bad = (flag: string, value: unknown, expected: string): Error =>
  fieldError({ field: `--${flag}`, value, expected });

const HTTP_BASE = /^https?:\/\/[^/\s]+/;

/** `--endpoint`: a path (`/v1/completions`, any other) or a full http(s) URL. */
export function endpointPath(v: FlagValues, k: string): string {
  const endpoint = String(v[k]);
  if (!HTTP_BASE.test(endpoint) && !/^\/\S*$/.test(endpoint)) {
    throw bad(k, endpoint, "a path starting with / or a full http(s) URL");
  }
  return endpoint;
}

/** `--url`, else the origin of a full `--endpoint` URL; without trailing slashes. */
export function baseUrl(v: FlagValues, k: string): string {
  const endpoint = String(v.endpoint);
  const url = (v[k] as string | undefined) ??
    (HTTP_BASE.test(endpoint) ? new URL(endpoint).origin : undefined);
  if (!url || !HTTP_BASE.test(url)) throw bad(k, url, "an http(s) base URL");
  return url.replace(/\/+$/, "");
}

/** `--rate`: positive, or inf. */
export function rate(v: FlagValues, k: string): number {
  const rateRps = numberFlag(v, k, { allowInf: true })!;
  if (!(rateRps > 0)) throw bad(k, v[k], "a positive number or inf");
  return rateRps;
}

/** `--burstiness`: the gamma shape. */
export const burstiness = num({ min: 0.001 });

/** `--arrival`: poisson becomes gamma with a `--burstiness` other than 1. */
export function arrival(v: FlagValues, k: string): ArrivalProcess {
  const shape = burstiness(v, "burstiness")!;
  const a = enumFlag(v, k, ARRIVAL_PROCESSES)!;
  return shape !== 1 && a === "poisson" ? "gamma" : a;
}

/** `--range-ratio` in [0, 1). */
export function rangeRatio(v: FlagValues, k: string): number {
  const r = numberFlag(v, k, { min: 0, max: 1 })!;
  if (r >= 1) throw bad(k, v[k], "a number in [0, 1)");
  return r;
}

/** `--image-size WxH[,WxH]`. */
export const imageSizes = (v: FlagValues, k: string): { width: number; height: number }[] =>
  parseImageSizes(v[k] as string);

/** A trace dataset is its own schedule and length. */
export const traced = (v: FlagValues): boolean => v.dataset === "mooncake" || v.dataset === "trace";

/** `--preset`: a multiturn preset by name (any case), or undefined. */
export function preset(v: FlagValues, k: string): MultiturnPreset | undefined {
  const name = v[k] as string | undefined;
  if (name === undefined) return undefined;
  const p = MULTITURN_PRESETS[name.toUpperCase()];
  if (!p) {
    const names = Object.keys(MULTITURN_PRESETS).map((n) => n.replace("-UNIFORM", "-uniform"));
    throw bad(k, name, `one of ${names.join(", ")}`);
  }
  return p;
}

/** `--warmup N` (requests) or `--warmup 30s` / `2m` (a duration of the run's own load). */
export function warmup(v: FlagValues, k: string): { warmup: number; warmupS?: number } {
  const s = String(v[k] ?? "0").trim();
  const m = /^(\d+(?:\.\d+)?)\s*(s|m)$/.exec(s);
  if (m) {
    const secs = Number(m[1]) * (m[2] === "m" ? 60 : 1);
    if (secs > 0) return { warmup: 0, warmupS: secs };
  }
  if (/^\d+$/.test(s)) return { warmup: Number(s) };
  throw bad(k, v[k], "a number of requests, or a duration such as 30s or 2m");
}

/** `--extra-body`: a JSON object. */
export function jsonObject(v: FlagValues, k: string): Record<string, unknown> | undefined {
  const raw = v[k];
  if (raw === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(String(raw));
  } catch {
    parsed = undefined;
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw bad(k, raw, "a JSON object");
  }
  return parsed as Record<string, unknown>;
}

/** `--stream true|false`. */
export const trueOrFalse = (v: FlagValues, k: string): boolean =>
  enumFlag(v, k, ["true", "false"] as const) === "true";

/** `--out` when its last part is a plain name (it names the run directory). */
export function outPath(v: FlagValues, k: string): string {
  const out = v[k] as string;
  checkSafeName(basename(out), "--out, its last part", { what: "a run label" });
  return out;
}

/** `--workers a,b,local`: host names (none: the load runs in this process). */
export function hosts(v: FlagValues, k: string): string[] {
  const workers = v[k] === undefined ? [] : String(v[k]).split(",").map((w) => w.trim());
  if (workers.some((w) => !/^[\w@.:[\]-]+$/.test(w))) {
    throw bad(k, v[k], "comma-separated host names or local");
  }
  return workers;
}

/** `--senders`: `auto`, or a whole number of threads from 1 to 64. */
export const senderCount = (v: FlagValues, k: string): number | "auto" =>
  v[k] === "auto" ? "auto" : numberFlag(v, k, { integer: true, min: 1, max: 64 })!;

/** `--start-at`: Unix ms, or `stdin`. */
export const startAt = (v: FlagValues, k: string): number | "stdin" | undefined =>
  v[k] === "stdin" ? "stdin" : numberFlag(v, k, { min: 0 });

/**
 * `--rate-burst at:duration:factor[,...]` (seconds, seconds, ×): the offered
 * rate × factor from `at` for `duration`, in time order, not overlapping.
 */
export function rateBursts(v: FlagValues, k: string): RateBurst[] {
  const given = v[k];
  if (given === undefined || given === "") return [];
  const form = "at:duration:factor[,...] (seconds, seconds, a factor > 0), e.g. 20:30:3";
  const out = String(given).split(",").map((part) => {
    const m = /^\s*(\d+(?:\.\d+)?):(\d+(?:\.\d+)?):(\d+(?:\.\d+)?)\s*$/.exec(part);
    if (!m || !(Number(m[2]) > 0) || !(Number(m[3]) > 0)) throw bad(k, given, form);
    return { atMs: Number(m[1]) * 1000, durationMs: Number(m[2]) * 1000, factor: Number(m[3]) };
  });
  out.forEach((b, i) => {
    const prev = out[i - 1];
    if (prev && b.atMs < prev.atMs + prev.durationMs) {
      throw bad(k, given, `bursts in time order that do not overlap: ${form}`);
    }
  });
  return out;
}
