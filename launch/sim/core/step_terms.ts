/**
 * The step-time model's terms, one record ({@linkcode StepTerms}: attention,
 * KV reads, dense GEMMs, weight reads, routed experts, all-to-all, tensor-parallel
 * all-reduces, overhead) that each step's {@linkcode StepBreakdown} carries and
 * that adds up to the step's time; and their totals over a run
 * ({@linkcode StepTermTotals}), which virtual runs write as `step_terms.json`
 * so that a report can say which cost binds a deployment.
 *
 * @module
 */
import type { StepBreakdown } from "./cost_model.ts";

/** One step's time by cost term, ms; the terms add up to the step's total. */
export interface StepTerms {
  /** Attention FLOPs (DeepSeek's sparse attention and its indexer included). */
  attentionMs: number;
  /** Reading the context KV of every sequence. */
  kvReadMs: number;
  /** Dense GEMMs: projections, dense and shared-expert MLPs, routers, LM head. */
  denseGemmMs: number;
  /** Reading the dense weights once, where that binds rather than the FLOPs. */
  weightReadMs: number;
  /** The routed experts' grouped GEMMs (or their weight reads) on the busiest GPU. */
  expertMs: number;
  /** Moving tokens to and from the experts across data-parallel ranks (the all2all backend). */
  all2allMs: number;
  /** Tensor-parallel all-reduces. */
  tpCommMs: number;
  /** Fixed and per-sequence CPU/launch overhead. */
  overheadMs: number;
}

/** Term names of {@linkcode StepTerms}, in report order. */
export const STEP_TERM_KEYS = [
  "attentionMs",
  "kvReadMs",
  "denseGemmMs",
  "weightReadMs",
  "expertMs",
  "all2allMs",
  "tpCommMs",
  "overheadMs",
] as const satisfies readonly (keyof StepTerms)[];

/** A step of no work, every term 0. */
export function zeroTerms(): StepTerms {
  return {
    attentionMs: 0,
    kvReadMs: 0,
    denseGemmMs: 0,
    weightReadMs: 0,
    expertMs: 0,
    all2allMs: 0,
    tpCommMs: 0,
    overheadMs: 0,
  };
}

/** Steps of one engine (or data-parallel group) and their time by term, summed. */
export class StepTermTotals {
  /** Steps with work. */
  steps = 0;
  /** Their summed step time (before step-time noise), ms. */
  busyMs = 0;
  /** Each term summed, ms. */
  readonly ms: StepTerms = zeroTerms();

  /** Adds one step's breakdown (a step of no work adds nothing). */
  add(b: StepBreakdown): void {
    if (b.totalMs === 0) return;
    this.steps++;
    this.busyMs += b.totalMs;
    addTerms(this.ms, b.terms);
  }

  /** Adds another total (the ranks of a group that do not step together). */
  addAll(o: StepTermTotals): void {
    this.steps += o.steps;
    this.busyMs += o.busyMs;
    addTerms(this.ms, o.ms);
  }
}

/** `into` += `t`, term by term (written out: a loop over the keys is a keyed look-up per term, per step). */
function addTerms(into: StepTerms, t: StepTerms): void {
  into.attentionMs += t.attentionMs;
  into.kvReadMs += t.kvReadMs;
  into.denseGemmMs += t.denseGemmMs;
  into.weightReadMs += t.weightReadMs;
  into.expertMs += t.expertMs;
  into.all2allMs += t.all2allMs;
  into.tpCommMs += t.tpCommMs;
  into.overheadMs += t.overheadMs;
}
