/**
 * Experiment files (`tasks/experiments/*.yaml`): which topologies to launch, the
 * workload (bench flags), the sweep (rates or auto, grid, runs, early stop), the
 * SLO and the plots. Loaded, validated and resolved against command-line
 * overrides (`--speed`, `--engine vllm --model M`).
 *
 * @module
 */
import { parseSet, type TopologySet } from "../launch/topology_set.ts";
import { ATTAINMENT_RULE, type Slo } from "../lib/metrics.ts";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parse as parseYaml } from "yaml";
import { isMapping, type Key, Reader, type ReaderStyle } from "../lib/schema.ts";
import { fieldError } from "../lib/errors.ts";
import { checkSafeName } from "../lib/safe_name.ts";
import { readConfigText } from "../lib/read_config.ts";
import { expandTopologySweep, resolveRouting } from "./_topology_sweep.ts";
import { AUTOSCALE_KEYS, type AutoscaleSpec, readAutoscale } from "../lib/autoscale.ts";
import { EVENT_KEYS, readEvents, type ScenarioEvent } from "../lib/scenario_events.ts";

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
  /**
   * The router's policy as it runs (`router.policy` after every change, with
   * role policies that differ: `round_robin (decode: session)`), or null
   * before the file is read (`validateExperiment` alone). @default null
   */
  routerPolicy: string | null;
  /**
   * Whether topobench chose `routerPolicy` (session routing for a dp topology
   * on a multi-turn workload whose experiment does not set `router.policy`). @default false
   */
  routerPolicyDefaulted: boolean;
  /** An autoscaler in the loop (`autoscale:`, virtual time only; `lib/autoscale.ts`). @default null */
  autoscale: AutoscaleSpec | null;
}

/** `sweep.topology.budget`: every size of the listed topologies using exactly `gpus` GPUs. */
export interface TopologyBudget {
  /** GPUs every size uses. */
  gpus: number;
  /** Labels of the topologies sized; null for all. @default null */
  kinds: string[] | null;
}

/** Auto sweep settings: a saturating probe, then rates spaced up to the measured capacity. */
export interface AutoSweep {
  /** Requests (conversations) of the probe at rate inf. @default 40 */
  probeRequests: number;
  /** Rate points. @default 4 */
  points: number;
  /** Stop narrowing a bracket when failing / passing rate ≤ this. @default 1.15 */
  resolution: number;
  /** At most this many search points per topology. @default 12 */
  maxSearchPoints: number;
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
   * combination, labelled `<label>-<size>` (`pd-2P1D-tp1`); `budget` and
   * `kinds` of the same mapping are {@linkcode SweepSpec.budget}. @default {}
   */
  topology: Record<string, unknown[]>;
  /** `sweep.topology: { budget, kinds }`: sizes of a GPU budget, after the fields. @default null */
  budget: TopologyBudget | null;
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
  /** SLO attainment target, percent (`attainment:` in the file). @default 90 */
  targetPct: number;
  /**
   * Fault and scaling events of every load point (`events:`), in time order
   * (`lib/scenario_events.ts`). @default []
   */
  events: ScenarioEvent[];
  /** Plot options. */
  plots: { formats: ("png" | "svg")[]; compare: [string, string] | null; logY: boolean };
}

/** The experiment file's wording. */
const STYLE: ReaderStyle = {
  unknownKey: (allowed) => `one of ${allowed.join(", ")}`,
  showKey: true,
  mapping: () => "a mapping",
  nullIsAbsent: true,
  fractionKind: "range",
};
/**
 * Every key an experiment file may hold, by block (the field path with `[]`
 * for list items); `sweep.topology` also takes topology field paths, and
 * `workload` and `topologies[].set` any key. The JSON schema
 * (`tasks/experiments/experiment.schema.json`) is tested against this.
 */
export const EXPERIMENT_KEYS = {
  "": [
    "name",
    "description",
    "topologies",
    "speed",
    "clock",
    "router_hop_ms",
    "workload",
    "sweep",
    "slo",
    "attainment",
    "events",
    "plots",
  ],
  "topologies[]": ["label", "file", "vllm_file", "set", "autoscale"],
  "topologies[].autoscale": AUTOSCALE_KEYS,
  sweep: ["rates", "auto", "grid", "topology", "runs", "reset_prefix_cache", "stop"],
  "sweep.auto": ["probe_requests", "points", "resolution", "max_search_points"],
  "sweep.grid": ["concurrency", "input-len", "output-len", "turns"],
  "sweep.topology": ["budget", "kinds"],
  "sweep.stop": ["max_error_rate", "max_p99_ttft_ms", "max_p99_e2el_ms"],
  slo: ["ttft_ms", "tpot_ms"],
  plots: ["formats", "compare", "log_y"],
  "events[]": EVENT_KEYS,
} as const;
const K = EXPERIMENT_KEYS;
/** Bench flags the pipeline sets itself. */
const PIPELINE_FLAGS = ["url", "out", "rate", "topology", "gpus", "runs", "time-scale"];

