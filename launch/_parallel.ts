/**
 * The mixture-of-experts keys of a role block: `dp` (data-parallel ranks of one
 * instance, each with its own scheduler and KV cache), `ep` (experts sharded
 * over the instance's dp × tp GPUs), `eplb`, `all2all_backend` and `dp_lb`
 * (how requests reach the ranks), with the rules vLLM applies to them
 * (`vllm/config/parallel.py` `ParallelConfig._validate_parallel_config`,
 * `vllm/engine/arg_utils.py` `EngineArgs.create_engine_config`; see
 * docs/vllm_audit.md) and the rules of this launcher.
 *
 * @module
 */
import type { Connector } from "../lib/contracts.ts";
import type { Reader } from "../lib/schema.ts";
import type { EngineKind, RoleBlock, RoleSpec, Topology } from "./topology.ts";

/** Keys of a role block read here. */
export const PARALLEL_KEYS = ["dp", "ep", "eplb", "all2all_backend", "dp_lb"];

/**
 * How requests reach the ranks of a data-parallel instance: `internal` (one
 * endpoint; vLLM's API server balances its ranks), `hybrid` (one endpoint per
 * node, vLLM balances within it: `--data-parallel-hybrid-lb`), `external`
 * (one `vllm serve` and endpoint per rank: `--data-parallel-rank`).
 */
export const DP_LBS = ["internal", "hybrid", "external"] as const;
/** A data-parallel load-balancing mode. */
export type DpLb = typeof DP_LBS[number];

/**
 * vLLM's `All2AllBackend` choices (`vllm/config/parallel.py`), without `naive`
 * and `pplx`, which vLLM has removed (it falls back to allgather_reducescatter).
 */
export const ALL2ALL_BACKENDS = [
  "allgather_reducescatter",
  "deepep_high_throughput",
  "deepep_low_latency",
  "deepep_v2",
  "mori_high_throughput",
  "mori_low_latency",
  "nixl_ep",
  "flashinfer_nvlink_two_sided",
  "flashinfer_nvlink_one_sided",
] as const;
/** An all-to-all backend of the expert layers. */
export type All2AllBackend = typeof ALL2ALL_BACKENDS[number];

/** `eplb:` of a role: vLLM's `EPLBConfig` fields; absent ones keep vLLM's defaults. */
export interface EplbSpec {
  /** Redundant expert copies (vLLM's default 0). */
  numRedundantExperts?: number;
  /** Steps of expert load recorded (vLLM's default 1000). */
  windowSize?: number;
  /** Steps between rearrangements (vLLM's default 3000). */
  stepInterval?: number;
}

/** The MoE settings of a role block. */
export interface ParallelSpec {
  /** Data-parallel ranks per instance (`--data-parallel-size`). @default 1 */
  dp: number;
  /** `--enable-expert-parallel`. @default false */
  ep: boolean;
  /** `--enable-eplb` with `--eplb-config`; absent = off. */
  eplb?: EplbSpec;
  /** `--all2all-backend`; absent = vLLM's default. */
  all2allBackend?: All2AllBackend;
  /** @default "internal" */
  dpLb: DpLb;
}

const EPLB_KEYS = ["num_redundant_experts", "window_size", "step_interval"];

/** Reads the MoE keys of role block `b` (their combinations are checked by {@linkcode checkRoleParallel}). */
export function readParallel(b: Reader): ParallelSpec {
  return {
    dp: b.int("dp", 1, 1024) ?? 1,
    ep: b.bool("ep") ?? false,
    eplb: readEplb(b),
    all2allBackend: b.oneOf("all2all_backend", ALL2ALL_BACKENDS),
    dpLb: b.oneOf("dp_lb", DP_LBS) ?? "internal",
  };
}

