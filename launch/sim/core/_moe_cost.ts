/**
 * The mixture-of-experts terms of the step-time model (private to the cost
 * model): the routed experts' grouped GEMMs of one step and the collectives
 * that move tokens to them across a data-parallel group.
 *
 * The expert layers of an instance with `dp` ranks of `tp` GPUs form one group
 * of `dp * tp` GPUs, as vLLM builds it ("the expert layers form a (DP x TP)
 * sized tensor parallel group", vLLM's data-parallel deployment docs): with
 * `--enable-expert-parallel` each GPU holds `experts / (dp * tp)` whole experts,
 * without it a `1 / (dp * tp)` slice of every expert. Every step the tokens of
 * all ranks meet there (idle ranks run dummy steps), so the expert part of a
 * step depends on the whole group's tokens, the attention part on each rank's own.
 *
 * @module
 */
import type { MoeProfile } from "./profiles.ts";

/** What the expert part of a step needs to know about the instance. */
export interface MoeShape {
  moe: MoeProfile;
  hidden: number;
  /** GPUs the expert layers span (dp * tp). */
  groupGpus: number;
  /** Whole experts per GPU (expert parallel) rather than a slice of each. */
  ep: boolean;
  /** Bytes per weight. */
  weightBytes: number;
  /** Bytes/ms of one GPU's memory. */
  memBytesPerMs: number;
  /** GEMM FLOPs/ms of one GPU. */
  flopsPerMs: number;
  /**
   * Tokens the busiest GPU gets over the mean (routing is not uniform; EPLB
   * narrows it). 1 = uniform.
   */
  imbalance: number;
}

/** Parameters of the routed experts (gate, up and down projections of every expert in every MoE layer). */
export function routedExpertParams(moe: MoeProfile, hidden: number): number {
  return moe.moeLayers * moe.experts * 3 * hidden * moe.expertIntermediate;
}

/**
 * Routed experts a step of `tokens` tokens touches, in expectation, when each
 * token picks `k` of `e` experts uniformly: `e * (1 - (1 - k/e)^tokens)`.
 */
export function expertsTouched(e: number, k: number, tokens: number): number {
  if (tokens <= 0) return 0;
  return e * (1 - Math.pow(1 - k / e, tokens));
}

/**
 * Time of the routed experts on the busiest GPU for a step of `tokens` tokens
 * over the whole group, ms: the larger of reading the touched experts' weights
 * and their GEMM FLOPs (a grouped GEMM is one kernel of either kind).
 */
export function expertMs(s: MoeShape, tokens: number): number {
  if (tokens <= 0) return 0;
  const { moe, hidden, groupGpus } = s;
  const perExpert = 3 * hidden * moe.expertIntermediate;
  const touched = expertsTouched(moe.experts, moe.expertsPerToken, tokens) / groupGpus;
  const assignments = tokens * moe.expertsPerToken / groupGpus;
  // expert parallel: the busiest GPU's experts get `imbalance` x the mean; sliced
  // experts share every token evenly
  const load = s.ep ? Math.min(groupGpus, s.imbalance) : 1;
  const readMs = moe.moeLayers * Math.min(moe.experts / groupGpus, touched * load) * perExpert *
    s.weightBytes / s.memBytesPerMs;
  const computeMs = moe.moeLayers * 2 * perExpert * assignments * load / s.flopsPerMs;
  return Math.max(readMs, computeMs);
}

/**
 * Token movement of the expert layers of a data-parallel group for one step of
 * `tokens` tokens over all ranks, ms: vLLM's default all2all backend
 * (`allgather_reducescatter`) gathers every rank's hidden states before each
 * MoE layer and reduce-scatters the result after it; each GPU receives and
 * sends the other ranks' share, `(g - 1) / g * tokens * hidden * 2` bytes
 * (BF16 activations) each way, plus one collective latency each.
 */
export function dispatchMs(
  s: Pick<MoeShape, "moe" | "hidden" | "groupGpus">,
  tokens: number,
  linkBytesPerMs: number,
  latencyMs: number,
): number {
  const g = s.groupGpus;
  if (g <= 1 || tokens <= 0) return 0;
  const bytes = (g - 1) / g * tokens * s.hidden * 2;
  return s.moe.moeLayers * 2 * (latencyMs + bytes / linkBytesPerMs);
}
