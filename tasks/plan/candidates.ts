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
  set: Record<string, string | number>;
  gpus: number;
}

/** A candidate that was left out, and why. */
export interface Pruned {
  label: string;
  why: string;
  /** Left out after one point: its offered rate and the share of requests within the SLO there. */
  at?: { rate: number; attainment: number };
}

/** Null when one instance of `tp` GPUs holds the model with room for KV (vLLM's sizing), else why not. */
function holds(gpu: GpuProfile, model: ModelProfile, tp: number): string | null {
  try {
    new CostModel({ gpu, model, tp }).numGpuBlocks(0.9, 16);
    return null;
  } catch {
    const gib = model.weightBytes / tp / 2 ** 30;
    return `one instance of TP ${tp} cannot hold ${model.id}: ${
      gib.toFixed(1)
    } GiB of weights per GPU leave no room for KV in 90% of the ${gpu.id}'s ${gpu.memGiB} GiB`;
  }
}

const tpTag = (tps: number[]) => tps.every((t) => t === 1) ? "" : `-tp${tps.join("_")}`;

/** The label and sets of a pd/ppd split. */
function split(kind: PlanKind, p: number, d: number, tpP: number, tpD: number): Candidate {
  const tags = tpP === tpD ? [tpP] : [tpP, tpD];
  return {
    label: `${kind}-${p}P${d}D${tpTag(tags)}`,
    kind,
    file: KIND_FILES[kind],
    set: { "prefill.count": p, "prefill.tp": tpP, "decode.count": d, "decode.tp": tpD },
    gpus: p * tpP + d * tpD,
  };
}

/**
 * Every P+D split of at most `n` GPUs with these role TPs that leaves no room
 * for one more instance of either role (that instance would only add capacity).
 */
function splits(kind: PlanKind, n: number, tpP: number, tpD: number): Candidate[] {
  const out: Candidate[] = [];
  for (let p = 1; p * tpP + tpD <= n; p++) {
    const d = Math.floor((n - p * tpP) / tpD);
    if (n - p * tpP - d * tpD < Math.min(tpP, tpD)) out.push(split(kind, p, d, tpP, tpD));
  }
  return out;
}

/** Every E+P+D split of at most `n` GPUs (encoders of {@linkcode ENCODER_TP}) leaving no room for one more instance. */
function epdSplits(n: number, tpP: number, tpD: number): Candidate[] {
  const out: Candidate[] = [];
  for (let e = 1; e * ENCODER_TP + tpP + tpD <= n; e++) {
    for (const c of splits("epd", n - e * ENCODER_TP, tpP, tpD)) {
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
 * Every size of `kind` on at most `n` GPUs with instance TPs from `tps`: as many
 * replicas as fit (dp; fewer replicas are a copy of it at a smaller scale), an
 * engine of each TP (agg), every split that leaves no room for another instance
 * (pd, ppd). The GPUs left idle are fewer than one instance needs.
 */
function sizes(kind: PlanKind, n: number, tps: number[]): Candidate[] {
  const file = KIND_FILES[kind];
  const fit = tps.filter((tp) => tp <= n);
  if (kind === "agg") {
    return fit.map((tp) => ({
      label: `agg${tpTag([tp])}`,
      kind,
      file,
      set: { "server.tp": tp },
      gpus: tp,
    }));
  }
  if (kind === "dp") {
    return fit.map((tp) => {
      const count = Math.floor(n / tp);
      return {
        label: `dp-${count}${tpTag([tp])}`,
        kind,
        file,
        set: { "replicas.count": count, "replicas.tp": tp },
        gpus: count * tp,
      };
    });
  }
  const split = kind === "epd"
    ? epdSplits
    : (m: number, p: number, d: number) => splits(kind, m, p, d);
  return fit.flatMap((tpP) => fit.flatMap((tpD) => split(n, tpP, tpD)));
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
  const fits = new Map(q.tps.map((tp) => [tp, holds(gpu, model, tp)]));
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
    for (const c of sizes(kind, q.gpus, q.tps).flatMap((x) => variants(x, q))) {
      if (listedTwice(c, q)) continue;
      const tps = Object.entries(c.set).filter(([k]) => k.endsWith(".tp")).map(([, v]) => +v);
      const why = tps.map((tp) => fits.get(tp) ?? holds(gpu, model, tp)).find((w) => w);
      if (why) pruned.push({ label: c.label, why });
      else candidates.push({ ...c, set: { ...common, ...c.set } });
    }
  }
  return { candidates, pruned };
}
