/**
 * Plan -> the exact `vllm serve` command line and environment of each engine
 * instance, per role and KV connector. The connector JSON builders are shared
 * with the simulated engine, which takes the same flags.
 *
 * @module
 */
import type { InstancePlan, Plan } from "./_plan.ts";
import type { EplbSpec } from "./_parallel.ts";
import type { EcTransferConfig, KvTransferConfig } from "../lib/contracts.ts";

/** A program, its arguments and the environment it adds. */
export interface EngineCommand {
  cmd: string;
  args: string[];
  env: Record<string, string>;
}

/**
 * The KV connector config of `inst`, or undefined (no connector, or the
 * encoder). Field types as vLLM reads them (see docs/vllm_audit.md): P2P-NCCL's
 * `proxy_port` and `http_port` are strings (vLLM concatenates them). LMCache
 * takes its PD settings from `LMCACHE_CONFIG_FILE`; the simulated engine
 * instead shares a folder (`shared_storage_path`, sim only).
 */
export function kvTransferConfig(
  plan: Plan,
  inst: InstancePlan,
  engine: "vllm" | "sim" = plan.topology.engine === "sim" ? "sim" : "vllm",
): KvTransferConfig | undefined {
  const t = plan.topology;
  if (!t.connector || (inst.role !== "prefill" && inst.role !== "decode")) return undefined;
  const producer = inst.role === "prefill";
  const role = producer ? "kv_producer" : "kv_consumer";
  switch (t.connector) {
    case "nixl":
      return { kv_connector: "NixlConnector", kv_role: "kv_both" };
    case "p2pnccl":
      return {
        kv_connector: "P2pNcclConnector",
        kv_role: role,
        kv_buffer_size: producer ? t.kv.producerBufferSize : t.kv.consumerBufferSize,
        kv_port: inst.kvPort,
        kv_connector_extra_config: {
          proxy_ip: plan.router ? new URL(plan.router.url).hostname : "127.0.0.1",
          proxy_port: String(plan.router?.discoveryPort ?? t.kv.proxyPort),
          http_port: String(inst.port),
          send_type: "PUT_ASYNC",
        },
      };
    case "lmcache":
      return {
        kv_connector: "LMCacheConnectorV1",
        kv_role: role,
        kv_connector_extra_config: engine === "sim"
          ? { shared_storage_path: t.kv.sharedStoragePath }
          : {
            discard_partial_chunks: false,
            lmcache_rpc_port: `${producer ? "producer" : "consumer"}${inst.index + 1}`,
          },
      };
  }
}

/** The encoder-cache config of `inst` (epd: encoder produces, prefill consumes), or undefined. */
export function ecTransferConfig(plan: Plan, inst: InstancePlan): EcTransferConfig | undefined {
  const t = plan.topology;
  if (t.kind !== "epd" || (inst.role !== "encode" && inst.role !== "prefill")) return undefined;
  return {
    ec_connector: "ECExampleConnector",
    ec_role: inst.role === "encode" ? "ec_producer" : "ec_consumer",
    ec_connector_extra_config: { shared_storage_path: t.kv.ecStoragePath },
  };
}

/** `--kv-transfer-config JSON --ec-transfer-config JSON`, whichever apply. */
export function connectorArgs(plan: Plan, inst: InstancePlan, engine?: "vllm" | "sim"): string[] {
  const kv = kvTransferConfig(plan, inst, engine);
  const ec = ecTransferConfig(plan, inst);
  return [
    ...(kv ? ["--kv-transfer-config", JSON.stringify(kv)] : []),
    ...(ec ? ["--ec-transfer-config", JSON.stringify(ec)] : []),
  ];
}

/**
 * Environment of an engine: `CUDA_VISIBLE_DEVICES`, the NIXL side-channel
 * port (and host when remote); for P2P-NCCL the address its ZMQ socket binds
 * and announces (`VLLM_HOST_IP`, else vLLM takes the primary NIC's) and
 * `VLLM_DISABLE_REQUEST_ID_RANDOMIZATION=1` (else prefill and decode suffix
 * the shared request id differently and the decode waits for KV forever); for
 * LMCache the same `PYTHONHASHSEED` on every instance. The topology's `env` wins.
 */
export function engineEnv(inst: InstancePlan, plan?: Plan): Record<string, string> {
  const env: Record<string, string> = {};
  if (inst.gpus) env.CUDA_VISIBLE_DEVICES = inst.gpus.join(",");
  if (inst.sideChannelPort !== undefined) {
    env.VLLM_NIXL_SIDE_CHANNEL_PORT = String(inst.sideChannelPort);
    if (inst.host !== undefined) env.VLLM_NIXL_SIDE_CHANNEL_HOST = inst.address;
  }
  const connector = plan?.topology.connector;
  const kvRole = inst.role === "prefill" || inst.role === "decode";
  if (connector === "p2pnccl" && kvRole) {
    env.VLLM_HOST_IP = inst.address;
    env.VLLM_DISABLE_REQUEST_ID_RANDOMIZATION = "1";
  }
  if (connector === "lmcache" && kvRole) env.PYTHONHASHSEED = "0";
  return { ...env, ...inst.env };
}

