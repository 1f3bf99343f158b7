/**
 * A topology in virtual time: one {@linkcode VirtualEngine} per instance,
 * configured from the same `deno task sim` command line `up` would start
 * (so both clocks read one configuration path), the router's decisions from
 * the shared routing core, and the costs the live path pays for real as
 * explicit terms: the router hop per leg, and the KV transfer on the decode
 * instance's link (`kv_link.ts`, shared with the live engine).
 *
 * @module
 */
import { parseFlags } from "../../lib/args.ts";
import type { EngineRequest, FinishInfo, FinishReason } from "../../launch/sim/engine.ts";
import type { EventLoop } from "../../launch/sim/event_loop.ts";
import { KvLink, linkedRemote } from "../../launch/sim/kv_link.ts";
import { SIM_FLAGS, type SimConfig, simConfig } from "../../launch/sim/sim_config.ts";
import { VirtualEngine } from "../../launch/sim/virtual_engine.ts";
import { engineParts } from "../../launch/sim/engine_parts.ts";
import { Routing } from "../../launch/router/routing.ts";
import { validateRouterConfig } from "../../launch/router/config.ts";
import type { Role } from "../../lib/contracts.ts";
import { planTopology } from "../../launch/_plan.ts";
import { SIM_ENTRY, simCommand } from "../../launch/vllm.ts";
import { routerConfig } from "../../launch/_launch.ts";
import type { Topology } from "../../launch/topology.ts";

/**
 * Router hop per leg, simulated ms: what `deno task router` adds to TTFT over a
 * direct request on loopback (README Performance, `deno task perf --only router`: 0.8 ms p50).
 */
export const DEFAULT_ROUTER_HOP_MS = 0.8;

/** One engine instance in virtual time. */
export interface VirtualInstance {
  name: string;
  role: Role;
  engine: VirtualEngine;
  /** The link KV transfers into this instance share. */
  link: KvLink;
  cfg: SimConfig;
  maxModelLen: number;
  /** Requests in flight on it (the routing policies read this). */
  inFlight: number;
}

/** One request as the virtual client submits it. */
export interface VirtualRequest {
  id: string;
  /** Session key (conversation id) for sticky policies and PPD. */
  session?: string;
  /** The request body's prompt part (`messages` or `prompt`), for prefix-aware policies. */
  body: Record<string, unknown>;
  promptTokens: number[];
  outputIds: number[];
  finishReason: "stop" | "length";
}

/** What the client hears back. */
export interface VirtualResponse {
  onToken(index: number): void;
  onFinish(r: { error: string; status: number; info?: FinishInfo; backend: string }): void;
}

/** Options of {@linkcode VirtualTopology}. */
export interface VirtualTopologyOptions {
  /** Router hop per leg, simulated ms. @default DEFAULT_ROUTER_HOP_MS */
  routerHopMs?: number;
}

/** The settings of one instance: its `deno task sim` flags, parsed by the engine's own parser. */
function instanceConfig(args: string[], env: Record<string, string>): SimConfig {
  const i = args.indexOf(SIM_ENTRY);
  return simConfig(parseFlags(args.slice(i + 1), SIM_FLAGS).values, env);
}

/** A whole topology on one event loop. */
export class VirtualTopology {
  readonly instances: VirtualInstance[] = [];
  readonly routing: Routing;
  readonly routerHopMs: number;
  /** GPUs the topology uses (sum of tensor-parallel sizes). */
  readonly gpus: number;
  readonly #loop: EventLoop;
  readonly #lmcache = new Set<number>();
  /** Instances per role, built once (routing asks on every request). */
  readonly #byRole = new Map<Role, VirtualInstance[]>();

  constructor(readonly topology: Topology, loop: EventLoop, o: VirtualTopologyOptions = {}) {
    if (topology.engine !== "sim") {
      throw new RangeError(
        `Cannot run ${topology.file} in virtual time as engine ${topology.engine}: current value is ${topology.engine}; allowed: sim (use --clock live for real engines)`,
      );
    }
    if (topology.kind === "epd" || topology.kind === "custom") {
      throw new RangeError(
        `Cannot run ${topology.file} in virtual time as kind ${topology.kind}: current value is ${topology.kind}; allowed: agg, dp, pd, ppd (run it with --clock live)`,
      );
    }
    this.#loop = loop;
    this.routerHopMs = o.routerHopMs ?? DEFAULT_ROUTER_HOP_MS;
    if (!(this.routerHopMs >= 0)) {
      throw new RangeError(
        `Cannot use --router-hop-ms as a number >= 0: current value is ${this.routerHopMs}`,
      );
    }
    const plan = planTopology(topology);
    for (const inst of plan.instances) {
      const cmd = simCommand(plan, inst);
      const cfg = instanceConfig(cmd.args, cmd.env);
      const { cost, maxModelLen, options } = engineParts(cfg);
      const engine = new VirtualEngine({ ...options, clock: loop });
      const role: Role = inst.role === "server" || inst.role === "replicas"
        ? "backend"
        : inst.role as Role;
      this.instances.push({
        name: inst.name,
        role,
        engine,
        link: new KvLink(cost, cfg.kvLinkGBps, cfg.kvLatencyMs, cfg.kvPerBlockUs, cfg.blockSize),
        cfg,
        maxModelLen,
        inFlight: 0,
      });
    }
    for (const i of this.instances) {
      if (!this.#byRole.has(i.role)) this.#byRole.set(i.role, []);
      this.#byRole.get(i.role)!.push(i);
    }
    this.gpus = plan.instances.reduce((a, i) => a + i.tp, 0);
    this.routing = new Routing(validateRouterConfig(routerConfig(plan), topology.file));
  }

  #of(role: Role): VirtualInstance[] {
    return this.#byRole.get(role) ?? [];
  }

