/**
 * Experiment files (`tasks/experiments/*.yaml`): which topologies to launch, the
 * workload (bench flags), the sweep (rates or auto, grid, runs, early stop), the
 * SLO and the plots. Loaded, validated and resolved against command-line
 * overrides (`--speed`, `--engine vllm --model M`).
 *
 * @module
 */
import {
  loadTopologyWith,
  parseSet,
  sizeLabelOf,
  type TopologySet,
} from "../launch/topology_set.ts";
import type { Slo } from "../lib/metrics.ts";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parse as parseYaml } from "yaml";
import { fieldError } from "../lib/errors.ts";
import { checkSafeName } from "../lib/safe_name.ts";
import { readConfigText } from "../lib/read_config.ts";

/** Repository root (paths in experiment files are relative to it). */
export const ROOT = fileURLToPath(new URL("..", import.meta.url));

/** One topology of an experiment. */
export interface ExperimentTopology {
  /** Short name recorded as `topology` in results (`agg`, `pd`, ...). */
  label: string;
  /** Topology YAML for `engine: sim`, absolute. */
  file: string;
  /** Topology YAML for `--engine vllm`, absolute. @default null */
  vllmFile: string | null;
  /** Field changes applied to the file (`set:` in the entry, sweep cells). @default [] */
  sets: TopologySet[];
}

/** Auto sweep settings: a saturating probe, then rates spaced up to the measured capacity. */
export interface AutoSweep {
  /** Requests (conversations) of the probe at rate inf. @default 40 */
  probeRequests: number;
  /** Rate points. @default 4 */
  points: number;
  /** Highest point as a fraction of the probed capacity. @default 1.2 */
  maxFraction: number;
}

/** Early-stop ceilings of a sweep (the rest of the rates are skipped once one is exceeded). */
export interface StopRule {
  /** Failed / all requests. @default 0.2 */
  maxErrorRate: number;
  /** p99 TTFT, ms (server time). @default null (no ceiling) */
  maxP99TtftMs: number | null;
  /** p99 end-to-end latency, ms. @default null */
  maxP99E2elMs: number | null;
}

/** The sweep of one experiment. */
export interface SweepSpec {
  /** Rates (req/s; conversations/s for multiturn), or null for auto. */
  rates: number[] | null;
  auto: AutoSweep;
  /** Bench flag name -> values; every combination is one sweep cell. @default {} */
  grid: Record<string, (string | number)[]>;
  /**
   * Topology field (dotted path) -> values: every topology runs once per
   * combination, labelled `<label>-<size>` (`pd-2P1D-tp1`). @default {}
   */
  topology: Record<string, unknown[]>;
  /** Repeats per point (bench `--runs`). @default 1 */
  runs: number;
  /** POST /reset_prefix_cache before each point. @default true */
  resetPrefixCache: boolean;
  stop: StopRule;
}

/** A loaded experiment. */
export interface Experiment {
  /** Experiment name: results go to `results/<name>/`. */
  name: string;
  description: string;
  file: string;
  topologies: ExperimentTopology[];
  /** Simulated engine speed-up overriding the topology files'. @default null */
  speed: number | null;
  /** Which clock sim topologies run on: virtual (one process, no host noise) or live. @default "virtual" */
  clock: "virtual" | "live";
  /** Virtual time: router hop per leg, ms. @default null (DEFAULT_ROUTER_HOP_MS) */
  routerHopMs: number | null;
  /** Bench flags without `--` (`dataset: multiturn`, `think-time: 1000`, ...). */
  workload: Record<string, string | number | boolean>;
  sweep: SweepSpec;
  /** SLO in ms. @default null */
  slo: Slo | null;
  /** SLO attainment target, percent. @default 90 */
  targetPct: number;
  /** Plot options. */
  plots: { formats: ("png" | "svg")[]; compare: [string, string] | null; logY: boolean };
}

type Obj = Record<string, unknown>;

class Reader {
  constructor(readonly file: string) {}
  bad(field: string, value: unknown, expected: string, kind: "type" | "range" = "range"): Error {
    return fieldError({ field, value, expected, file: this.file, kind });
  }
  obj(v: unknown, field: string, keys: string[]): Obj {
    if (v === undefined || v === null) return {};
    if (typeof v !== "object" || Array.isArray(v)) throw this.bad(field, v, "a mapping", "type");
    for (const k of Object.keys(v)) {
      if (!keys.includes(k)) throw this.bad(`${field}.${k}`, k, `one of ${keys.join(", ")}`);
    }
    return v as Obj;
  }
  num(v: unknown, field: string, def: number, min = 0, integer = false): number {
    if (v === undefined || v === null) return def;
    if (
      typeof v !== "number" || !Number.isFinite(v) || v < min || (integer && !Number.isInteger(v))
    ) {
      throw this.bad(field, v, `${integer ? "an integer" : "a number"} >= ${min}`);
    }
    return v;
  }
  optNum(v: unknown, field: string): number | null {
    return v === undefined || v === null ? null : this.num(v, field, 0, 0);
  }
}

