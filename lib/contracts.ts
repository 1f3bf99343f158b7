/**
 * Contracts between our processes, declared once: the router's `router.json`
 * (written by `up` and the Kubernetes manifests, read by the router and the
 * virtual topology), vLLM's connector configs (written by the launcher as
 * `--kv-transfer-config` / `--ec-transfer-config`, read by the simulated
 * engine) and the `kv_transfer_params` a NIXL proxy sends with a prefill
 * (built by the router, read by the simulated engine). Validation lives with
 * the reader (`launch/router/core/config.ts`, `launch/sim/live/kv_transfer.ts`,
 * `launch/sim/core/ec_cache.ts`).
 *
 * @module
 */

/** Topology kinds the router serves. */
export const ROUTER_KINDS = ["agg", "dp", "pd", "ppd", "epd"] as const;
/** One of {@linkcode ROUTER_KINDS}. */
export type RouterKind = typeof ROUTER_KINDS[number];

/** KV connectors between prefill and decode instances. */
export const CONNECTORS = ["nixl", "p2pnccl", "lmcache"] as const;
/** One of {@linkcode CONNECTORS}. */
export type Connector = typeof CONNECTORS[number];

/** Routing policies, per role. */
export const POLICIES = ["round_robin", "least_loaded", "session", "prefix"] as const;
/** One of {@linkcode POLICIES}. */
export type Policy = typeof POLICIES[number];

/** Engine roles behind the router: `backend` (agg/dp engines), `prefill`, `decode`, `encode`. */
export type Role = "backend" | "prefill" | "decode" | "encode";

/** One engine behind the router. */
export interface BackendSpec {
  /** Unique name, e.g. `prefill-0`. */
  name: string;
  /** Base URL without a trailing slash, e.g. `http://127.0.0.1:8100`. */
  url: string;
  /** `host:port` of the KV side channel (required for p2pnccl prefill/decode). */
  kvAddr?: string;
  /**
   * Not started yet (a scenario's `start` event starts it later): out of
   * rotation until its `/health` answers 200. @default false
   */
  spare?: boolean;
}

/** A validated router configuration. */
export interface RouterConfig {
  /** Topology name. */
  name: string;
  kind: RouterKind;
  /** KV connector (pd/ppd/epd). @default "nixl" */
  connector?: Connector;
  /** Default policy of every role. @default "round_robin" */
  policy: Policy;
  /** Prefill role policy. @default policy */
  prefillPolicy: Policy;
  /** Decode role policy. @default policy */
  decodePolicy: Policy;
  /** Engines of agg/dp. */
  backends: BackendSpec[];
  prefill: BackendSpec[];
  decode: BackendSpec[];
  /** Encoder instances (epd). */
  encode: BackendSpec[];
  /** Pause between health checks. @default 2000 */
  healthIntervalMs: number;
  /**
   * Times a request whose prefill or decode leg failed before any token reached
   * the client is sent again, from its prefill, avoiding the instances that
   * failed it (pd, ppd, epd); 0: never. @default 0
   */
  retries: number;
  /** Largest accepted request body. @default 33554432 */
  maxBodyBytes: number;
  /**
   * A leg that sends no byte for this long ends: 504 before the answer starts, an
   * SSE error event and `[DONE]` after. @default 120000
   */
  stallTimeoutMs: number;
  /**
   * Prefill and decode instances that register themselves over ZMQ as vLLM's
   * P2P-NCCL engines do (pd/ppd only); static lists may then be empty.
   */
  discovery?: DiscoveryConfig;
}

/** `discovery`: where the router listens for registrations, and when it drops a silent instance. */
export interface DiscoveryConfig {
  kind: "zmq";
  /** Address to bind. @default "127.0.0.1" */
  host: string;
  /** Port of the ZMQ ROUTER socket (vLLM's `proxy_port`). */
  port: number;
  /** An instance silent this long is dropped. @default 5000 */
  dropAfterMs: number;
  /**
   * Who else may register, beyond the `host:port`s of the configured
   * instances (their URLs and KV addresses, always admitted): hosts, CIDRs and
   * port ranges, e.g. `10.0.0.0/8:8000-8999` (see `lib/allow_list.ts`). Both
   * addresses of a registration must be admitted. @default []
   */
  allow: string[];
  /** Registered instances at most; more are refused with a log line. @default 64 */
  maxInstances: number;
}

/** `router.json` as written: the fields that have defaults may be left out. */
export type RouterConfigFile =
  & Pick<RouterConfig, "name" | "kind">
  & Partial<Omit<RouterConfig, "name" | "kind" | "discovery">>
  & { discovery?: Pick<DiscoveryConfig, "kind" | "host" | "port"> & Partial<DiscoveryConfig> };

/** `kv_role` values of vLLM's KV transfer config. */
export const KV_ROLES = ["kv_both", "kv_producer", "kv_consumer"] as const;
/** One of {@linkcode KV_ROLES}. */
export type KvRole = typeof KV_ROLES[number];

/** vLLM's `--kv-transfer-config` object (the fields we write and read). */
export interface KvTransferConfig {
  /** Connector class: NixlConnector, P2pNcclConnector, LMCacheConnectorV1 (MultiConnector read). */
  kv_connector: string;
  kv_role: KvRole;
  /** P2pNccl buffer, bytes. */
  kv_buffer_size?: number;
  /** P2pNccl first KV port. */
  kv_port?: number;
  kv_connector_extra_config?: Record<string, unknown>;
}

/** vLLM's `--ec-transfer-config` object (encoder cache, EPD). */
export interface EcTransferConfig {
  /** Connector class; we write (and the simulated engine has) ECExampleConnector. */
  ec_connector?: string;
  /** We write `ec_producer` (encoder) and `ec_consumer` (prefill). */
  ec_role: string;
  /** `shared_storage_path`: the folder encoded images are shared through. */
  ec_connector_extra_config?: Record<string, unknown>;
}

/**
 * `kv_transfer_params` a NIXL disaggregation proxy sends to the prefill
 * instance: compute the prompt and keep its blocks for a remote decode to pull.
 */
export const NIXL_PREFILL_PARAMS = {
  do_remote_decode: true,
  do_remote_prefill: false,
  remote_engine_id: null,
  remote_block_ids: null,
  remote_host: null,
  remote_port: null,
};