  #pick(role: Role, ctx: ReturnType<Routing["context"]>): VirtualInstance {
    const b = this.routing.pick(role, this.#of(role), ctx);
    if (!b) throw new RangeError(`Cannot route to role ${role}: current value is no instance`);
    return b;
  }

  /** Sends a request through the topology (the router hop included). */
  submit(req: VirtualRequest, res: VirtualResponse): void {
    const ctx = this.routing.context(req.body, req.session);
    const serving = this.routing.direct
      ? this.#pick("backend", ctx)
      : this.routing.ppdTarget(ctx, () => this.#of("decode"));
    const limit = (serving ?? this.#of("prefill")[0]).maxModelLen;
    const n = req.promptTokens.length;
    if (n >= limit || n + req.outputIds.length > limit) {
      this.#loop.after(this.routerHopMs, () =>
        res.onFinish({
          error:
            `HTTP 400: This model's maximum context length is ${limit} tokens; request has ${n} input tokens and asks for ${req.outputIds.length}`,
          status: 400,
          backend: serving?.name ?? "",
        }));
      return;
    }
    if (serving) {
      this.#leg(serving, { ...this.#engineReq(req, res, serving) });
      return;
    }
    // P -> D: the decode is chosen first when the connector names it in the request id.
    let decode = this.routing.decodeFirst ? this.#pick("decode", ctx) : undefined;
    const prefill = this.#pick("prefill", ctx);
    const connector = this.routing.connector;
    this.#leg(prefill, {
      id: req.id,
      promptTokens: req.promptTokens,
      outputIds: req.outputIds.slice(0, 1),
      finishReason: "length",
      holdForRemoteDecode: connector === "nixl",
      sink: {
        onToken: () => {},
        onFinish: (r: FinishReason, info: FinishInfo) => {
          prefill.inFlight--;
          if (r === "abort") {
            res.onFinish({ error: "prefill aborted", status: 502, backend: prefill.name });
            return;
          }
          if (connector === "lmcache") {
            for (const h of prefill.engine.kv.hashes(req.promptTokens)) this.#lmcache.add(h);
          }
          decode ??= this.#pick("decode", ctx);
          const d = decode;
          const dreq = this.#engineReq(req, res, d);
          dreq.remotePrefill = this.#remote(connector, prefill, d, req, info);
          this.routing.served(ctx, d.name);
          this.#leg(d, dreq);
        },
      },
    });
  }

  /** After the router hop, the instance receives the request. */
  #leg(to: VirtualInstance, er: EngineRequest): void {
    to.inFlight++;
    this.#loop.after(this.routerHopMs, () => to.engine.add(er));
  }

  #engineReq(req: VirtualRequest, res: VirtualResponse, to: VirtualInstance): EngineRequest {
    return {
      id: req.id,
      promptTokens: req.promptTokens,
      outputIds: req.outputIds,
      finishReason: req.finishReason,
      sink: {
        onToken: (_id, i) => res.onToken(i),
        onFinish: (r, info) => {
          to.inFlight--;
          res.onFinish(
            r === "abort"
              ? { error: "aborted", status: 499, info, backend: to.name }
              : { error: "", status: 200, info, backend: to.name },
          );
        },
      },
    };
  }

  /** The decode side's KV source per connector, over the decode instance's link. */
  #remote(
    connector: string,
    prefill: VirtualInstance,
    decode: VirtualInstance,
    req: VirtualRequest,
    info: FinishInfo,
  ): EngineRequest["remotePrefill"] {
    const at = (t: number, fn: () => void) => void this.#loop.at(t, fn);
    if (connector === "nixl") {
      return linkedRemote(decode.link, this.#loop, at, (_n, answer) => {
        answer(info.heldBlockIds !== undefined && prefill.engine.releaseHeld(req.id) !== null);
      });
    }
    if (connector === "p2pnccl") {
      return linkedRemote(decode.link, this.#loop, at, (_n, answer) => answer(true));
    }
    // lmcache: the longest stored prefix of the prompt
    const hashes = decode.engine.kv.hashes(req.promptTokens, req.promptTokens.length - 1);
    let k = hashes.length;
    while (k > 0 && !this.#lmcache.has(hashes[k - 1])) k--;
    if (k === 0) return undefined;
    const tokens = k * decode.engine.kv.blockSize;
    return linkedRemote(decode.link, this.#loop, at, (_n, answer) => answer(true), tokens);
  }
}
