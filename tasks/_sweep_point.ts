/**
 * One point of a sweep: what its results depend on (identity and its hash),
 * whether a finished run of it can be reused, and running it (bench, or the
 * virtual-time runner) when not, recording `experiment.json` beside its results.
 *
 * @module
 */
import { basename, join } from "node:path";
import { adminHeaders } from "../lib/control_guard.ts";
import { writeJsonAtomic } from "../lib/write_file.ts";
import {
  benchHasTimeScale,
  finishedRuns,
  moveAside,
  readSummaries,
  runBench,
  unfinishedRuns,
} from "./_bench_cmd.ts";
import type { SweepOptions } from "./sweep.ts";

/** Bench flags by name. */
export type Flags = Record<string, string | number | boolean>;

const SHORT: Record<string, string> = {
  concurrency: "c",
  "input-len": "in",
  "output-len": "out",
  turns: "t",
};

/** Run directory label of a point: `agg-c8-in512-r2`. */
export function pointLabel(topology: string, cell: Record<string, string | number>, rate: number) {
  const parts = Object.entries(cell).map(([k, v]) => `${SHORT[k] ?? k}${v}`);
  return [topology, ...parts, `r${rate === Infinity ? "inf" : rate}`].join("-");
}

/**
 * What a point's results depend on: the experiment meta (engine, clock, speed,
 * model, the parsed topology file) and the bench flags, without where results
 * go (`out`) or where the server listens (`url`, ports). Flattened to dotted keys.
 */
export function pointIdentity(
  meta: Record<string, unknown>,
  benchFlags: Record<string, unknown>,
): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (prefix: string, v: unknown) => {
    if (v !== null && typeof v === "object" && !Array.isArray(v)) {
      for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
        walk(prefix ? `${prefix}.${k}` : k, x);
      }
    } else if (v !== undefined && !/(^|\.|_)ports?$/.test(prefix)) {
      out[prefix] = JSON.stringify(v); // ports move between launches; results do not depend on them
    }
  };
  const { experiment_file: _f, ...m } = meta;
  const { out: _o, url: _u, ...b } = benchFlags;
  walk("", { ...m, bench: b });
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => a.localeCompare(b)));
}

/** SHA-256 (hex, 16 digits) of an identity. */
export async function configHash(identity: Record<string, string>): Promise<string> {
  const bytes = new TextEncoder().encode(JSON.stringify(identity));
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return [...d.slice(0, 8)].map((x) => x.toString(16).padStart(2, "0")).join("");
}

/** Keys whose values differ between two identities (added or removed included). */
export function changedKeys(a: Record<string, string>, b: Record<string, string>): string[] {
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  const out = keys.filter((k) => a[k] !== b[k]).map((k) =>
    `${k}: ${a[k] ?? "–"} -> ${b[k] ?? "–"}`
  );
  return out.length > 4 ? [...out.slice(0, 4), `+${out.length - 4} more`] : out;
}

async function readIdentity(
  runDir: string,
): Promise<{ hash: string; identity: Record<string, string> } | null> {
  try {
    const j = JSON.parse(await Deno.readTextFile(join(runDir, "experiment.json")));
    return typeof j.config_hash === "string"
      ? { hash: j.config_hash, identity: j.config_identity ?? {} }
      : null;
  } catch {
    return null;
  }
}

/** Bench flags that make bench measure a server running `f` times faster. */
export async function timeFlags(f: number, w: Flags, rate: number): Promise<Flags> {
  if (f === 1) return { rate };
  if (await benchHasTimeScale()) return { rate, "time-scale": f };
  // bench without --time-scale: scale the client side; recorded times are then wall time
  const out: Flags = { rate: rate * f, "think-time": Number(w["think-time"] ?? 1000) / f };
  if (typeof w.duration === "number") out.duration = w.duration / f;
  return out;
}

/** Bench flags every point of a sweep shares. */
export function baseFlags(o: SweepOptions): Flags {
  const base: Flags = {
    ...(o.workload ?? {}),
    url: o.url,
    topology: o.topology,
    runs: o.runs ?? 1,
  };
  if (o.gpus) base.gpus = o.gpus;
  if (o.slo) base.slo = o.slo;
  return base;
}

/**
 * Whether a point can be reused: its finished run with the same configuration
 * hash (`runDir`), else what changed since the last finished one (`changed`,
 * null when none is finished).
 */