const str = (r: Reader, v: unknown, field: string): string => {
  if (typeof v !== "string" || v === "") throw r.bad(field, v, "a non-empty string", "type");
  return v;
};

function readClock(r: Reader, v: unknown): "virtual" | "live" {
  if (v === undefined || v === null) return "virtual";
  if (v !== "virtual" && v !== "live") throw r.bad("clock", v, "virtual or live");
  return v;
}

/** Validates a parsed experiment object. */
export function validateExperiment(raw: unknown, file = "<experiment>"): Experiment {
  const r = new Reader(file);
  const top = r.obj(raw, "experiment", [
    "name",
    "description",
    "topologies",
    "speed",
    "clock",
    "router_hop_ms",
    "workload",
    "sweep",
    "slo",
    "target_pct",
    "plots",
  ]);
  const name = checkSafeName(str(r, top.name, "name"), "name", {
    file,
    what: "an experiment name",
  });
  if (!Array.isArray(top.topologies) || top.topologies.length === 0) {
    throw r.bad("topologies", top.topologies, "a non-empty list", "type");
  }
  const topologies = top.topologies.map((t, i) => {
    const o = r.obj(t, `topologies[${i}]`, ["label", "file", "vllm_file", "set"]);
    const set = r.obj(o.set, `topologies[${i}].set`, Object.keys(o.set ?? {}));
    return {
      sets: Object.entries(set).map(([k, v]) =>
        parseSet(`${k}=${JSON.stringify(v)}`, `topologies[${i}].set`)
      ),
      label: checkSafeName(str(r, o.label, `topologies[${i}].label`), `topologies[${i}].label`, {
        file,
      }),
      file: resolve(ROOT, str(r, o.file, `topologies[${i}].file`)),
      vllmFile: o.vllm_file === undefined
        ? null
        : resolve(ROOT, str(r, o.vllm_file, `topologies[${i}].vllm_file`)),
    };
  });
  const labels = topologies.map((t) => t.label);
  const dup = labels.find((l, i) => labels.indexOf(l) !== i);
  if (dup) throw r.bad("topologies[].label", dup, "unique labels");
  const workload = r.obj(top.workload, "workload", Object.keys(top.workload ?? {}));
  for (const [k, v] of Object.entries(workload)) {
    if (!["string", "number", "boolean"].includes(typeof v)) {
      throw r.bad(`workload.${k}`, v, "a string, number or boolean (a bench flag value)", "type");
    }
    if (["url", "out", "rate", "topology", "gpus", "runs", "time-scale"].includes(k)) {
      throw r.bad(`workload.${k}`, k, "a workload flag (the pipeline sets this one)");
    }
  }
  const sw = r.obj(top.sweep, "sweep", [
    "rates",
    "auto",
    "grid",
    "topology",
    "runs",
    "reset_prefix_cache",
    "stop",
  ]);
  const topoSweepRaw = r.obj(sw.topology, "sweep.topology", Object.keys(sw.topology ?? {}));
  const topoSweep: Record<string, unknown[]> = {};
  for (const [k, v] of Object.entries(topoSweepRaw)) {
    if (!Array.isArray(v) || v.length === 0) {
      throw r.bad(`sweep.topology.${k}`, v, "a non-empty list");
    }
    parseSet(`${k}=0`, `sweep.topology.${k}`); // the field path's form
    topoSweep[k] = v;
  }
  let rates: number[] | null;
  if (sw.rates === "auto") rates = null;
  else if (Array.isArray(sw.rates) && sw.rates.length > 0) {
    rates = sw.rates.map((x, i) => r.num(x, `sweep.rates[${i}]`, 0, 1e-9));
  } else throw r.bad("sweep.rates", sw.rates, 'a non-empty list of rates or "auto"', "type");
  const au = r.obj(sw.auto, "sweep.auto", ["probe_requests", "points", "max_fraction"]);
  const gridRaw = r.obj(sw.grid, "sweep.grid", ["concurrency", "input-len", "output-len", "turns"]);
  const grid: Record<string, (string | number)[]> = {};
  for (const [k, v] of Object.entries(gridRaw)) {
    if (!Array.isArray(v) || v.length === 0) throw r.bad(`sweep.grid.${k}`, v, "a non-empty list");
    grid[k] = v.map((x, i) => r.num(x, `sweep.grid.${k}[${i}]`, 0, 1, true));
  }
  const st = r.obj(sw.stop, "sweep.stop", ["max_error_rate", "max_p99_ttft_ms", "max_p99_e2el_ms"]);
  const slo = r.obj(top.slo, "slo", ["ttft_ms", "tpot_ms"]);
  const pl = r.obj(top.plots, "plots", ["formats", "compare", "log_y"]);
  const formats = (pl.formats ?? ["png", "svg"]) as unknown[];
  if (!Array.isArray(formats) || formats.some((f) => f !== "png" && f !== "svg")) {
    throw r.bad("plots.formats", pl.formats, "a list of png, svg");
  }
  const cmp = pl.compare;
  if (cmp !== undefined && (!Array.isArray(cmp) || cmp.length !== 2)) {
    throw r.bad("plots.compare", cmp, "two topology labels [A, B]");
  }
  return {
    name,
    description: typeof top.description === "string" ? top.description : "",
    file,
    topologies,
    speed: top.speed === undefined ? null : r.num(top.speed, "speed", 1, 0.01),
    clock: readClock(r, top.clock),
    routerHopMs: r.optNum(top.router_hop_ms, "router_hop_ms"),
    workload: workload as Experiment["workload"],
    sweep: {
      rates,
      auto: {
        probeRequests: r.num(au.probe_requests, "sweep.auto.probe_requests", 40, 1, true),
        points: r.num(au.points, "sweep.auto.points", 4, 1, true),
        maxFraction: r.num(au.max_fraction, "sweep.auto.max_fraction", 1.2, 0.01),
      },
      grid,
      topology: topoSweep,
      runs: r.num(sw.runs, "sweep.runs", 1, 1, true),
      resetPrefixCache: sw.reset_prefix_cache === undefined ? true : sw.reset_prefix_cache === true,
      stop: {
        maxErrorRate: r.num(st.max_error_rate, "sweep.stop.max_error_rate", 0.2, 0),
        maxP99TtftMs: r.optNum(st.max_p99_ttft_ms, "sweep.stop.max_p99_ttft_ms"),
        maxP99E2elMs: r.optNum(st.max_p99_e2el_ms, "sweep.stop.max_p99_e2el_ms"),
      },
    },
    slo: top.slo === undefined ? null : {
      ttftMs: r.optNum(slo.ttft_ms, "slo.ttft_ms") ?? undefined,
      tpotMs: r.optNum(slo.tpot_ms, "slo.tpot_ms") ?? undefined,
    },
    targetPct: r.num(top.target_pct, "target_pct", 90, 0),
    plots: {
      formats: formats as ("png" | "svg")[],
      compare: cmp ? [String(cmp[0]), String(cmp[1])] : null,
      logY: pl.log_y === true,
    },
  };
}