/** `eplb:` as `true` / `false` or a mapping of vLLM's EPLBConfig fields (`{}` = its defaults). */
function readEplb(b: Reader): EplbSpec | undefined {
  const v = b.value("eplb");
  if (v === undefined || v === null || v === false) return undefined;
  if (v === true) return {};
  const e = b.obj("eplb", EPLB_KEYS, {
    expected: "true, or a mapping of num_redundant_experts, window_size, step_interval",
    kind: "type",
  });
  const out: EplbSpec = {};
  const n = e.int("num_redundant_experts", 0, 4096);
  const w = e.int("window_size", 1, 1e9);
  const s = e.int("step_interval", 1, 1e9);
  if (n !== undefined) out.numRedundantExperts = n;
  if (w !== undefined) out.windowSize = w;
  if (s !== undefined) out.stepInterval = s;
  return out;
}

/**
 * Tensor-parallel size per instance: a GPU list holds `ranks` data-parallel
 * ranks (dp / nodes, or 1) of tp GPUs each; else `tp:` (default 1).
 */
export function readTp(
  b: Reader,
  role: RoleBlock,
  gpus: number[][] | undefined,
  count: number,
  ranks: number,
): number[] {
  const tpOne = b.int("tp", 1, 64);
  if (!gpus) return Array(count).fill(tpOne ?? 1);
  const odd = gpus.findIndex((g) => g.length % ranks !== 0);
  if (odd >= 0) {
    throw b.fail(
      "gpus",
      b.value("gpus"),
      `lists of ${ranks} ranks × tp GPUs each (dp / nodes ranks per list; list ${odd} has ${
        gpus[odd]?.length
      })`,
    );
  }
  const tp = gpus.map((g) => g.length / ranks);
  if (tpOne !== undefined && tp.some((t) => t !== tpOne)) {
    const what = ranks > 1
      ? `the length of each ${role}.gpus list / ${ranks} ranks`
      : `the length of each ${role}.gpus list`;
    throw b.fail("tp", tpOne, `${what} (${tp.join(", ")})`);
  }
  return tp;
}

/** Ranks one `gpus` list holds: a node's share of the ranks (dp / nodes), or 1 without DP. */
export function ranksPerNode(x: Pick<RoleSpec, "dp" | "nodes">): number {
  return x.dp > 1 ? x.dp / x.nodes : 1;
}

/**
 * GPUs of instance `i` of a role: dp × tp with data parallelism (its nodes
 * share the ranks), else tp × nodes (pipeline parallel across nodes).
 */
export function instanceGpus(x: Pick<RoleSpec, "dp" | "nodes" | "tp">, i: number): number {
  return x.tp[i] * (x.dp > 1 ? x.dp : x.nodes);
}

/** With data parallelism, `nodes` share the ranks: it must divide dp. */
export function checkNodes(b: Reader, dp: number, nodes: number): void {
  if (dp > 1 && dp % nodes !== 0) {
    throw b.fail("nodes", nodes, `a divisor of dp ${dp} (each node runs dp / nodes ranks)`);
  }
}

/** The rules of one role block's MoE keys, naming its fields (`b` is the role block). */
export function checkRoleParallel(b: Reader, role: RoleBlock, x: RoleSpec): void {
  const set = PARALLEL_KEYS.filter((k) => !b.absent(k));
  if (role === "encode" && set.length) {
    throw b.fail(
      set[0],
      b.value(set[0]),
      "absent for the encode role (its instances run the multimodal encoder; dp and ep are for prefill, decode and aggregated instances)",
    );
  }
  checkMoe(b, x);
  checkLb(b, x);
}

/** eplb and all2all_backend need expert layers spread over ranks (vLLM's ParallelConfig). */
function checkMoe(b: Reader, x: RoleSpec): void {
  if (x.eplb && !x.ep) {
    throw b.fail(
      "eplb",
      b.value("eplb"),
      "absent unless ep: true (vLLM: EPLB needs expert parallelism)",
    );
  }
  const single = x.tp.findIndex((tp) => tp * x.dp <= 1);
  if (x.eplb && single >= 0) {
    throw b.fail(
      "eplb",
      b.value("eplb"),
      `absent on a one-GPU instance (vLLM: EPLB needs tp × dp > 1; instance ${single} has tp 1, dp 1)`,
    );
  }
  if (x.all2allBackend && x.dp === 1 && !x.ep) {
    throw b.fail(
      "all2all_backend",
      x.all2allBackend,
      "absent unless dp > 1 or ep: true (the all-to-all moves tokens between the ranks of expert layers)",
    );
  }
}