const isText = (v: unknown) => typeof v === "string" && v !== "";
const text = (r: Reader, key: Key): string => r.check(key, isText, "a non-empty string", "type");

/** Keys of earlier versions, each with the key (and form) that replaced it. */
const RENAMED: Record<string, string> = {
  target_pct: "attainment (percent of requests within the SLO, e.g. attainment: 90)",
};

/** Validates a parsed experiment object. */
export function validateExperiment(raw: unknown, file = "<experiment>"): Experiment {
  for (const [old, now] of Object.entries(RENAMED)) {
    if (isMapping(raw) && old in raw) {
      throw fieldError({
        field: old,
        value: raw[old],
        expected: `a known key: it is now ${now}`,
        file,
      });
    }
  }
  const r = Reader.root(file, raw, K[""], { style: STYLE, field: "experiment" });
  const name = checkSafeName(text(r, "name"), "name", { file, what: "an experiment name" });
  const topologies = readTopologies(r);
  const workload = readWorkload(r);
  const sw = r.obj("sweep", K.sweep);
  const shape = readSweepShape(sw, topologies.map((t) => t.label));
  const slo = r.obj("slo", K.slo);
  const plots = readPlots(r);
  const description = r.value("description");
  const events = readEvents(r);
  return {
    name,
    description: typeof description === "string" ? description : "",
    file,
    topologies,
    speed: r.value("speed") === undefined ? null : r.atLeast("speed", 0.01) ?? 1,
    clock: r.oneOf("clock", ["virtual", "live"] as const, "virtual or live") ?? "virtual",
    routerHopMs: r.atLeast("router_hop_ms", 0) ?? null,
    workload,
    sweep: readSweepSettings(sw, shape),
    slo: r.value("slo") === undefined ? null : {
      ttftMs: slo.atLeast("ttft_ms", 0),
      tpotMs: slo.atLeast("tpot_ms", 0),
    },
    targetPct: r.absent("attainment")
      ? 90
      : r.check<number>("attainment", (v) =>
        typeof v === "number" && v >= 1 && v <= 100, ATTAINMENT_RULE),
    events,
    plots,
  };
}

function readTopologies(r: Reader): ExperimentTopology[] {
  const list = r.list("topologies", "a non-empty list");
  const topologies = list.indices().map((i) => {
    const t = list.obj(i, K["topologies[]"]);
    const set = t.obj("set");
    return {
      sets: set.entries().map(([k, v]) => parseSet(`${k}=${JSON.stringify(v)}`, set.path)),
      label: checkSafeName(text(t, "label"), t.at("label"), { file: r.file }),
      file: resolve(ROOT, text(t, "file")),
      vllmFile: t.value("vllm_file") === undefined ? null : resolve(ROOT, text(t, "vllm_file")),
      routerPolicy: null,
      routerPolicyDefaulted: false,
      autoscale: readAutoscale(t),
    };
  });
  const labels = topologies.map((t) => t.label);
  const dup = labels.find((l, i) => labels.indexOf(l) !== i);
  if (dup) throw r.fail("topologies[].label", dup, "unique labels");
  return topologies;
}

function readWorkload(r: Reader): Experiment["workload"] {
  const w = r.obj("workload");
  for (const [k, v] of w.entries()) {
    if (!["string", "number", "boolean"].includes(typeof v)) {
      throw w.fail(k, v, "a string, number or boolean (a bench flag value)", "type");
    }
    if (PIPELINE_FLAGS.includes(k)) {
      throw w.fail(k, k, "a workload flag (the pipeline sets this one)");
    }
  }
  return w.raw as Experiment["workload"];
}

/** The sweep's lists (checked before any of the experiment's numbers, as they always were). */
interface SweepShape {
  topology: Record<string, unknown[]>;
  budget: TopologyBudget | null;
  rates: number[] | null;
  auto: Reader;
  grid: Record<string, (string | number)[]>;
  stop: Reader;
}

