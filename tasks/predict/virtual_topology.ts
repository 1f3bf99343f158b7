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
import type { PromptTokens } from "../../lib/prompt_tokens.ts";
import { Rng } from "../../lib/rng.ts";
import type { Tokenizer } from "../../lib/tokenizer.ts";
import type {
  EngineRequest,
  FinishInfo,
  FinishReason,
  TokenIds,
} from "../../launch/sim/core/engine.ts";
import type { EventLoop } from "../../lib/event_loop.ts";
import { linkedRemote } from "../../launch/sim/core/kv_link.ts";
import { MemoryEcStore } from "../../launch/sim/core/ec_cache.ts";
import type { PromptImage } from "../../launch/sim/core/image.ts";
import type { OutputPlan } from "../../launch/sim/core/frontend.ts";
import type { OutputVocab } from "../../launch/sim/core/vocab.ts";
import { Routing } from "../../launch/router/core/routing.ts";
import { validateRouterConfig } from "../../launch/router/core/config.ts";
import { encoderBody, mmItems } from "../../launch/router/core/legs.ts";
import type { Role } from "../../lib/contracts.ts";
import type { ChatMessage } from "../../lib/tokenizer.ts";
import { planTopology } from "../../launch/_plan.ts";
import { simCommand } from "../../launch/vllm.ts";
import { routerConfig } from "../../launch/_launch.ts";
import type { Topology } from "../../launch/topology.ts";
import { routedTargets, type VirtualInstance, virtualInstance } from "./virtual_instance.ts";
import { legError, VirtualFaults } from "./virtual_faults.ts";
import type { ScenarioEvent } from "../../lib/scenario_events.ts";
import type { Plan } from "../../launch/_plan.ts";

/**
 * Router hop per leg, simulated ms: what `deno task router` adds to TTFT over a
 * direct request on loopback (README Performance, `deno task perf --only router`: 0.8 ms p50).
 */
export const DEFAULT_ROUTER_HOP_MS = 0.8;

/**
 * One request as a client sends it: the body the HTTP client would send, read
 * by the engine's request frontend.
 */
export interface VirtualRequest {
  id: string;
  /** Session key (conversation id) for sticky policies and PPD. */
  session?: string;
  /**
   * The OpenAI body: `messages` (chat) or `prompt` (completions), `max_tokens` or
   * `max_completion_tokens` (absent: what the context leaves), `min_tokens`,
   * `ignore_eos`; the routing policies read its prompt part.
   */
  body: Record<string, unknown>;
  /** The prompt's token ids when the caller has them; else the frontend tokenizes the body. */
  promptTokens?: TokenIds;
}

/** What the client hears back. */
export interface VirtualResponse {
  /**
   * The end: `status` 200 with `info`, else `error` as bench's client records it
   * (`HTTP 400: <vLLM's message>` for a refused body). `outputIds` are the ids the
   * engine was to produce (`info.outputTokens` of them were; empty when refused);
   * `info.tokenTimesMs` says when each came out (the engine records them instead
   * of calling back per token).
   */
  onFinish(
    r: { error: string; status: number; info?: FinishInfo; backend: string; outputIds: TokenIds },
  ): void;
}

/** What the instances' request frontends need: a topology without them cannot take requests. */
export interface VirtualInputs {
  tokenizer: Tokenizer;
  /** Prompt token ids (cached pre-tokens, and ids the dataset told it). */
  prompts: PromptTokens;
  vocab: OutputVocab;
  /**
   * Seed of output lengths and tokens: one `Rng("predict-output:<seed>")` for the
   * whole topology, drawn in submit order (refused requests draw nothing).
   */
  seed: number;
}

/** An admitted request: the engine request's parts. */
interface Admitted extends OutputPlan {
  id: string;
  promptTokens: TokenIds;
  /** Its image parts, each with its vision token count (placeholders are in `promptTokens`). */
  images: PromptImage[];
  session?: string;
}

const ABORTED = { error: "aborted", status: 499 };
const OK = { error: "", status: 200 };

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
}

