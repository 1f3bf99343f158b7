/**
 * The pipeline's command line, shared by `pipeline.ts`, `bench:<name>`,
 * `demo` and `predict EXPERIMENT`: its flags, how they become
 * {@linkcode PipelineOptions}, and the findings printed at the end.
 *
 * @module
 */
import { join } from "node:path";
import { parseSet } from "../launch/topology_set.ts";
import { listFlag, numberFlag } from "../lib/args.ts";
import { fieldError } from "../lib/errors.ts";
import { ATTAINMENT_FLAG, attainmentFromFlags } from "../lib/metrics.ts";
import type { PipelineOptions, PipelineResult } from "./pipeline.ts";
/** Command-line flags shared by `pipeline.ts`, `bench:<name>` and `demo`. */
export const PIPELINE_FLAGS = {
  clock: {
    type: "string" as const,
    help:
      "virtual (one process, virtual time; default for sim) or live (processes on the wall clock)",
  },
  speed: {
    type: "string" as const,
    help: "Live clock: simulated engine speed-up (overrides the files)",
  },
  engine: {
    type: "string" as const,
    default: "sim",
    help: "sim or vllm (uses the vllm_* topology files)",
  },
  model: { type: "string" as const, help: "Model overriding the topology files" },
  only: { type: "string" as const, help: "Only these topology labels (comma-separated)" },
  rates: { type: "string" as const, help: "Rates overriding the sweep (comma-separated)" },
  "num-requests": { type: "string" as const, help: "Requests (conversations) per point" },
  out: { type: "string" as const, default: "results", help: "Results root" },
  "port-base": {
    type: "string" as const,
    help: "First port of each topology (default: a free range on sim)",
  },
  resume: {
    type: "string" as const,
    default: "auto",
    help:
      "Finished points: auto (reuse when settings match, else rerun) or strict (refuse changes)",
  },
  "no-plot": { type: "boolean" as const, default: false, help: "Skip figures and report.html" },
  verbose: { type: "boolean" as const, default: false, help: "Show bench's result blocks" },
  workers: {
    type: "string" as const,
    help:
      "Virtual clock: topologies swept in parallel, at most N at a time (default: 2, or 1 on one core; 1: one after the other)",
  },
  set: {
    type: "string" as const,
    multiple: true,
    help: "Change a field of every topology, e.g. --set decode.tp=2",
    placeholder: "field=value",
  },
  attainment: {
    ...ATTAINMENT_FLAG.attainment,
    default: undefined,
    help: "SLO attainment target, percent, overriding the experiment's attainment (e.g. 90)",
  },
};

/** Reads {@linkcode PIPELINE_FLAGS} into pipeline options. */
export function pipelineOptions(values: Record<string, unknown>): PipelineOptions {
  const v = values as Parameters<typeof numberFlag>[0];
  const engine = v.engine as string;
  if (engine !== "sim" && engine !== "vllm") {
    throw fieldError({ field: "--engine", value: engine, expected: "sim or vllm" });
  }
  const clock = v.clock as string | undefined;
  if (clock !== undefined && clock !== "virtual" && clock !== "live") {
    throw fieldError({ field: "--clock", value: clock, expected: "virtual or live" });
  }
  if (clock === "virtual" && engine === "vllm") {
    throw fieldError({ field: "--clock", value: clock, expected: "live with --engine vllm" });
  }
  const resume = v.resume as string;
  if (resume !== "auto" && resume !== "strict") {
    throw fieldError({ field: "--resume", value: resume, expected: "auto or strict" });
  }
  return {
    clock: clock ?? null,
    resume,
    outRoot: v.out as string,
    speed: numberFlag(v, "speed", { min: 0.01 }) ?? null,
    engine,
    model: (v.model as string | undefined) ?? null,
    only: listFlag(v, "only"),
    rates: listFlag(v, "rates").map((r) => {
      if (!(Number(r) > 0)) {
        throw fieldError({ field: "--rates", value: v.rates, expected: "positive rates" });
      }
      return Number(r);
    }),
    numRequests: numberFlag(v, "num-requests", { min: 1, integer: true }) ?? null,
    portBase: numberFlag(v, "port-base", { min: 1, max: 65000, integer: true }) ??
      (engine === "sim" ? "auto" : null),
    plot: v["no-plot"] !== true,
    verbose: v.verbose === true,
    workers: numberFlag(v, "workers", { min: 1, integer: true }) ?? null,
    sets: ((values.set as string[] | undefined) ?? []).map((x) => parseSet(x)),
    attainmentPct: attainmentFromFlags(values) ?? null,
  };
}

/** The findings for people, on stderr: the recommendation first (stdout keeps the paths). */
export function printFindings(res: PipelineResult, clock: string): void {
  console.error(`\nFindings (${clock}; also in ${join(res.expDir, "findings.md")}):`);
  for (const l of res.findings) console.error(`- ${l}`);
}