/** Reads and validates an experiment file. */
export async function loadExperiment(path: string): Promise<Experiment> {
  const file = resolve(path);
  let text: string;
  try {
    text = await readConfigText(file, "an experiment file");
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new TypeError(`Cannot read ${path} as an experiment file: current value is missing`);
    }
    throw e;
  }
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (e) {
    throw new SyntaxError(`Cannot parse ${path} as YAML: ${(e as Error).message.split("\n")[0]}`);
  }
  return await expandTopologySweep(validateExperiment(raw, file));
}

/**
 * One topology entry per combination of `sweep.topology` values, labelled
 * `<label>-<size>` from the topology as changed (`pd-2P1D-tp1`); the file is
 * read and validated for each, so a bad combination fails before anything runs.
 */
export async function expandTopologySweep(exp: Experiment): Promise<Experiment> {
  const fields = Object.entries(exp.sweep.topology);
  if (fields.length === 0) return exp;
  let combos: TopologySet[][] = [[]];
  for (const [k, vs] of fields) {
    combos = combos.flatMap((c) => vs.map((v) => [...c, { path: k.split("."), value: v }]));
  }
  const out: ExperimentTopology[] = [];
  for (const t of exp.topologies) {
    for (const c of combos) {
      const sets = [...t.sets, ...c];
      const size = sizeLabelOf(await loadTopologyWith(t.file, sets));
      let label = `${t.label}-${size}`;
      for (let k = 2; out.some((x) => x.label === label); k++) label = `${t.label}-${size}-${k}`;
      out.push({ ...t, label, sets });
    }
  }
  return { ...exp, topologies: out };
}

/** `slo` as the bench/compare flag `ttft:MS,tpot:MS`, or null. */
export function sloFlag(slo: Experiment["slo"]): string | null {
  if (!slo) return null;
  const parts = [];
  if (slo.ttftMs !== undefined) parts.push(`ttft:${slo.ttftMs}`);
  if (slo.tpotMs !== undefined) parts.push(`tpot:${slo.tpotMs}`);
  return parts.length ? parts.join(",") : null;
}