/** `sweep.topology`: field paths with value lists, and `budget` with `kinds` (topology labels). */
function readTopologySweep(sw: Reader, labels: string[]) {
  const ts = sw.obj("topology");
  const topology: Record<string, unknown[]> = {};
  for (const [k] of ts.entries()) {
    if ((K["sweep.topology"] as readonly string[]).includes(k)) continue;
    topology[k] = ts.list(k, "a non-empty list", "range").raw as unknown[];
    parseSet(`${k}=0`, ts.at(k)); // the field path's form
  }
  const gpus = ts.atLeast("budget", 1, true);
  let kinds: string[] | null = null;
  if (!ts.absent("kinds")) {
    if (gpus === undefined) throw ts.fail("kinds", ts.value("kinds"), "absent without budget");
    const list = ts.list("kinds", `a non-empty list of topology labels (${labels.join(", ")})`);
    kinds = list.indices().map((i) =>
      list.check<string>(i, (v) => labels.includes(v as string), `one of ${labels.join(", ")}`)
    );
  }
  return { topology, budget: gpus === undefined ? null : { gpus, kinds } };
}

function readSweepShape(sw: Reader, labels: string[]): SweepShape {
  const { topology, budget } = readTopologySweep(sw, labels);
  let rates: number[] | null = null;
  if (sw.value("rates") !== "auto") {
    const list = sw.list("rates", 'a non-empty list of rates or "auto"');
    rates = list.indices().map((i) => list.atLeast(i, 1e-9) ?? 0);
  }
  const auto = sw.obj("auto", K["sweep.auto"]);
  const g = sw.obj("grid", K["sweep.grid"]);
  const grid: Record<string, (string | number)[]> = {};
  for (const [k] of g.entries()) {
    const list = g.list(k, "a non-empty list", "range");
    grid[k] = list.indices().map((i) => list.atLeast(i, 1, true) ?? 0);
  }
  const stop = sw.obj("stop", K["sweep.stop"]);
  return { topology, budget, rates, auto, grid, stop };
}

function readSweepSettings(sw: Reader, { rates, auto, grid, topology, budget, stop }: SweepShape) {
  return {
    rates,
    auto: {
      probeRequests: auto.atLeast("probe_requests", 1, true) ?? 40,
      points: auto.atLeast("points", 1, true) ?? 4,
      resolution: auto.atLeast("resolution", 1.01) ?? 1.15,
      maxSearchPoints: auto.atLeast("max_search_points", 2, true) ?? 12,
    },
    grid,
    topology,
    budget,
    runs: sw.atLeast("runs", 1, true) ?? 1,
    resetPrefixCache: sw.value("reset_prefix_cache") === undefined
      ? true
      : sw.value("reset_prefix_cache") === true,
    stop: {
      maxErrorRate: stop.atLeast("max_error_rate", 0) ?? 0.2,
      maxP99TtftMs: stop.atLeast("max_p99_ttft_ms", 0) ?? null,
      maxP99E2elMs: stop.atLeast("max_p99_e2el_ms", 0) ?? null,
    },
  };
}

function readPlots(r: Reader): Experiment["plots"] {
  const pl = r.obj("plots", K.plots);
  const formats = (pl.value("formats") ?? ["png", "svg"]) as unknown[];
  if (!Array.isArray(formats) || formats.some((f) => f !== "png" && f !== "svg")) {
    throw pl.fail("formats", pl.value("formats"), "a list of png, svg");
  }
  const cmp = pl.value("compare");
  if (cmp !== undefined && (!Array.isArray(cmp) || cmp.length !== 2)) {
    throw pl.fail("compare", cmp, "two topology labels [A, B]");
  }
  return {
    formats: formats as ("png" | "svg")[],
    compare: cmp ? [String(cmp[0]), String(cmp[1])] : null,
    logY: pl.value("log_y") === true,
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
  return await resolveRouting(await expandTopologySweep(validateExperiment(raw, file)));
}

/** `slo` as the bench/compare flag `ttft:MS,tpot:MS`, or null. */
export function sloFlag(slo: Experiment["slo"]): string | null {
  if (!slo) return null;
  const parts = [];
  if (slo.ttftMs !== undefined) parts.push(`ttft:${slo.ttftMs}`);
  if (slo.tpotMs !== undefined) parts.push(`tpot:${slo.tpotMs}`);
  return parts.length ? parts.join(",") : null;
}