export async function pointStatus(o: SweepOptions, dir: string, label: string, benchFlags: Flags) {
  const identity = pointIdentity(o.meta ?? {}, benchFlags);
  const hash = await configHash(identity);
  const done = await finishedRuns(dir, label, Number(benchFlags.runs ?? 1));
  const last = done.at(-1);
  if (!last) return { identity, hash, runDir: null, changed: null };
  const before = await readIdentity(last);
  if (before?.hash === hash) return { identity, hash, runDir: last, changed: null };
  const keys = before ? changedKeys(before.identity, identity) : ["(no recorded hash)"];
  return { identity, hash, runDir: null, changed: `${basename(last)} (${keys.join(", ")})` };
}

/** What every point of one sweep shares. */
export interface SweepRun {
  o: SweepOptions;
  log: (msg: string) => void;
  /** The workload's bench flags. */
  w: Flags;
  runs: number;
  /** Time scale of the server. */
  f: number;
  /** Experiment folder, resolved. */
  expDir: string;
  /** {@linkcode baseFlags} of the sweep. */
  base: Flags;
  /** Bench resets the prefix cache of `url` itself (no reset URLs given). */
  resetFlag: boolean;
}

/** One point's runs: found finished (`resumed`) or just run. */
export interface PointRun {
  runDir: string;
  summaries: Record<string, unknown>[];
  resumed: boolean;
  /** Its own wall time, ms, when it ran elsewhere (a pool's worker) before the sweep took it. */
  wallMs?: number;
}

/** POSTs every reset URL (prefix caches, PPD conversations) before a point; failures ignored. */
async function resetCaches(o: SweepOptions): Promise<void> {
  if (o.resetPrefixCache === false || !o.resetUrls) return;
  await Promise.all(
    o.resetUrls.map((u) =>
      fetch(u, { method: "POST", headers: adminHeaders(), signal: AbortSignal.timeout(10_000) })
        .then((r) => r.body?.cancel())
        .catch(() => {})
    ),
  );
}

/** Runs point `label` (or reuses its finished run with the same settings) into `dir`. */
export async function runPoint(
  s: SweepRun,
  label: string,
  flags: Flags,
  rate: number,
  cell: Flags,
  dir = s.expDir,
): Promise<PointRun> {
  const { o, log, base } = s;
  o.signal?.throwIfAborted();
  const t = await timeFlags(s.f, { ...s.w, ...cell }, rate);
  const { identity, hash, runDir, changed } = await pointStatus(o, dir, label, {
    ...base,
    ...cell,
    ...flags,
    ...t,
  });
  if (runDir) return { runDir, summaries: await readSummaries(runDir), resumed: true };
  if (changed) {
    const why = `${label}: settings changed since ${changed}`;
    if (o.resume === "strict") {
      throw new RangeError(
        `Cannot resume ${why}: current value differs; allowed: the same settings (or --resume auto to rerun)`,
      );
    }
    log(`${why}: rerunning`);
  }
  // an interrupted attempt of this point goes aside: it is never pooled with its rerun
  for (const old of await unfinishedRuns(dir, label, Number({ ...base, ...flags }.runs ?? 1))) {
    log(`${label}: interrupted attempt ${basename(old)} moved aside to ${await moveAside(old)}`);
  }
  await resetCaches(o);
  const b = await (o.runner ?? runBench)(
    { ...base, ...cell, ...flags, ...t, out: join(dir, label), "reset-prefix-cache": s.resetFlag },
    { verbose: o.verbose, signal: o.signal },
  );
  o.signal?.throwIfAborted();
  if (b.code !== 0 || !b.runDir) {
    log(`bench for ${label} exited ${b.code}; its last lines:\n${b.stderrTail}`);
    throw new Error(
      `Cannot run bench for ${label} as a finished run: current value is exit ${b.code}\n${b.stderrTail}`,
    );
  }
  const meta = {
    ...o.meta,
    point: { label, rate_rps: rate, cell, runs: s.runs, time_scale: s.f },
    bench_flags: { ...base, ...cell, ...flags, ...t },
    config_hash: hash,
    config_identity: identity,
  };
  await writeJsonAtomic(join(b.runDir, "experiment.json"), meta);
  return { runDir: b.runDir, summaries: b.summaries, resumed: false };
}
