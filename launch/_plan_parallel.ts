/**
 * The data- and expert-parallel part of a plan: an instance's
 * {@linkcode InstanceParallel} settings, its HTTP endpoints (one per rank with
 * external load balancing), the process of one rank, and the DP RPC ports.
 *
 * @module
 */
import type { InstancePlan } from "./_plan.ts";
import type { All2AllBackend, DpLb, EplbSpec } from "./_parallel.ts";
import type { RoleSpec } from "./topology.ts";
import { rankBackendName } from "./router/core/dp_ranks.ts";

/** First `--data-parallel-rpc-port` handed out (vLLM's default, `ParallelConfig.data_parallel_rpc_port`). */
export const DP_RPC_PORT = 29550;

/** The data- and expert-parallel settings of an instance (absent: dp 1 and no ep). */
export interface InstanceParallel {
  /** `--data-parallel-size`. */
  dp: number;
  /** Ranks per node: `--data-parallel-size-local` when below dp (nodes > 1). */
  dpLocal: number;
  lb: DpLb;
  ep: boolean;
  eplb?: EplbSpec;
  all2allBackend?: All2AllBackend;
  /**
   * Where ranks in other processes meet rank 0 (`--data-parallel-address`,
   * `--data-parallel-rpc-port`): set when the ranks run in more than one
   * process (external load balancing, or nodes > 1); otherwise vLLM's ranks
   * talk over local IPC and need no port.
   */
  rendezvous?: { address: string; rpcPort: number };
}

/** An HTTP entry point of an instance: with external load balancing one per rank, with hybrid one per node. */
export interface Endpoint {
  /** e.g. `decode-0-rank1`, `decode-0-node1`. */
  name: string;
  url: string;
  port: number;
  /** The data-parallel rank it serves (external load balancing). */
  rank?: number;
}

/** GPUs of an instance's ranks (tp × dp; its nodes share the ranks). */
export function rankGpus(inst: InstancePlan): number {
  return inst.tp * (inst.parallel?.dp ?? 1);
}

/**
 * The process of rank `r` of an instance with external load balancing: its
 * own name, port and URL, and its `tp` of the instance's GPUs.
 */
export function rankProcess(inst: InstancePlan, r: number): InstancePlan {
  const e = inst.endpoints![r];
  return {
    ...inst,
    name: e.name,
    port: e.port,
    url: e.url,
    gpus: inst.gpus?.slice(r * inst.tp, (r + 1) * inst.tp),
    dpRank: r,
  };
}

/** A `--data-parallel-rpc-port` from {@linkcode DP_RPC_PORT} up for each instance whose ranks span processes. */
export function assignRpcPorts(
  instances: InstancePlan[],
  take: (port: number) => number,
): void {
  let rpc = DP_RPC_PORT;
  for (const inst of instances) {
    const p = inst.parallel;
    if (!p || p.dp === 1 || (p.lb === "internal" && !inst.nodes)) continue;
    p.rendezvous = { address: inst.address, rpcPort: take(rpc++) };
  }
}

/** `parallel` (and, external, its per-rank `endpoints`) of an instance of `spec` named `name`. */
export function parallelOf(
  spec: RoleSpec,
  name: string,
  address: string,
  port: number,
): Pick<InstancePlan, "parallel" | "endpoints"> {
  if (spec.dp === 1 && !spec.ep) return {};
  const parallel: InstanceParallel = {
    dp: spec.dp,
    dpLocal: spec.dp > 1 ? spec.dp / spec.nodes : 1,
    lb: spec.dpLb,
    ep: spec.ep,
    ...(spec.eplb ? { eplb: spec.eplb } : {}),
    ...(spec.all2allBackend ? { all2allBackend: spec.all2allBackend } : {}),
  };
  if (spec.dpLb !== "external") return { parallel };
  const endpoints = Array.from({ length: spec.dp }, (_, r) => ({
    name: rankBackendName(name, r),
    url: `http://${address}:${port + r}`,
    port: port + r,
    rank: r,
  }));
  return { parallel, endpoints };
}