/** `--host --port --tensor-parallel-size` of `inst`, as vLLM and the sim both take them. */
function listenArgs(inst: InstancePlan): string[] {
  return [
    "--host",
    inst.bind,
    "--port",
    String(inst.port),
    "--tensor-parallel-size",
    String(inst.tp),
  ];
}

/** `--enable-eplb` and, when the topology sets fields, `--eplb-config`. */
function eplbArgs(e: EplbSpec): string[] {
  const cfg = eplbConfig(e);
  return [
    "--enable-eplb",
    ...(Object.keys(cfg).length ? ["--eplb-config", JSON.stringify(cfg)] : []),
  ];
}

/** vLLM's `--eplb-config` JSON object: the `EPLBConfig` fields the topology sets. */
export function eplbConfig(e: EplbSpec): Record<string, number> {
  const out: Record<string, number> = {};
  if (e.windowSize !== undefined) out.window_size = e.windowSize;
  if (e.stepInterval !== undefined) out.step_interval = e.stepInterval;
  if (e.numRedundantExperts !== undefined) out.num_redundant_experts = e.numRedundantExperts;
  return out;
}

/**
 * vLLM's data- and expert-parallel flags of `inst` (docs/vllm_audit.md): the
 * DP size; with external load balancing the process's `--data-parallel-rank`
 * (one process per rank), else `--data-parallel-size-local` when the ranks
 * span nodes; `--data-parallel-hybrid-lb`; rank 0's address and RPC port
 * when ranks run in other processes; then EP, EPLB and the all-to-all
 * backend. Multi-node followers' `--headless` / `--data-parallel-start-rank`
 * are added where the pods start (`k8s/_lws.ts`).
 */
export function parallelArgs(inst: InstancePlan): string[] {
  const p = inst.parallel;
  if (!p) return [];
  const out: string[] = [];
  if (p.dp > 1) {
    out.push("--data-parallel-size", String(p.dp));
    if (inst.dpRank !== undefined) out.push("--data-parallel-rank", String(inst.dpRank));
    else if (p.dpLocal < p.dp) out.push("--data-parallel-size-local", String(p.dpLocal));
    if (p.lb === "hybrid") out.push("--data-parallel-hybrid-lb");
    if (p.rendezvous) {
      out.push("--data-parallel-address", p.rendezvous.address);
      out.push("--data-parallel-rpc-port", String(p.rendezvous.rpcPort));
    }
  }
  if (p.ep) out.push("--enable-expert-parallel");
  if (p.eplb) {
    out.push(...eplbArgs(p.eplb));
  }
  if (p.all2allBackend) out.push("--all2all-backend", p.all2allBackend);
  return out;
}

/** `vllm serve MODEL --host --port --tensor-parallel-size --gpu-memory-utilization ...` of `inst`. */
export function vllmCommand(plan: Plan, inst: InstancePlan): EngineCommand {
  const t = plan.topology;
  return {
    cmd: t.vllm.bin,
    args: [
      "serve",
      t.model,
      ...listenArgs(inst),
      ...parallelArgs(inst),
      // a multi-node instance without DP: TP within a node, PP across nodes, over Ray (vLLM's LWS recipe)
      ...(inst.nodes && (inst.parallel?.dp ?? 1) === 1
        ? [
          ...["--pipeline-parallel-size", String(inst.nodes)],
          ...["--distributed-executor-backend", "ray"],
        ]
        : []),
      "--gpu-memory-utilization",
      String(inst.gpuMemoryUtilization),
      ...connectorArgs(plan, inst, "vllm"),
      ...inst.extraArgs,
    ],
    env: engineEnv(inst, plan),
  };
}

/** Path of the simulated engine's entry point, relative to the checkout. */
export const SIM_ENTRY = "launch/sim/live/main.ts";

/** The simulated engine's command for `inst`: vLLM's flags plus `--gpu`, `--speed`, `--engine-id`. */
export function simCommand(plan: Plan, inst: InstancePlan): EngineCommand {
  const t = plan.topology;
  return {
    cmd: "deno",
    args: [
      "run",
      "-A",
      SIM_ENTRY,
      "--model",
      t.model,
      ...(t.sim.modelProfile ? ["--model-profile", t.sim.modelProfile] : []),
      ...listenArgs(inst),
      // the simulated engine runs an instance's ranks in its one process; with external
      // load balancing it serves rank r at port + r, where vLLM's rank processes would listen
      ...((inst.parallel?.dp ?? 1) > 1 ? ["--data-parallel-size", String(inst.parallel!.dp)] : []),
      ...(inst.parallel?.lb === "external" ? ["--data-parallel-external-lb"] : []),
      ...(inst.parallel?.ep ? ["--enable-expert-parallel"] : []),
      ...(inst.parallel?.eplb ? eplbArgs(inst.parallel.eplb) : []),
      "--gpu-memory-utilization",
      String(inst.gpuMemoryUtilization),
      "--gpu",
      t.sim.gpu,
      "--speed",
      String(t.sim.speed),
      "--engine-id",
      `${t.name}-${inst.name}`,
      ...connectorArgs(plan, inst, "sim"),
      ...(t.kv.link ? ["--kv-link", t.kv.link] : []),
      ...(t.kv.linkGBps !== undefined ? ["--kv-link-gbps", String(t.kv.linkGBps)] : []),
      ...inst.extraArgs,
    ],
    env: engineEnv(inst, plan),
  };
}
