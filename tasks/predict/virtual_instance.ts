/**
 * One engine instance of a topology in virtual time, built from the same
 * `deno task sim` command line `up` would start (so both clocks read one
 * configuration path): its engine (one core, or the ranks of a data-parallel
 * instance), the link its KV transfers share, its encoder-cache role, and its
 * request frontend.
 *
 * @module
 */
import { parseFlags } from "../../lib/args.ts";
import type { PromptTokens } from "../../lib/prompt_tokens.ts";
import type { Tokenizer } from "../../lib/tokenizer.ts";
import type { EventLoop } from "../../lib/event_loop.ts";
import type { BackendSpec, EcTransferConfig, Role } from "../../lib/contracts.ts";
import { resolveBackends } from "../../launch/router/core/dp_ranks.ts";
import { KvLink } from "../../launch/sim/core/kv_link.ts";
import { SIM_FLAGS, type SimConfig, simConfig } from "../../launch/sim/core/sim_config.ts";
import { parseEcTransferConfig } from "../../launch/sim/core/ec_cache.ts";
import { VirtualEngine } from "../../launch/sim/core/virtual_engine.ts";
import {
  VirtualDpGroup,
  type VirtualInstanceEngine,
} from "../../launch/sim/core/virtual_dp_group.ts";
import { engineParts } from "../../launch/sim/core/engine_parts.ts";
import { RequestFrontend } from "../../launch/sim/core/frontend.ts";
import type { OutputVocab } from "../../launch/sim/core/vocab.ts";
import { SIM_ENTRY } from "../../launch/vllm.ts";

/** One engine instance in virtual time. */
export interface VirtualInstance {
  name: string;
  role: Role;
  /** One engine core, or the ranks of a `--data-parallel-size` instance. */
  engine: VirtualInstanceEngine;
  /** The link KV transfers into this instance share. */
  link: KvLink;
  cfg: SimConfig;
  /** Its `--ec-transfer-config` (epd: the encoder produces, the prefill consumes). */
  ec?: EcTransferConfig;
  maxModelLen: number;
  /** Requests in flight on it (the routing policies read this). */
  inFlight: number;
  /** Its request frontend (only when built with {@linkcode InstanceContext.inputs}). */
  frontend?: RequestFrontend;
  /** Its life in a scenario (`lib/scenario_events.ts`). @default "up" */
  state: InstanceState;
  /** Whether the router has it in rotation. @default true */
  healthy: boolean;
  /** Why its legs are being ended, while they are (each sink words its error from it). @default null */
  ending: LegEnd | null;
}

/**
 * An instance in a scenario: serving, paused (SIGSTOP), draining (SIGTERM:
 * no new connections), dead (killed, or drained), starting (not serving yet).
 */
export type InstanceState = "up" | "paused" | "draining" | "dead" | "starting";

/**
 * Why an instance's legs end early: it was killed, the router ejected it, its
 * drain ran out, or it refused the connection.
 */
export interface LegEnd {
  reason: "killed" | "ejected" | "cut" | "refused";
  /** What happened, for the error text (`/health: no answer within 2000 ms`). */
  detail: string;
}

/** The settings of one instance: its `deno task sim` flags, parsed by the engine's own parser. */
function instanceConfig(args: string[], env: Record<string, string>): SimConfig {
  const i = args.indexOf(SIM_ENTRY);
  return simConfig(parseFlags(args.slice(i + 1), SIM_FLAGS).values, env);
}

/** What an instance is built on: the loop, the decode stepping, and (to take requests) the inputs. */
export interface InstanceContext {
  loop: EventLoop;
  /** Advance running decodes together (the engine's `batchDecodes`). */
  batchDecodes: boolean;
  /** What its request frontend needs; without it the instance has none. */
  inputs?: { tokenizer: Tokenizer; prompts: PromptTokens; vocab: OutputVocab };
}

/** One engine instance from its `deno task sim` command line (as `up` would start it). */
export function virtualInstance(
  name: string,
  planRole: string,
  cmd: { args: string[]; env: Record<string, string> },
  x: InstanceContext,
): VirtualInstance {
  const { inputs } = x;
  const cfg = instanceConfig(cmd.args, cmd.env);
  const { cost, profile, maxModelLen, options, rankOptions } = engineParts(cfg);
  const role: Role = planRole === "server" || planRole === "replicas"
    ? "backend"
    : planRole as Role;
  const frontend = inputs && new RequestFrontend({
    servedModelName: cfg.servedModelName ?? cfg.model,
    profile,
    tokenizer: inputs.tokenizer,
    prompts: inputs.prompts,
    vocab: inputs.vocab,
    maxModelLen,
    meanOutputTokens: cfg.meanOutputTokens,
  });
  return {
    name,
    role,
    engine: cfg.dp > 1
      ? new VirtualDpGroup({
        clock: x.loop,
        cost,
        rankOptions: () => ({ ...rankOptions(), batchDecodes: x.batchDecodes }),
        jitter: cfg.jitter,
        seed: cfg.seed,
      })
      : new VirtualEngine({ ...options, clock: x.loop, batchDecodes: x.batchDecodes }),
    link: new KvLink(cost, cfg.kvLinkGBps, cfg.kvLatencyMs, cfg.kvPerBlockUs, cfg.blockSize),
    cfg,
    ec: cfg.ecTransferConfig ? parseEcTransferConfig(cfg.ecTransferConfig) : undefined,
    maxModelLen,
    inFlight: 0,
    frontend,
    state: "up",
    healthy: true,
    ending: null,
  };
}

/**
 * Rank `r` of a data-parallel instance as a router backend of its own
 * (`dp_lb: external`): its own name and requests in flight, requests pinned to
 * that rank; its life (state, health, ending legs) is the instance's.
 */
function rankTarget(inst: VirtualInstance, r: number, name: string): VirtualInstance | undefined {
  if (!(inst.engine instanceof VirtualDpGroup) || r >= inst.engine.ranks.length) return undefined;
  const t = { ...inst, name, engine: inst.engine.rank(r), inFlight: 0 };
  for (const k of ["state", "healthy", "ending"] as const) {
    Object.defineProperty(t, k, {
      get: () => inst[k],
      set: (v) => (inst as unknown as Record<string, unknown>)[k] = v,
      enumerable: true,
    });
  }
  return t;
}

/**
 * What the router routes to for one role list of its configuration: the
 * instances, or with external load balancing each rank of an instance
 * (`launch/router/core/dp_ranks.ts`), in the configuration's order.
 */
export function routedTargets(
  backends: readonly BackendSpec[],
  instances: readonly VirtualInstance[],
  file: string,
): VirtualInstance[] {
  const byName = new Map(instances.map((i) => [i.name, i]));
  return resolveBackends(backends, (n) => byName.get(n), (i) => i, rankTarget, file);
}
