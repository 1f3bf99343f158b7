/**
 * The deployments `deno task plan` compares: every way the asked kinds use at
 * most the GPU budget `N` and leave fewer GPUs idle than one more instance
 * needs (dp: as many replicas of each TP as fit; pd and ppd: every split
 * `P·tp_prefill + D·tp_decode <= N` with each role's TP from the list; agg: one
 * engine of each listed TP), once per routing policy (dp) or KV connector (pd,
 * ppd) asked, each as the changes to a shipped topology file, less those whose
 * instances cannot hold the model (the KV pool the sim would size is empty).
 * Pure but for reading the profiles.
 *
 * @module
 */
import { CostModel } from "../../launch/sim/core/cost_model.ts";
import { resolve } from "node:path";
import { isGpuFile, isModelFile, loadGpu, loadModel } from "../../launch/sim/core/profile_files.ts";
import type { GpuProfile, ModelProfile } from "../../launch/sim/core/profiles.ts";
import type { Connector, Policy } from "../../lib/contracts.ts";
import type { RoleStepCost } from "./step_costs.ts";

/** Kinds plan searches. */
export const PLAN_KINDS = ["agg", "dp", "pd", "ppd", "epd"] as const;

/** One kind plan searches. */
export type PlanKind = typeof PLAN_KINDS[number];

/** The shipped topology each kind is sized from. */
export const KIND_FILES: Readonly<Record<PlanKind, string>> = {
  agg: "fixtures/topologies/sim_agg.yaml",
  dp: "fixtures/topologies/sim_dp.yaml",
  pd: "fixtures/topologies/sim_pd_1p1d.yaml",
  ppd: "fixtures/topologies/sim_ppd_1p1d.yaml",
  epd: "fixtures/topologies/sim_epd.yaml",
};

/**
 * Tensor-parallel size of an EPD encoder instance: one GPU (vision encoders
 * are small; vLLM's encoder-only instances of the EPD examples run TP 1).
 */
export const ENCODER_TP = 1;

/** What a plan asks for. */
export interface PlanQuestion {
  /** Model name (Hugging Face id) the topologies serve. */
  model: string;
  /** Model profile id or `config.json` path, when not found from the name. */
  modelProfile?: string;
  /** GPU profile id or YAML path. */
  gpu: string;
  /** The GPU budget. */
  gpus: number;
  kinds: PlanKind[];
  /** Tensor-parallel sizes per instance to try. */
  tps: number[];
  /**
   * Data-parallel ranks per instance to try (an MoE model's `dp`: each rank its own
   * scheduler and KV cache, the expert layers over all dp × tp GPUs). @default [1]
   */
  dps?: number[];
  /** Expert parallelism on instances of dp > 1 (`ep: true`). @default true */
  ep?: boolean;
  /** dp routing policies to compare. @default the pipeline's (session on multi-turn traffic) */
  policies?: Policy[];
  /** KV connectors to compare for pd and ppd. @default the topology's (nixl) */
  connectors?: Connector[];
}

/** One deployment to measure. */
export interface Candidate {
  /** `dp-8`, `dp-4-tp2`, `pd-3P5D`, `ppd-2P3D-tp1_2`, `agg-tp2`. */
  label: string;
  kind: PlanKind;
  /** Topology file it is sized from. */
  file: string;
  /** Field changes (dotted paths), as an experiment entry's `set`. */
  set: Record<string, string | number | boolean>;
  gpus: number;
}

/** A candidate that was left out, and why. */
export interface Pruned {
  label: string;
  why: string;
  /** Left out after one point: its offered rate and the share of requests within the SLO there. */
  at?: { rate: number; attainment: number };
  /** Left out after one point: where its step time went there (`step_costs.ts`). */
  step_costs?: RoleStepCost[] | null;
}

/** One instance's parallel layout: `tp` GPUs per rank, `dp` ranks (`ep`: experts sharded over them). */
export interface InstanceShape {
  tp: number;
  dp: number;
  ep: boolean;
}

/** GPUs of one instance of shape `s`. */
const gpusOf = (s: InstanceShape) => s.tp * s.dp;

/** Null when one instance of shape `s` holds the model with room for KV (vLLM's sizing), else why not. */
function holds(gpu: GpuProfile, model: ModelProfile, s: InstanceShape): string | null {
  try {
    new CostModel({ gpu, model, tp: s.tp, dp: s.dp, ep: s.ep }).numGpuBlocks(0.9, 16);
    return null;
  } catch (e) {
    if (s.dp > 1 && !/gpu-memory-utilization/.test((e as Error).message)) {
      return `${shapeName(s)}: ${(e as Error).message}`;
    }
    const gib = model.weightBytes / gpusOf(s) / 2 ** 30;
    return `one instance of ${shapeName(s)} cannot hold ${model.id}: ${
      gib.toFixed(1)
    } GiB of weights per GPU leave no room for KV in 90% of the ${gpu.id}'s ${gpu.memGiB} GiB`;
  }
}

