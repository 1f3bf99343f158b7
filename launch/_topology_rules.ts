/**
 * Topology rules that span blocks: what vLLM's connectors and the platform
 * need of the combination of engine, connector, roles and settings.
 *
 * @module
 */
import type { Connector } from "../lib/contracts.ts";
import type { Reader } from "../lib/schema.ts";
import type { EngineKind, KvSpec, RoleSpec } from "./topology.ts";

/** The KV link model is the sim's; P2pNcclConnector needs the same TP everywhere. */
export function checkTransfer(
  r: Reader,
  engine: EngineKind,
  connector: Connector | undefined,
  roles: RoleSpec[],
  kv: KvSpec,
): void {
  if (engine === "vllm" && (kv.link !== undefined || kv.linkGBps !== undefined)) {
    // the link model is the simulated engine's; `vllm serve` has no such flag
    throw r.fail(
      kv.link !== undefined ? "kv.link" : "kv.link_gbps",
      kv.link ?? kv.linkGBps,
      "absent for engine: vllm (the KV link model is the simulated engine's)",
    );
  }
  if (connector !== "p2pnccl" || engine === "command") return;
  // vLLM's P2pNcclConnector supports symmetric TP only (p2p_nccl_connector.py
  // check_tensors_except_dim: "only symmetric TP is supported")
  const tps = roles.filter((x) => x.role === "prefill" || x.role === "decode").flatMap((x) =>
    x.tp.map((tp, i) => ({ at: `${x.role}[${i}]`, tp }))
  );
  const odd = tps.find((x) => x.tp !== tps[0].tp);
  if (odd) {
    throw r.fail(
      `${odd.at.replace(/\[.*/, "")}.gpus`,
      odd.tp,
      `tensor-parallel size ${tps[0].tp} like ${
        tps[0].at
      } (P2pNcclConnector needs the same TP on every prefill and decode instance)`,
    );
  }
}

/** `kubernetes:` only on Kubernetes, multi-node instances only there, and what a cluster needs. */
export function checkPlatform(
  r: Reader,
  engine: EngineKind,
  platform: "local" | "kubernetes",
  roles: RoleSpec[],
  k8s: Reader,
): void {
  if (platform !== "kubernetes" && r.value("kubernetes") !== undefined) {
    throw r.fail("kubernetes", r.value("kubernetes"), "absent unless platform: kubernetes");
  }
  const multi = roles.find((x) => x.nodes > 1);
  if (multi && (platform !== "kubernetes" || engine !== "vllm")) {
    throw r.fail(
      `${multi.role}.nodes`,
      multi.nodes,
      "1 unless platform: kubernetes and engine: vllm (a multi-node instance runs as a LeaderWorkerSet)",
    );
  }
  if (platform !== "kubernetes") return;
  if (engine === "command") throw r.fail("platform", platform, "local for engine: command");
  if (engine === "sim" && k8s.value("deno_image") === undefined) {
    throw r.fail(
      "kubernetes.deno_image",
      "denoland/deno:2.9.6 (the default: Deno without the sim)",
      "an image with the bundled sim at /topobench/sim.js for engine: sim (deno task bundle, then build launch/k8s/Dockerfile)",
    );
  }
  const remote = roles.find((x) => x.hosts.some((h) => h !== undefined));
  if (remote) {
    throw r.fail(
      `${remote.role}.host`,
      remote.hosts.find(Boolean),
      "absent with platform: kubernetes (the scheduler places pods)",
    );
  }
}

/**
 * LMCacheConnectorV1 reads its PD settings from LMCACHE_CONFIG_FILE (or LMCACHE_* vars),
 * never from kv_connector_extra_config (vLLM's lmcache_integration/utils.py).
 */
export function checkLmcache(r: Reader, roles: RoleSpec[], vllmEnv: Record<string, string>): void {
  for (const x of roles.filter((x) => x.role === "prefill" || x.role === "decode")) {
    const env = { ...vllmEnv, ...x.env };
    if (!env.LMCACHE_CONFIG_FILE && !Object.keys(env).some((k) => k.startsWith("LMCACHE_"))) {
      throw r.fail(
        `${x.role}.env.LMCACHE_CONFIG_FILE`,
        undefined,
        "an LMCache config file (enable_pd, transfer_channel, pd_role, ... as in vLLM's examples/disaggregated/lmcache) or LMCACHE_* variables: LMCache reads nothing from the kv-transfer config",
      );
    }
  }
}