/** A whole topology on one event loop. */
export class VirtualTopology {
  readonly instances: VirtualInstance[] = [];
  readonly routing: Routing;
  readonly routerHopMs: number;
  /** GPUs the topology uses (sum of tensor-parallel x data-parallel sizes). */
  readonly gpus: number;
  readonly #loop: EventLoop;
  readonly #lmcache = new Set<number>();
  /** Instances per role, built once (routing asks on every request). */
  readonly #byRole = new Map<Role, VirtualInstance[]>();
  /** Output lengths and tokens of every request, in submit order. */
  readonly #rng: Rng | undefined;
  readonly #prompts: PromptTokens | undefined;
  readonly #batchDecodes: boolean;
  /** The encoder cache the instances share (epd), empty at the start as after `up`. */
  readonly #ec = new MemoryEcStore();
  /** Instances per role in the router's rotation (the same lists as `#byRole` without events). */
  #rotation = this.#byRole;
  readonly #plan: Plan;
  readonly #inputs: VirtualInputs | undefined;
  /** The scenario's events and the router's health checks, or null without events. */
  readonly faults: VirtualFaults | null = null;

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
    this.#batchDecodes = o.batchDecodes ?? true;
    this.routerHopMs = o.routerHopMs ?? DEFAULT_ROUTER_HOP_MS;
    if (!(this.routerHopMs >= 0)) {
      throw new RangeError(
        `Cannot use --router-hop-ms as a number >= 0: current value is ${this.routerHopMs}`,
      );
    }
    const plan = this.#plan = planTopology(topology);
    this.#inputs = inputs;
    for (const inst of plan.instances) {
      const cmd = simCommand(plan, inst);
      this.instances.push(
        virtualInstance(inst.name, inst.role, cmd, {
          loop,
          batchDecodes: this.#batchDecodes,
          inputs,
        }),
      );
    }
    this.#rng = inputs && new Rng(`predict-output:${inputs.seed}`);
    this.#prompts = inputs?.prompts;
    this.gpus = this.instances.reduce((a, i) => a + i.cfg.tp * i.cfg.dp, 0);
    const rc = validateRouterConfig(routerConfig(plan), topology.file);
    this.routing = new Routing(rc);
    // what the router routes to: its configuration's backends (a rank each with dp_lb: external)
    const lists = {
      backend: rc.backends,
      prefill: rc.prefill,
      decode: rc.decode,
      encode: rc.encode,
    };
    for (const [role, list] of Object.entries(lists) as [Role, typeof rc.backends][]) {
      if (list.length) this.#byRole.set(role, routedTargets(list, this.instances, topology.file));
    }
    if (o.events?.length) {
      this.faults = new VirtualFaults(loop, this, { healthIntervalMs: rc.healthIntervalMs });
      this.faults.schedule(o.events);
    }
  }

  #of(role: Role): VirtualInstance[] {
    return this.#rotation.get(role) ?? [];
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
    const plan = this.#plan;
    const first = plan.instances.find((i) => i.role === role)!;
    const index = this.instances.filter((i) => i.name.startsWith(first.name.replace(/\d+$/, "")))
      .length;
    const spec = { ...first, name: first.name.replace(/\d+$/, String(index)), index };
    const inst = virtualInstance(spec.name, spec.role, simCommand(plan, spec), {
      loop: this.#loop,
      batchDecodes: this.#batchDecodes,
      inputs: this.#inputs,
    });
    inst.state = "starting";
    inst.healthy = false;
    this.instances.push(inst);
    this.#byRole.get(inst.role)!.push(inst);
    this.refreshRotation();
    return inst;
  }

  /** Instances went in or out of rotation: the per-role lists the router picks from, again. */
  refreshRotation(): void {
    const r = new Map<Role, VirtualInstance[]>();
    for (const [role, list] of this.#byRole) r.set(role, list.filter((i) => i.healthy));
    this.#rotation = r;
  }

  /** A 503 after the router hop: no instance of `role` to route to (as the live router words it). */
  #unavailable(res: VirtualResponse, role: Role, more = ""): void {
    const all = this.#byRole.get(role) ?? [];
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
    const ctx = this.routing.context(req.body, req.session);
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
    const job = this.#admit(serving ?? (this.#byRole.get("prefill") ?? [])[0], req);
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
    if (serving) this.#leg(serving, this.#engineReq(job, res, serving));
    else this.#encode(job, req.body, res, () => this.#disaggregated(job, ctx, res));
  }

  /** The request through `at`'s frontend, its output drawn; or the error it answers. */
  #admit(at: VirtualInstance, req: VirtualRequest): Admitted | { error: string; status: number } {
    if (!at.frontend || !this.#rng) {
      throw new TypeError(
        `Cannot submit request ${req.id} to virtual topology ${this.topology.file}: current value is a topology built without inputs (tokenizer, vocab, seed)`,
      );
    }
    const endpoint = req.body.messages !== undefined ? "chat" : "completion";
    const a = at.frontend.admit(endpoint, req.body, req.promptTokens);
    if (a.error) return { error: a.error.message, status: a.error.status };
    const output = at.frontend.draw(a.request, this.#rng);
    const { promptTokens, images } = a.request;
    return { id: req.id, promptTokens, images, session: req.session, ...output };
  }

  /** P -> D: the decode is chosen first when the connector names it in the request id. */
  #disaggregated(job: Admitted, ctx: ReturnType<Routing["context"]>, res: VirtualResponse): void {
    // no decode instance to hand the KV to: the live router does not run the prefill
    if (this.#of("decode").length === 0) {
      return this.#unavailable(res, "decode", "; the prefill was not run");
    }
    let decode = this.routing.decodeFirst ? this.#pick("decode", ctx) : undefined;
    const prefill = this.#pick("prefill", ctx);
    if (!prefill) return this.#unavailable(res, "prefill");
    const connector = this.routing.connector;
    this.#leg(prefill, {
      id: job.id,
      promptTokens: job.promptTokens,
      session: job.session,
      outputIds: job.outputIds.slice(0, 1),
      finishReason: "length",
      imageTokens: this.#imageTokens(job.images, prefill),
      holdForRemoteDecode: connector === "nixl",
      sink: {
        onFinish: (r: FinishReason, info: FinishInfo) => {
          prefill.inFlight--;
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
          const dreq = this.#engineReq(job, res, d, true);
          dreq.remotePrefill = this.#remote(connector, prefill, d, job, info);
          this.routing.served(ctx, d.name);
          this.#leg(d, dreq);
        },
      },
    });
  }

  /** Vision tokens of `images` that `to` encodes itself (none cached there); none without images. */
  #imageTokens(images: readonly PromptImage[], to: VirtualInstance): number[] | undefined {
    return images.length ? this.#ec.toEncode(images, to.ec) : undefined;
  }

  /**
   * EPD: each image part of a chat body to an encoder instance, all at once
   * (the live router's `#encode`: each picked as it is sent), then `next` once
   * every one has finished; another kind, or a body without images, goes on at
   * once. An encoder's refusal (vLLM's error) or abort answers the request.
   */
  #encode(
    job: Admitted,
    body: Record<string, unknown>,
    res: VirtualResponse,
    next: () => void,
  ): void {
    const items = this.topology.kind === "epd" ? mmItems(body) : [];
    if (items.length === 0) return next();
    let left = items.length; // legs to finish; < 0 once the request is answered
    const fail = (error: string, status: number, backend: string) => {
      left = -1;
      res.onFinish({ error, status, backend, outputIds: [] });
    };
    for (let i = 0; i < items.length; i++) {
      const enc = this.#pick("encode", {});
      if (!enc) {
        left = -1;
        return this.#unavailable(res, "encode");
      }
      const eb = encoderBody(body.model, items[i]);
      const a = enc.frontend!.admit("chat", eb, this.#prompts!.chat(eb.messages as ChatMessage[]));
      if (a.error) {
        const { status, message } = a.error;
        left = -1;
        this.#loop.after(
          this.routerHopMs,
          () => fail(`HTTP ${status}: ${message}`, status, enc.name),
        );
        return;
      }
      const images = a.request.images;
      this.#leg(enc, {
        id: `${job.id}:${i}`,
        promptTokens: a.request.promptTokens,
        outputIds: job.outputIds.slice(0, 1),
        finishReason: "length",
        imageTokens: this.#imageTokens(images, enc),
        sink: {
          onFinish: (r) => {
            enc.inFlight--;
            if (r !== "abort") this.#ec.store(images, enc.ec);
            if (left < 0) return;
            if (r === "abort") fail("encode aborted", 502, enc.name);
            else if (--left === 0) next();
          },
        },
      });
    }
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

  /** The request on `to` (`handedOver`: its prefill's KV comes from a prefill instance). */
  #engineReq(
    job: Admitted,
    res: VirtualResponse,
    to: VirtualInstance,
    handedOver = false,
  ): EngineRequest {
    return {
      id: job.id,
      promptTokens: job.promptTokens,
      outputIds: job.outputIds,
      finishReason: job.finishReason,
      imageTokens: this.#imageTokens(job.images, to),
      recordTimes: true,
      session: job.session,
      sink: {
        onFinish: (r, info) => {
          to.inFlight--;
          if (r !== "abort") this.#ec.store(job.images, to.ec);
          const outputIds = job.outputIds;
          const ended = r === "abort"
            ? (to.ending ? legError(to, info.outputTokens > 0, handedOver) : ABORTED)
            : OK;
          res.onFinish({ ...ended, info, backend: to.name, outputIds });
        },
      },
    };
  }

  /** The decode side's KV source per connector, over the decode instance's link. */
  #remote(
    connector: string,
    prefill: VirtualInstance,
    decode: VirtualInstance,
    job: Admitted,
    info: FinishInfo,
  ): EngineRequest["remotePrefill"] {
    const at = (t: number, fn: () => void) => void this.#loop.at(t, fn);
    if (connector === "nixl") {
      return linkedRemote(decode.link, this.#loop, at, (_n, answer) => {
        // ASSUMED: a pull from a killed or hung prefill fails at once (the decode then computes the prefill)
        const there = prefill.state !== "dead" && prefill.state !== "paused";
        answer(
          there && info.heldBlockIds !== undefined && prefill.engine.releaseHeld(job.id) !== null,
        );
      });
    }
    if (connector === "p2pnccl") {
      return linkedRemote(decode.link, this.#loop, at, (_n, answer) => answer(true));
    }
    // lmcache: the longest stored prefix of the prompt
    const hashes = decode.engine.kv.hashes(job.promptTokens, job.promptTokens.length - 1);
    let k = hashes.length;
    while (k > 0 && !this.#lmcache.has(hashes[k - 1])) k--;
    if (k === 0) return undefined;
    const tokens = k * decode.engine.kv.blockSize;
    return linkedRemote(decode.link, this.#loop, at, (_n, answer) => answer(true), tokens);
  }
}