/** dp_lb needs ranks to balance; hybrid needs nodes with several ranks each; external one node. */
function checkLb(b: Reader, x: RoleSpec): void {
  if (x.dpLb === "internal") return;
  if (x.dp === 1) {
    throw b.fail(
      "dp_lb",
      x.dpLb,
      "internal unless dp > 1 (vLLM: external and hybrid load balancing need data_parallel_size > 1)",
    );
  }
  if (x.dpLb === "hybrid" && (x.nodes < 2 || x.dp / x.nodes < 2)) {
    throw b.fail(
      "dp_lb",
      "hybrid",
      `internal or external here: hybrid balances over nodes (nodes >= 2 with dp / nodes >= 2 ranks each; current nodes ${x.nodes}, dp ${x.dp}); vLLM turns hybrid off on one node and into external with one rank per node`,
    );
  }
  if (x.dpLb === "external" && x.nodes > 1) {
    throw b.fail(
      "nodes",
      x.nodes,
      "1 with dp_lb: external (each rank is its own vllm serve; use dp_lb: hybrid to spread ranks over nodes)",
    );
  }
}

/**
 * Rules across blocks: what the engine, connector and platform allow of the
 * roles' MoE settings. `r` is the top-level reader.
 */
export function checkParallel(
  r: Reader,
  engine: EngineKind,
  connector: Connector | undefined,
  platform: "local" | "kubernetes",
  roles: RoleSpec[],
): void {
  for (const x of roles) {
    const at = (k: string) => `${x.role}.${k}`;
    if (engine === "sim") checkSimRole(r, x);
    if (x.dp > 1 && (connector === "p2pnccl" || connector === "lmcache") && x.role !== "encode") {
      throw r.fail(
        at("dp"),
        x.dp,
        `1 with connector ${connector} (only NixlConnector is audited for data-parallel instances)`,
      );
    }
    if (platform === "kubernetes" && x.dpLb === "external") {
      throw r.fail(
        at("dp_lb"),
        "external",
        "internal or hybrid with platform: kubernetes (one pod per rank is not built yet; hybrid gives one endpoint per node)",
      );
    }
  }
}

/**
 * The simulated engine balances its ranks as vLLM's API server does
 * (internal) or lets the router pick them (external, one port per rank); it
 * runs on one node (no hybrid), models EPLB's steady state (a more even expert
 * load) and no all-to-all backend but vLLM's default.
 */
function checkSimRole(r: Reader, x: RoleSpec): void {
  if (x.dpLb === "hybrid") {
    throw r.fail(
      `${x.role}.dp_lb`,
      x.dpLb,
      "internal or external for engine: sim (hybrid balances over nodes; the simulated engine runs an instance on one host)",
    );
  }
  if (x.all2allBackend) {
    throw r.fail(
      `${x.role}.all2all_backend`,
      x.all2allBackend,
      "absent for engine: sim (the simulated engine models vLLM's default allgather_reducescatter only)",
    );
  }
}

/**
 * Refuses to start a simulated topology whose disaggregated roles have
 * data-parallel instances on the live clock: the simulated engine runs a DP
 * instance's ranks live inside its one process (`launch/sim/live/live_dp_group.ts`)
 * for aggregated serving only; DP prefill/decode roles (KV connectors over
 * ranks) run in virtual time. `up` names the limitation before anything starts.
 */
export function checkLiveClock(t: Topology): void {
  const x = t.roles.find((r) => r.dp > 1 && r.role !== "server" && r.role !== "replicas");
  if (t.engine !== "sim" || !x) return;
  throw new RangeError(
    `Cannot start ${t.file} on the live clock as a simulated topology with data-parallel ${x.role} instances: current value is ${x.role}.dp ${x.dp}; allowed: dp 1 on prefill/decode roles (live data-parallel ranks serve aggregated roles, server and replicas; disaggregated DP roles run in virtual time: deno task predict --topology ${
      t.cliArgs ?? t.file
    })`,
  );
}