/** `TP 8`, `DP 16 + EP`, `DP 2 x TP 4`. */
function shapeName(s: InstanceShape): string {
  if (s.dp === 1) return `TP ${s.tp}`;
  return `DP ${s.dp}${s.tp > 1 ? ` x TP ${s.tp}` : ""}${s.ep ? " + EP" : ""}`;
}

/** A shape's label part: `tp8`, `dep16` (DP 16 with EP, as llm-d names it), `dp2`, `tp2dep8`; `tp1` for one GPU. */
function shapeTag(s: InstanceShape): string {
  const tp = s.tp > 1 || s.dp === 1 ? `tp${s.tp}` : "";
  return s.dp === 1 ? tp : `${tp}${s.ep ? "dep" : "dp"}${s.dp}`;
}

/** The label suffix of the shapes of a candidate's roles (`-tp2`, `-tp1_2`, `-dep8`, `-tp8_dep8`; none at TP 1). */
function shapesTag(shapes: InstanceShape[]): string {
  if (shapes.every((s) => s.tp === 1 && s.dp === 1)) return "";
  const same = shapes.every((s) => shapeTag(s) === shapeTag(shapes[0]));
  if (shapes.every((s) => s.dp === 1)) {
    return `-tp${(same ? [shapes[0]] : shapes).map((s) => s.tp).join("_")}`;
  }
  return `-${(same ? [shapes[0]] : shapes).map(shapeTag).join("_")}`;
}

/** The field changes that size `role` to `count` instances of shape `s`. */
function roleSet(role: string, count: number | null, s: InstanceShape) {
  return {
    ...(count === null ? {} : { [`${role}.count`]: count }),
    [`${role}.tp`]: s.tp,
    ...(s.dp > 1 ? { [`${role}.dp`]: s.dp, [`${role}.ep`]: s.ep } : {}),
  };
}

/** The label and sets of a pd/ppd split. */
function split(
  kind: PlanKind,
  p: number,
  d: number,
  sP: InstanceShape,
  sD: InstanceShape,
): Candidate {
  return {
    label: `${kind}-${p}P${d}D${shapesTag([sP, sD])}`,
    kind,
    file: KIND_FILES[kind],
    set: { ...roleSet("prefill", p, sP), ...roleSet("decode", d, sD) },
    gpus: p * gpusOf(sP) + d * gpusOf(sD),
  };
}

/**
 * Every P+D split of at most `n` GPUs with these role shapes that leaves no room
 * for one more instance of either role (that instance would only add capacity).
 */
function splits(kind: PlanKind, n: number, sP: InstanceShape, sD: InstanceShape): Candidate[] {
  const out: Candidate[] = [];
  const gP = gpusOf(sP);
  const gD = gpusOf(sD);
  for (let p = 1; p * gP + gD <= n; p++) {
    const d = Math.floor((n - p * gP) / gD);
    if (n - p * gP - d * gD < Math.min(gP, gD)) out.push(split(kind, p, d, sP, sD));
  }
  return out;
}

/** Every E+P+D split of at most `n` GPUs (encoders of {@linkcode ENCODER_TP}) leaving no room for one more instance. */
function epdSplits(n: number, sP: InstanceShape, sD: InstanceShape): Candidate[] {
  const out: Candidate[] = [];
  for (let e = 1; e * ENCODER_TP + gpusOf(sP) + gpusOf(sD) <= n; e++) {
    for (const c of splits("epd", n - e * ENCODER_TP, sP, sD)) {
      if (n - e * ENCODER_TP - c.gpus >= ENCODER_TP) continue; // room for another encoder
      out.push({
        ...c,
        label: c.label.replace(/^epd-/, `epd-${e}E`),
        set: { "encode.count": e, "encode.tp": ENCODER_TP, ...c.set },
        gpus: c.gpus + e * ENCODER_TP,
      });
    }
  }
  return out;
}

/**
 * Every size of `kind` on at most `n` GPUs with instances of `shapes`: as many
 * replicas as fit (dp; fewer replicas are a copy of it at a smaller scale), an
 * engine of each shape (agg), every split that leaves no room for another
 * instance (pd, ppd). The GPUs left idle are fewer than one instance needs.
 */
function sizes(kind: PlanKind, n: number, shapes: InstanceShape[]): Candidate[] {
  const file = KIND_FILES[kind];
  const fit = shapes.filter((s) => gpusOf(s) <= n);
  if (kind === "agg") {
    return fit.map((s) => ({
      label: `agg${shapesTag([s])}`,
      kind,
      file,
      set: roleSet("server", null, s),
      gpus: gpusOf(s),
    }));
  }
  if (kind === "dp") {
    return fit.map((s) => {
      const count = Math.floor(n / gpusOf(s));
      return {
        label: `dp-${count}${shapesTag([s])}`,
        kind,
        file,
        set: roleSet("replicas", count, s),
        gpus: count * gpusOf(s),
      };
    });
  }
  const split = kind === "epd"
    ? epdSplits
    : (m: number, p: InstanceShape, d: InstanceShape) => splits(kind, m, p, d);
  return fit.flatMap((sP) => fit.flatMap((sD) => split(n, sP, sD)));
}

