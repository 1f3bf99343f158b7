/**
 * A topology in virtual time: one {@linkcode VirtualEngine} per instance,
 * configured from the same `deno task sim` command line `up` would start
 * (so both clocks read one configuration path), the router's decisions from
 * the shared routing core, and the costs the live path pays for real as
 * explicit terms: the router hop per leg, and the KV transfer on the decode
 * instance's link (`kv_link.ts`, shared with the live engine). Requests come
 * in as the client's body and pass the engine's own request frontend
 * (`launch/sim/core/frontend.ts`: validation, context limit, image sizes,
 * output draw, `min_tokens`), so both clocks refuse and size them alike.
 * Image parts cost what they cost live: the vision encoder in the step that
 * first schedules the request, on the instance that encodes them (agg, the
 * prefill of pd); in epd the router's encoder legs first (one per image, as
 * `launch/router/http/_generate.ts` sends them), whose images the prefill then
 * finds in the encoder cache (`launch/sim/core/ec_cache.ts`).
 *
 * @module
 */
import { Rng } from "../../lib/rng.ts";
import type {
  EngineRequest,
  FinishInfo,
  FinishReason,
  TokenIds,
} from "../../launch/sim/core/engine.ts";
import type { EventLoop } from "../../lib/event_loop.ts";
import { MemoryEcStore } from "../../launch/sim/core/ec_cache.ts";
import { Routing } from "../../launch/router/core/routing.ts";
import { validateRouterConfig } from "../../launch/router/core/config.ts";
import type { Role } from "../../lib/contracts.ts";
import { planTopology } from "../../launch/_plan.ts";
import { routerConfig } from "../../launch/_launch.ts";
import type { Topology } from "../../launch/topology.ts";
import type { VirtualInstance } from "./virtual_instance.ts";
import { legError, VirtualFaults } from "./virtual_faults.ts";
import type { ScenarioEvent } from "../../lib/scenario_events.ts";
import type { AutoscaleSpec } from "../../lib/autoscale.ts";
import { VirtualAutoscaler } from "./virtual_autoscaler.ts";
import { InstanceSet } from "./_instance_set.ts";
import { kvRemote } from "./_kv_remote.ts";
import { ServingLeg } from "./_serving_leg.ts";
import { type EncodeHost, encodeLegs, imageTokens } from "./_encoder_legs.ts";
import type {
  Admitted,
  VirtualInputs,
  VirtualRequest,
  VirtualResponse,
} from "./_virtual_request.ts";

export type { VirtualInputs, VirtualRequest, VirtualResponse };

/**
 * Router hop per leg, simulated ms: what `deno task router` adds to TTFT over a
 * direct request on loopback (README Performance, `deno task perf --only router`: 0.8 ms p50).
 */
export const DEFAULT_ROUTER_HOP_MS = 0.8;

const NO_BODY: Record<string, unknown> = Object.freeze({});

/** One request sent again: its id, the attempt that failed, its leg and instance, when (virtual ms). */
export interface RetryRecord {
  id: string;
  attempt: number;
  leg: "prefill" | "decode";
  from: string;
  tMs: number;
}

/** Options of {@linkcode VirtualTopology}. */
export interface VirtualTopologyOptions {
  /** Router hop per leg, simulated ms. @default DEFAULT_ROUTER_HOP_MS */
  routerHopMs?: number;
  /** Advance running decodes together (the engine's `batchDecodes`; off: one by one). @default true */
  batchDecodes?: boolean;
  /**
   * Fault and scaling events of the load point (`lib/scenario_events.ts`),
   * played with the router's health checks (`virtual_faults.ts`). @default none
   */
  events?: readonly ScenarioEvent[];
  /** An autoscaler in the loop (`lib/autoscale.ts`, `virtual_autoscaler.ts`). @default none */
  autoscale?: AutoscaleSpec | null;
}

/** A whole topology on one event loop. */
export class VirtualTopology {
  readonly routing: Routing;
  readonly routerHopMs: number;
  /** GPUs the topology uses (sum of tensor-parallel x data-parallel sizes). */
  readonly gpus: number;
  readonly #loop: EventLoop;
  readonly #lmcache = new Set<number>();
  /** The instances, per role and in rotation. */
  readonly #set: InstanceSet;
  /** Output lengths and tokens of every request, in submit order. */
  readonly #rng: Rng | undefined;
  /** The encoder cache the instances share (epd), empty at the start as after `up`. */
  readonly #ec = new MemoryEcStore();
  /** What the encoder legs of an epd request use. */
  readonly #encoders: EncodeHost;
  /** The scenario's events and the router's health checks, or null without events. */
  readonly faults: VirtualFaults | null = null;
  /** The autoscaler in the loop, or null without `autoscale`. */
  readonly autoscaler: VirtualAutoscaler | null = null;
  /** Requests sent again after a leg failed before any token (`router.retries`), in order. */
  readonly retried: RetryRecord[] = [];

