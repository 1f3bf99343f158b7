/**
 * `step_terms.json` of a virtual run: per engine instance, where its simulated
 * step time went, term by term ({@linkcode StepTerms}: attention, KV reads,
 * dense GEMMs, weight reads, routed experts, all-to-all, tensor-parallel
 * all-reduces, overhead; they add up to the busy time), and the KV transfers
 * into it (disaggregated decode). Summed over the run's repeats. Written by
 * `predict` beside `summary.json`; `plan` reads it to say which cost binds
 * each deployment.
 *
 * @module
 */
import { join } from "node:path";
import { STEP_TERM_KEYS, type StepTerms } from "../../launch/sim/core/step_terms.ts";
import { zeroTerms } from "../../launch/sim/core/step_terms.ts";
import type { VirtualTopology } from "./virtual_topology.ts";
import { writeJsonAtomic } from "../../lib/write_file.ts";

/** The file's name in a run directory. */
export const STEP_TERMS_FILE = "step_terms.json";

/** One instance's steps and KV transfers over a run. */
export interface InstanceTerms {
  name: string;
  /** `backend`, `prefill`, `decode`, `encode`. */
  role: string;
  /** GPUs (tp × dp). */
  gpus: number;
  tp: number;
  dp: number;
  ep: boolean;
  /** Steps with work (a lockstep data-parallel group's steps counted once). */
  steps: number;
  /** Summed step time, simulated ms. */
  busy_ms: number;
  /** Each cost term summed, simulated ms (they add up to `busy_ms`). */
  terms_ms: StepTerms;
  /** KV transfers into it, and their summed time from booking to arrival, simulated ms. */
  kv_transfers: number;
  kv_transfer_ms: number;
}

/** `step_terms.json`. */
export interface StepTermsFile {
  clock: "virtual";
  /** Simulated ms the run(s) took. */
  simulated_ms: number;
  instances: InstanceTerms[];
}

/** The instances of `topo` as they stand after a run. */
export function instanceTerms(topo: VirtualTopology): InstanceTerms[] {
  return topo.instances.map((i) => {
    const t = i.engine.terms;
    return {
      name: i.name,
      role: i.role,
      gpus: i.cfg.tp * i.cfg.dp,
      tp: i.cfg.tp,
      dp: i.cfg.dp,
      ep: i.cfg.ep,
      steps: t.steps,
      busy_ms: t.busyMs,
      terms_ms: { ...t.ms },
      kv_transfers: i.link.transfers,
      kv_transfer_ms: i.link.transferMs,
    };
  });
}

/** Adds run `b`'s instances into `a`'s (the same topology, instance by instance). */
export function addRuns(a: InstanceTerms[] | null, b: InstanceTerms[]): InstanceTerms[] {
  if (!a) return b;
  return a.map((x, n) => {
    const y = b[n];
    const terms = zeroTerms();
    for (const k of STEP_TERM_KEYS) terms[k] = x.terms_ms[k] + y.terms_ms[k];
    return {
      ...x,
      steps: x.steps + y.steps,
      busy_ms: x.busy_ms + y.busy_ms,
      terms_ms: terms,
      kv_transfers: x.kv_transfers + y.kv_transfers,
      kv_transfer_ms: x.kv_transfer_ms + y.kv_transfer_ms,
    };
  });
}

/** Writes `step_terms.json` into `dir`. */
export function writeStepTerms(
  dir: string,
  instances: InstanceTerms[],
  simulatedMs: number,
): Promise<void> {
  const file: StepTermsFile = { clock: "virtual", simulated_ms: simulatedMs, instances };
  return writeJsonAtomic(join(dir, STEP_TERMS_FILE), file);
}

/** `step_terms.json` of run directory `dir`, or null when it has none (a live run, an older run). */
export function readStepTerms(dir: string): StepTermsFile | null {
  try {
    return JSON.parse(Deno.readTextFileSync(join(dir, STEP_TERMS_FILE))) as StepTermsFile;
  } catch {
    return null;
  }
}