/**
 * The instance shapes of `q`: every TP with one rank, and on an MoE model every
 * TP with each data-parallel size asked (a dense model's ranks would only be
 * replicas, which dp already searches).
 */
export function instanceShapes(q: PlanQuestion, model: ModelProfile): InstanceShape[] {
  const dps = model.moe ? [...new Set(q.dps ?? [1])] : [1];
  const ep = q.ep ?? true;
  return dps.flatMap((dp) => q.tps.map((tp) => ({ tp, dp, ep: dp > 1 && ep })));
}

/** `c` once per routing policy (dp) or KV connector (pd, ppd) asked, labelled by it. */
function variants(c: Candidate, q: PlanQuestion): Candidate[] {
  const [field, values, first] = c.kind === "dp"
    ? ["router.policy", q.policies ?? [], undefined]
    : c.kind === "pd" || c.kind === "ppd" || c.kind === "epd"
    ? ["connector", q.connectors ?? [], "nixl"]
    : ["", [], undefined];
  if (!values.length) return [c];
  return values.map((v) => ({
    ...c,
    label: v === first ? c.label : `${c.label}-${v.replace("_", "")}`,
    set: { ...c.set, [field]: v },
  }));
}

/**
 * A single engine is listed once: as agg when agg is asked, else as dp-1; and
 * an agg engine that dp runs as several replicas is left to dp (a copy of it).
 */
function listedTwice(c: Candidate, q: PlanQuestion): boolean {
  if (c.kind === "dp") return c.set["replicas.count"] === 1 && q.kinds.includes("agg");
  if (c.kind !== "agg" || !q.kinds.includes("dp")) return false;
  return Math.floor(q.gpus / c.gpus) > 1;
}

/** The candidates of `q`, and those left out with why (an instance that cannot hold the model). */
export function planCandidates(q: PlanQuestion): { candidates: Candidate[]; pruned: Pruned[] } {
  const gpu = loadGpu(q.gpu);
  const model = loadModel(q.modelProfile ?? q.model);
  const shapes = instanceShapes(q, model);
  const fits = new Map(shapes.map((s) => [shapeTag(s), holds(gpu, model, s)]));
  // files as absolute paths: a topology resolves relative ones against its own folder
  const common = {
    model: q.model,
    "sim.gpu": isGpuFile(q.gpu) ? resolve(q.gpu) : q.gpu,
    ...(q.modelProfile
      ? {
        "sim.model_profile": isModelFile(q.modelProfile) ? resolve(q.modelProfile) : q.modelProfile,
      }
      : {}),
  };
  const candidates: Candidate[] = [];
  const pruned: Pruned[] = [];
  for (const kind of q.kinds) {
    for (const c of sizes(kind, q.gpus, shapes).flatMap((x) => variants(x, q))) {
      if (listedTwice(c, q)) continue;
      const why = candidateShapes(c).map((s) => fits.get(shapeTag(s)) ?? holds(gpu, model, s))
        .find((w) => w);
      if (why) pruned.push({ label: c.label, why });
      else candidates.push({ ...c, set: { ...common, ...c.set } });
    }
  }
  return { candidates, pruned };
}

/** The instance shapes of a candidate's roles, from its sets. */
export function candidateShapes(c: Candidate): InstanceShape[] {
  const roles = Object.keys(c.set).filter((k) => k.endsWith(".tp")).map((k) => k.slice(0, -3));
  return roles.map((r) => {
    const dp = Number(c.set[`${r}.dp`] ?? 1);
    return { tp: Number(c.set[`${r}.tp`]), dp, ep: c.set[`${r}.ep`] === true };
  });
}

/**
 * The smallest instance of `q`'s model on its GPU that holds the model with
 * room for KV (fewest GPUs; tensor parallel before DP + EP), within `q.gpus`;
 * null when none does. For the one-line summary of what could not hold it.
 */
export function smallestHolding(q: PlanQuestion): string | null {
  const gpu = loadGpu(q.gpu);
  const model = loadModel(q.modelProfile ?? q.model);
  for (let n = 1; n <= q.gpus; n *= 2) {
    const shapes: InstanceShape[] = [{ tp: n, dp: 1, ep: false }];
    if (model.moe && n > 1) shapes.push({ tp: 1, dp: n, ep: true });
    const fit = shapes.find((s) => holds(gpu, model, s) === null);
    if (fit) return `${shapeName(fit)} (${fit.dp > 1 ? `--tp 1 --dp ${n}` : `--tp ${n}`})`;
  }
  return null;
}
