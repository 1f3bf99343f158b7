/**
 * The routing core, without I/O: every decision the router makes for one
 * request, for agg, dp (round_robin, least_loaded, session, prefix), pd and
 * ppd per connector, and epd. The live router (`_generate.ts`) runs these
 * decisions over HTTP with health checks and retries; the virtual loop of
 * `deno task predict` runs the same decisions on virtual backends. Nothing
 * here knows which.
 *
 * @module
 */
import type { Connector, Policy, Role, RouterKind } from "../../../lib/contracts.ts";
import {
  type Candidate,
  LruMap,
  type PickContext,
  Picker,
  prefixHashes,
  promptText,
} from "./policy.ts";

/** PD routing mode: `ppd` sends turn 2+ of a known conversation straight to its decode instance. */
export type Mode = "pd" | "ppd";

/** The routing settings of a router configuration. */
export interface RoutingSpec {
  kind: RouterKind;
  /** @default "nixl" */
  connector?: Connector;
  policy: Policy;
  prefillPolicy: Policy;
  decodePolicy: Policy;
  /** Times a request whose leg failed before any token is sent again. @default 0 */
  retries?: number;
}

/** A leg that failed: which, and whether any token of it reached the client. */
export interface LegFailure {
  leg: "prefill" | "decode";
  /** Tokens the client got from it (a stream that broke after its first token cannot be retried). */
  tokensOut: number;
  /** The failure was the client's own (it went away) or the request's (HTTP 4xx): never retried. */
  clientOrRequest?: boolean;
}

/** The route a request takes. */
export type Route = "direct" | "ppd-direct" | "pd" | "epd";

/** Routing decisions for one router: per-role pickers, the PD mode and PPD's conversation map. */
export class Routing {
  /** Current PD mode (pd and ppd kinds; switched at run time by `POST /mode`). */
  mode: Mode;
  /** Conversation (session key) -> the decode backend that served its last turn. */
  readonly conversations = new LruMap<string, string>(100_000);
  readonly #pickers = new Map<Role, Picker>();
  readonly #needHashes: boolean;

  constructor(readonly spec: RoutingSpec) {
    this.mode = spec.kind === "ppd" ? "ppd" : "pd";
    const enc: Policy = spec.policy === "least_loaded" ? "least_loaded" : "round_robin";
    this.#pickers.set("backend", new Picker(spec.policy));
    this.#pickers.set("prefill", new Picker(spec.prefillPolicy));
    this.#pickers.set("decode", new Picker(spec.decodePolicy));
    this.#pickers.set("encode", new Picker(enc));
    this.#needHashes = [spec.policy, spec.prefillPolicy, spec.decodePolicy].includes("prefix");
  }

  /** The KV connector of pd/ppd/epd. */
  get connector(): Connector {
    return this.spec.connector ?? "nixl";
  }

  /** Whether requests go straight to one engine (agg, dp) rather than through P/D legs. */
  get direct(): boolean {
    return this.spec.kind === "agg" || this.spec.kind === "dp";
  }

  /** P2P-NCCL names both instances in the request id, so the decode is chosen before the prefill. */
  get decodeFirst(): boolean {
    return this.connector === "p2pnccl";
  }

  /** Whether {@linkcode context} reads the body's prompt (a prefix policy hashes it). */
  get readsPrompt(): boolean {
    return this.#needHashes;
  }

  /** The pick context of a request body (prefix hashes only when a policy needs them). */
  context(body: Record<string, unknown>, sessionKey: string | undefined): PickContext {
    return {
      sessionKey,
      prefixHashes: this.#needHashes ? prefixHashes(promptText(body)) : undefined,
    };
  }

  /** Picks one of `cands` (healthy, not yet tried) for `role`; undefined when there are none. */
  pick<C extends Candidate>(role: Role, cands: readonly C[], ctx: PickContext): C | undefined {
    return this.#pickers.get(role)!.pick(cands, ctx);
  }

  /** PPD: the decode backend holding this conversation's prefix, if it is among `decodes`. */
  ppdTarget<C extends Candidate>(
    ctx: PickContext,
    decodes: () => readonly C[],
  ): C | undefined {
    if (this.mode !== "ppd" || ctx.sessionKey === undefined) return undefined;
    const known = this.conversations.get(ctx.sessionKey);
    return known === undefined ? undefined : decodes().find((d) => d.name === known);
  }

  /** The route of a request that is not sent PPD-direct. */
  get disaggRoute(): Route {
    return this.spec.kind === "epd" ? "epd" : "pd";
  }

  /** A decode backend served a turn of this conversation (PPD sends the next one there). */
  served(ctx: PickContext, decode: string): void {
    if (ctx.sessionKey !== undefined) this.conversations.set(ctx.sessionKey, decode);
  }

  /**
   * Whether a request sent `attempts` times so far, whose leg failed as `f`
   * says, is sent again: only with retries configured, only when no token of
   * it reached the client, and at most `retries` times.
   */
  retry(attempts: number, f: LegFailure): boolean {
    return f.tokensOut === 0 && !f.clientOrRequest && attempts <= (this.spec.retries ?? 0);
  }

  /** The conversation's decode backend became unreachable: forget it. */
  lost(ctx: PickContext): void {
    if (ctx.sessionKey !== undefined) this.conversations.delete(ctx.sessionKey);
  }
}