  /**
   * Builds the instances of `topology` on `loop`; `inputs` let it take requests
   * (without them it only validates and describes the topology).
   */
  constructor(
    readonly topology: Topology,
    loop: EventLoop,
    o: VirtualTopologyOptions = {},
    inputs?: VirtualInputs,
  ) {
    if (topology.engine !== "sim") {
      throw new RangeError(
        `Cannot run ${topology.file} in virtual time as engine ${topology.engine}: current value is ${topology.engine}; allowed: sim (run real engines on the live clock: deno task up, then deno task bench; or --clock live in a pipeline)`,
      );
    }
    if (topology.kind === "custom") {
      throw new RangeError(
        `Cannot run ${topology.file} in virtual time as kind ${topology.kind}: current value is ${topology.kind}; allowed: agg, dp, pd, ppd, epd (run it on the live clock: deno task up, then deno task bench; or --clock live in a pipeline)`,
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
    this.#set = new InstanceSet(plan, { loop, batchDecodes: o.batchDecodes ?? true, inputs });
    this.#rng = inputs && new Rng(`predict-output:${inputs.seed}`);
    this.#encoders = {
      loop,
      routerHopMs: this.routerHopMs,
      ec: this.#ec,
      prompts: inputs?.prompts,
      pick: () => this.#pick("encode", {}),
      unavailable: (res) => this.#unavailable(res, "encode"),
      leg: (to, er) => this.#leg(to, er),
    };
    this.gpus = this.#set.gpus;
    const rc = validateRouterConfig(routerConfig(plan), topology.file);
    this.routing = new Routing(rc);
    // what the router routes to: its configuration's backends (a rank each with dp_lb: external)
    this.#set.routeOver(
      { backend: rc.backends, prefill: rc.prefill, decode: rc.decode, encode: rc.encode },
      topology.file,
    );
    if (o.events?.length || o.autoscale) {
      this.faults = new VirtualFaults(loop, this, { healthIntervalMs: rc.healthIntervalMs });
      if (o.autoscale) this.autoscaler = new VirtualAutoscaler(o.autoscale, this.faults);
      this.faults.schedule(o.events ?? []);
    }
  }

  /** Every instance, in the plan's order, then those added at run time. */
  get instances(): VirtualInstance[] {
    return this.#set.all;
  }

