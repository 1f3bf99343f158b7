/**
 * Plan -> the exact `vllm serve` command line and environment of each engine
 * instance, per role and KV connector. The connector JSON builders are shared
 * with the simulated engine, which takes the same flags.
 *
 * @module
 */
import type { InstancePlan, Plan } from "./_plan.ts";

/** A program, its arguments and the environment it adds. */
export interface EngineCommand {
  cmd: string;
  args: string[];
  env: Record<string, string>;
}

/** vLLM's `--kv-transfer-config` object. */
export interface KvTransferConfig {
  kv_connector: string;
  kv_role: "kv_both" | "kv_producer" | "kv_consumer";
  kv_buffer_size?: number;
  kv_port?: number;
  kv_connector_extra_config?: Record<string, unknown>;
}

/** vLLM's `--ec-transfer-config` object (encoder cache, EPD). */
export interface EcTransferConfig {
  ec_connector: "ECSharedStorageConnector";
  ec_role: "ec_producer" | "ec_consumer";
  ec_connector_extra_config: { shared_storage_path: string };
}

/** The KV connector config of `inst`, or undefined (no connector, or the encoder). */
export function kvTransferConfig(plan: Plan, inst: InstancePlan): KvTransferConfig | undefined {
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
          proxy_ip: plan.router?.bind ?? "127.0.0.1",
          proxy_port: t.kv.proxyPort,
          http_port: inst.port,
          send_type: "PUT_ASYNC",
        },
      };
    case "lmcache":
      return {
        kv_connector: "LMCacheConnectorV1",
        kv_role: role,
        kv_connector_extra_config: { shared_storage_path: t.kv.sharedStoragePath },
      };
  }
}

/** The encoder-cache config of `inst` (epd: encoder produces, prefill consumes), or undefined. */
export function ecTransferConfig(plan: Plan, inst: InstancePlan): EcTransferConfig | undefined {
  const t = plan.topology;
  if (t.kind !== "epd" || (inst.role !== "encode" && inst.role !== "prefill")) return undefined;
  return {
    ec_connector: "ECSharedStorageConnector",
    ec_role: inst.role === "encode" ? "ec_producer" : "ec_consumer",
    ec_connector_extra_config: { shared_storage_path: t.kv.ecStoragePath },
  };
}

/** `--kv-transfer-config JSON --ec-transfer-config JSON`, whichever apply. */
export function connectorArgs(plan: Plan, inst: InstancePlan): string[] {
  const kv = kvTransferConfig(plan, inst);
  const ec = ecTransferConfig(plan, inst);
  return [
    ...(kv ? ["--kv-transfer-config", JSON.stringify(kv)] : []),
    ...(ec ? ["--ec-transfer-config", JSON.stringify(ec)] : []),
  ];
}

/**
 * Environment of an engine: `CUDA_VISIBLE_DEVICES`, the NIXL side-channel
 * port (and host when remote), then the topology's `env` (which wins).
 */
export function engineEnv(inst: InstancePlan): Record<string, string> {
  const env: Record<string, string> = {};
  if (inst.gpus) env.CUDA_VISIBLE_DEVICES = inst.gpus.join(",");
  if (inst.sideChannelPort !== undefined) {
    env.VLLM_NIXL_SIDE_CHANNEL_PORT = String(inst.sideChannelPort);
    if (inst.host !== undefined) env.VLLM_NIXL_SIDE_CHANNEL_HOST = inst.address;
  }
  return { ...env, ...inst.env };
}

/** `vllm serve MODEL --host --port --tensor-parallel-size --gpu-memory-utilization ...` of `inst`. */
export function vllmCommand(plan: Plan, inst: InstancePlan): EngineCommand {
  const t = plan.topology;
  return {
    cmd: t.vllm.bin,
    args: [
      "serve",
      t.model,
      "--host",
      inst.bind,
      "--port",
      String(inst.port),
      "--tensor-parallel-size",
      String(inst.tp),
      "--gpu-memory-utilization",
      String(inst.gpuMemoryUtilization),
      ...connectorArgs(plan, inst),
      ...(t.kv.link ? ["--kv-link", t.kv.link] : []),
      ...(t.kv.linkGBps !== undefined ? ["--kv-link-gbps", String(t.kv.linkGBps)] : []),
      ...inst.extraArgs,
    ],
    env: engineEnv(inst),
  };
}

/** Path of the simulated engine's entry point, relative to the checkout. */
export const SIM_ENTRY = "launch/sim/main.ts";

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
      "--host",
      inst.bind,
      "--port",
      String(inst.port),
      "--tensor-parallel-size",
      String(inst.tp),
      "--gpu-memory-utilization",
      String(inst.gpuMemoryUtilization),
      "--gpu",
      t.sim.gpu,
      "--speed",
      String(t.sim.speed),
      "--engine-id",
      `${t.name}-${inst.name}`,
      ...connectorArgs(plan, inst),
      ...(t.kv.link ? ["--kv-link", t.kv.link] : []),
      ...(t.kv.linkGBps !== undefined ? ["--kv-link-gbps", String(t.kv.linkGBps)] : []),
      ...inst.extraArgs,
    ],
    env: engineEnv(inst),
  };
}