  #of(role: Role): VirtualInstance[] {
    return this.#set.inRotation(role);
  }

  /**
   * Picks an instance of `role` in rotation; undefined when none is left. One
   * that refuses the connection (killed, draining) is ejected by the router
   * at once, which then picks another, as the live router does.
   */
  #pick(role: Role, ctx: ReturnType<Routing["context"]>): VirtualInstance | undefined {
    for (;;) {
      const b = this.routing.pick(role, this.#of(role), ctx);
      if (!b || !this.faults?.refuses(b)) {
        if (b) this.faults?.routed(b);
        return b;
      }
      this.faults.refused(b);
      if (b.healthy) return undefined; // kept (cannot happen: a refusal always ejects)
    }
  }

  /** One more instance of `role`, cold and out of rotation (a `start` event). */
  addInstance(role: string): VirtualInstance {
    return this.#set.add(role);
  }

  /** Instances went in or out of rotation: the per-role lists the router picks from, again. */
  refreshRotation(): void {
    this.#set.refresh();
  }

  /** A 503 after the router hop: no instance of `role` to route to (as the live router words it). */
  #unavailable(res: VirtualResponse, role: Role, more = ""): void {
    const all = this.#set.configured(role);
    this.#loop.after(this.routerHopMs, () =>
      res.onFinish({
        error: `HTTP 503: No healthy ${
          role === "backend" ? "" : `${role} `
        }backend (${all.length} configured)${more}`,
        status: 503,
        backend: "",
        outputIds: [],
      }));
  }

  /**
   * Sends a request through the topology (the router hop included): the
   * instance that admits it (the one serving it, or the first prefill) applies
   * its request frontend; a refused body is answered after the hop with the
   * engine's status and message, as bench's client records them.
   */
  submit(req: VirtualRequest, res: VirtualResponse): void {
    // the body is read only when the router reads its prompt (a sender may build it on read)
    const ctx = this.routing.context(this.routing.readsPrompt ? req.body : NO_BODY, req.session);
    const direct = this.routing.direct;
    let serving = direct
      ? this.#pick("backend", ctx)
      : this.routing.ppdTarget(ctx, () => this.#of("decode"));
    if (direct && !serving) return this.#unavailable(res, "backend");
    if (!direct && serving && this.faults?.refuses(serving)) {
      // PPD's decode of this conversation refuses: forget it, go through P -> D
      this.faults.refused(serving);
      this.routing.lost(ctx);
      serving = undefined;
    }
    const job = this.#admit(serving ?? this.#set.configured("prefill")[0], req);
    if ("error" in job) {
      this.#loop.after(this.routerHopMs, () =>
        res.onFinish({
          error: `HTTP ${job.status}: ${job.error}`,
          status: job.status,
          backend: serving?.name ?? "",
          outputIds: [],
        }));
      return;
    }
    if (serving) return this.#leg(serving, this.#engineReq(job, res, serving));
    const next = () => this.#disaggregated(job, ctx, res);
    if (this.topology.kind !== "epd") return next();
    encodeLegs(this.#encoders, job, req.body, res, next);
  }

  /** The request through `at`'s frontend, its output drawn; or the error it answers. */
  #admit(at: VirtualInstance, req: VirtualRequest): Admitted | { error: string; status: number } {
    if (!at.frontend || !this.#rng) {
      throw new TypeError(
        `Cannot submit request ${req.id} to virtual topology ${this.topology.file}: current value is a topology built without inputs (tokenizer, vocab, seed)`,
      );
    }
    const a = req.fields
      ? at.frontend.admitFields(req.fields, req.promptTokens)
      : at.frontend.admit(
        req.body.messages !== undefined ? "chat" : "completion",
        req.body,
        req.promptTokens,
      );
    if (a.error) return { error: a.error.message, status: a.error.status };
    const output = at.frontend.draw(a.request, this.#rng);
    const { promptTokens, images } = a.request;
    const { outputIds, finishReason } = output;
    return { id: req.id, promptTokens, images, session: req.session, outputIds, finishReason };
  }

  /**
   * P -> D: the decode is chosen first when the connector names it in the
   * request id. `attempt` > 1: sent again after a leg failed before any token
   * (`router.retries`), under a fresh engine request id.
   */
  #disaggregated(
    job: Admitted,
    ctx: ReturnType<Routing["context"]>,
    res: VirtualResponse,
    attempt = 1,
  ): void {
    const id = attempt === 1 ? job.id : `${job.id}~retry${attempt - 1}`;
    const retry = (leg: "prefill" | "decode", from: VirtualInstance, tokensOut: number) => {
      if (!from.ending || !this.routing.retry(attempt, { leg, tokensOut })) return false;
      this.retried.push({ id: job.id, attempt, leg, from: from.name, tMs: this.#loop.nowMs() });
      this.#loop.after(this.routerHopMs, () => this.#disaggregated(job, ctx, res, attempt + 1));
      return true;
    };
    // no decode instance to hand the KV to: the live router does not run the prefill
    if (this.#of("decode").length === 0) {
      return this.#unavailable(res, "decode", "; the prefill was not run");
    }
    let decode = this.routing.decodeFirst ? this.#pick("decode", ctx) : undefined;
    const prefill = this.#pick("prefill", ctx);
    if (!prefill) return this.#unavailable(res, "prefill");
    const connector = this.routing.connector;
    this.#leg(prefill, {
      id,
      promptTokens: job.promptTokens,
      session: job.session,
      outputIds: firstId(job.outputIds),
      finishReason: "length",
      imageTokens: imageTokens(this.#ec, job.images, prefill),
      holdForRemoteDecode: connector === "nixl",
      sink: {
        onFinish: (r: FinishReason, info: FinishInfo) => {
          prefill.inFlight--;
          if (r === "abort" && retry("prefill", prefill, 0)) return;
          if (r === "abort") {
            const { error, status } = prefill.ending
              ? legError(prefill, false, false)
              : { error: "prefill aborted", status: 502 };
            res.onFinish({ error, status, backend: prefill.name, outputIds: job.outputIds });
            return;
          }
          this.#ec.store(job.images, prefill.ec);
          if (connector === "lmcache") {
            for (const h of prefill.engine.kv.hashes(job.promptTokens)) this.#lmcache.add(h);
          }
          decode ??= this.#pick("decode", ctx);
          if (!decode) return this.#unavailable(res, "decode");
          const d = decode;
          const dreq = this.#engineReq(job, res, d, (n) => retry("decode", d, n), id);
          dreq.remotePrefill = kvRemote(
            this.#loop,
            connector,
            d,
            { prefill, id, promptTokens: job.promptTokens, info },
            this.#lmcache,
          );
          this.routing.served(ctx, d.name);
          this.#leg(d, dreq);
        },
      },
    });
  }

  /** After the router hop, the instance receives the request. */
  #leg(to: VirtualInstance, er: EngineRequest): void {
    to.inFlight++;
    this.#loop.after(this.routerHopMs, () => {
      if (!this.faults?.refuses(to)) return to.engine.add(er);
      // it went away during the hop: the connection is refused
      to.ending = { reason: "refused", detail: "" };
      er.sink.onFinish("abort", {
        promptTokens: er.promptTokens.length,
        outputTokens: 0,
        cachedTokens: 0,
      });
      to.ending = null;
    });
  }

  /** The request's serving leg on `to` (`retry`: a decode leg's, see {@linkcode ServingLeg}). */
  #engineReq(
    job: Admitted,
    res: VirtualResponse,
    to: VirtualInstance,
    retry?: (tokensOut: number) => boolean,
    id = job.id,
  ): ServingLeg {
    return new ServingLeg(id, job, res, to, this.#ec, retry);
  }
}

/**
 * The first of `ids` (what a prefill leg puts out): of a typed array, a view
 * made by the constructor (a copy, or `subarray`'s species look-up, costs more).
 */
function firstId(ids: TokenIds): TokenIds {
  const n = Math.min(1, ids.length);
  return ids instanceof Uint32Array
    ? new Uint32Array(ids.buffer, ids.byteOffset, n)
    : ids.slice(0, n);
}
