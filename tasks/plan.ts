/**
 * `deno task plan`: which deployment of N GPUs serves this model, this traffic
 * and this SLO best, and how much it carries, found by search in virtual time
 * (SIMULATED engine; issue 31).
 *
 *     deno task plan --model meta-llama/Llama-3.1-8B-Instruct --gpu h100 --gpus 8 \
 *       --dataset multiturn --preset W1 --turns 3 --endpoint /v1/chat/completions \
 *       --slo ttft:500,tpot:50 --attainment 90 [--kinds dp,pd,ppd] [--tp 1,2] [--out DIR]
 *
 * Writes `DIR/plan.json`, `DIR/recommended.yaml` and the experiment it ran
 * (runs, merged.csv, report.html); prints the ranked table and one line. The
 * last stdout line is DIR.
 *
 * @module
 */
import { basename, join } from "node:path";
import {
  type CommandHelp,
  type FlagSpec,
  type FlagValues,
  listFlag,
  numberFlag,
  parseCommand,
  runMain,
} from "../lib/args.ts";
import { fieldError } from "../lib/errors.ts";
import { CONNECTORS, POLICIES } from "../lib/contracts.ts";
import { ATTAINMENT_FLAG, attainmentFromFlags, SLO_FLAGS, sloFromFlags } from "../lib/metrics.ts";
import { BENCH_FLAGS, flagsWithoutDefaults } from "../bench/bench_config.ts";
import { LIVE_ONLY } from "./predict.ts";
import { withSignals } from "./pipeline.ts";
import { InterruptedError } from "../lib/signals.ts";
import {
  PLAN_KINDS,
  type PlanKind,
  type PlanQuestion,
  smallestHolding,
} from "./plan/candidates.ts";
import { answerTable, type PlanAnswer } from "./plan/answer.ts";
import { type PlanOptions, runPlan } from "./plan/run_plan.ts";
import { parseSet } from "../launch/topology_set.ts";
import { liveTable } from "./plan/validate_live.ts";
import { bindingText } from "./plan/step_costs.ts";

const OWN: FlagSpec = {
  model: {
    type: "string",
    default: "meta-llama/Llama-3.1-8B-Instruct",
    help: "Served model (Hugging Face id); picks the profile unless --model-profile is given",
  },
  "model-profile": { type: "string", help: "Model profile id or a Hugging Face config.json" },
  gpu: { type: "string", default: "h100", help: "GPU profile id or a GPU YAML file" },
  gpus: {
    type: "string",
    help:
      "The GPU budget: every candidate uses at most this many, leaving fewer idle than one more instance needs (required)",
  },
  kinds: {
    type: "string",
    default: "dp,pd,ppd",
    help: "Kinds to search: agg, dp, pd, ppd, epd (multimodal: encoders of TP 1 before prefill)",
  },
  tp: { type: "string", default: "1,2", help: "Tensor-parallel sizes per instance to try" },
  dp: {
    type: "string",
    default: "1",
    help:
      "Data-parallel ranks per instance to try, MoE models only (e.g. 1,8,16: each TP with each size; an instance is dp x tp GPUs)",
  },
  ep: {
    type: "string",
    default: "on",
    help: "Expert parallelism on instances of dp > 1: on (--enable-expert-parallel) or off",
  },
  "max-gpus-per-instance": { type: "string", help: "Largest TP an instance may have" },
  policies: {
    type: "string",
    help:
      "dp routing policies to compare (round_robin, least_loaded, session, prefix; default: session on multi-turn traffic, else the topology's)",
  },
  connectors: {
    type: "string",
    help: "KV connectors to compare for pd and ppd (nixl, p2pnccl, lmcache; default nixl)",
  },
  out: {
    type: "string",
    help: "The plan's folder (default results/plan-<gpus>x<gpu>-<model>-<hash of the question>)",
  },
  resolution: {
    type: "string",
    default: "1.1",
    help:
      "Stop a candidate's search when failing/passing rate <= this (the two leaders go to 1.02)",
  },
  workers: { type: "string", help: "Points in parallel (default: 2, or 1 on one core)" },
  runs: {
    type: "string",
    help: "Repeats per point, each with its own seed (noise estimates; differences tested)",
  },
  "target-rate": {
    type: "string",
    help:
      "A load to carry (conv/s on multi-turn, else req/s): how many GPUs the recommendation needs",
  },
  "price-per-gpu-hour": {
    type: "string",
    help: "US dollars per GPU-hour: adds $ per million output tokens at capacity",
  },
  "no-plot": { type: "boolean", default: false, help: "Skip figures and report.html" },
  validate: {
    type: "string",
    help:
      "live: run the recommendation and the runner-up as real processes (--check-engine: the simulated engine at speed 1, or vLLM) at 80% and 100% of their capacity beside the prediction",
  },
  "check-engine": {
    type: "string",
    default: "sim",
    help:
      "Engine of the --validate live points: sim (simulated engine processes) or vllm (the same sizes on real vLLM: a GPU host)",
  },
  "check-set": {
    type: "string",
    multiple: true,
    placeholder: "field=value",
    help:
      "Change a field of the live-checked topologies, e.g. --check-set vllm.extra_args=[--max-model-len,8192]",
  },
  "check-duration": {
    type: "string",
    help: "Seconds of each --validate live point (default: the workload's --duration)",
  },
  "start-time": { type: "string", help: "Start instant (ISO): the same one gives identical files" },
  ...SLO_FLAGS,
  ...ATTAINMENT_FLAG,
};

/** Bench flags that are not workload: the plan or the pipeline sets them. */
const NOT_WORKLOAD = new Set(["url", "out", "rate", "topology", "gpus", "runs", "model", "help"]);

function flagSpec(withDefaults: boolean): FlagSpec {
  const out: FlagSpec = { ...OWN };
  const bench = withDefaults ? BENCH_FLAGS : flagsWithoutDefaults();
  for (const [k, d] of Object.entries(bench)) {
    if (!(k in out) && !NOT_WORKLOAD.has(k) && !LIVE_ONLY.has(k)) out[k] = d;
  }
  return out;
}

const HELP: CommandHelp = {
  cmd: "deno task plan --gpus N [--model M --gpu G] [bench's workload flags] --slo ttft:MS,tpot:MS",
  summary:
    "Searches every deployment of at most N GPUs (dp replicas, P:D and E:P:D splits, TP per " +
    "role, routing policies and KV connectors when asked) for the highest SLO capacity per GPU, " +
    "in virtual time (SIMULATED engine); writes plan.json, recommended.yaml (+ _vllm, _k8s) and a " +
    "report that ends with the commands to measure it on GPUs.",
  flags: flagSpec(true),
};

/** The question of parsed flags. */
function questionOf(values: FlagValues): PlanQuestion {
  const gpus = numberFlag(values, "gpus", { min: 1, max: 4096, integer: true });
  if (gpus === undefined) {
    throw new TypeError(
      "Cannot plan without --gpus: current value is missing; allowed: the GPU budget, e.g. --gpus 8",
    );
  }
  const kinds = listFlag(values, "kinds") ?? ["dp", "pd", "ppd"];
  const bad = kinds.find((k) => !(PLAN_KINDS as readonly string[]).includes(k));
  if (bad) throw fieldError({ field: "--kinds", value: bad, expected: PLAN_KINDS.join(", ") });
  const cap = numberFlag(values, "max-gpus-per-instance", { min: 1, integer: true });
  const tps = wholeNumbers(values, "tp", "1").filter((t) => cap === undefined || t <= cap);
  if (!tps.length) {
    throw fieldError({
      field: "--max-gpus-per-instance",
      value: cap,
      expected: "at least one of the --tp sizes",
    });
  }
  const dps = wholeNumbers(values, "dp", "1");
  const ep = String(values.ep ?? "on");
  if (ep !== "on" && ep !== "off") {
    throw fieldError({ field: "--ep", value: ep, expected: "on, off" });
  }
  return {
    ...choices(values),
    ...(dps.some((d) => d > 1) ? { dps, ep: ep === "on" } : {}),
    model: String(values.model),
    ...(values["model-profile"] ? { modelProfile: String(values["model-profile"]) } : {}),
    gpu: String(values.gpu),
    gpus,
    kinds: kinds as PlanKind[],
    tps,
  };
}

/** A list flag of whole numbers >= 1 (`--tp 1,2,4`), checked. */
function wholeNumbers(values: FlagValues, flag: string, fallback: string): number[] {
  return (listFlag(values, flag) ?? [fallback]).map((t) => {
    const n = Number(t);
    if (!Number.isInteger(n) || n < 1) {
      throw fieldError({
        field: `--${flag}`,
        value: t,
        expected: "whole numbers >= 1, e.g. 1,2,4",
      });
    }
    return n;
  });
}

/** `--policies` and `--connectors`, checked. */
function choices(values: FlagValues): Pick<PlanQuestion, "policies" | "connectors"> {
  const pick = <T extends string>(flag: string, allowed: readonly T[]): T[] | undefined => {
    const xs = listFlag(values, flag);
    const bad = xs?.find((x) => !(allowed as readonly string[]).includes(x));
    if (bad) throw fieldError({ field: `--${flag}`, value: bad, expected: allowed.join(", ") });
    return xs?.length ? [...new Set(xs)] as T[] : undefined;
  };
  const policies = pick("policies", POLICIES);
  const connectors = pick("connectors", CONNECTORS);
  return { ...(policies ? { policies } : {}), ...(connectors ? { connectors } : {}) };
}

/** Bench workload flags given on the command line, as an experiment's `workload`. */
function workloadOf(values: FlagValues): Record<string, string | number> {
  const bench = flagsWithoutDefaults();
  const out: Record<string, string | number> = {};
  for (const k of Object.keys(bench)) {
    const v = values[k];
    if (k in OWN || NOT_WORKLOAD.has(k) || v === undefined || v === false) continue;
    if (LIVE_ONLY.has(k)) {
      throw fieldError({
        field: `--${k}`,
        value: v,
        expected: "absent: plan runs in virtual time",
      });
    }
    out[k] = Array.isArray(v) ? v.join(",") : v === true ? "true" : String(v);
  }
  out.duration ??= "60";
  return out;
}

/**
 * `results/plan-<N>x<gpu>-<model>-<hash>`: one folder per question (a rerun of
 * the same question resumes its points; another question never mixes in).
 */
function defaultOut(
  q: PlanQuestion,
  workload: Record<string, string | number>,
  slo: unknown,
): string {
  const key = JSON.stringify({ q, workload, slo });
  let h = 2166136261;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 16777619) >>> 0;
  const name = (x: string) => basename(x).replace(/\.(ya?ml|json)$/i, "").toLowerCase();
  return join(
    "results",
    `plan-${q.gpus}x${name(q.gpu)}-${name(q.modelProfile ?? q.model)}-${
      h.toString(16).slice(0, 6)
    }`,
  );
}

/** The live check's seconds per point (0 without `--validate live`), engine and field changes. */
function liveCheckOf(
  values: FlagValues,
): Pick<PlanOptions, "liveCheckS" | "liveEngine" | "liveSets"> {
  const engine = String(values["check-engine"] ?? "sim");
  if (engine !== "sim" && engine !== "vllm") {
    throw fieldError({ field: "--check-engine", value: engine, expected: "sim, vllm" });
  }
  const liveSets = ((values["check-set"] as string[] | undefined) ?? []).map((x) =>
    parseSet(x, "--check-set")
  );
  if (values.validate === undefined) return { liveCheckS: 0 };
  if (values.validate !== "live") {
    throw fieldError({ field: "--validate", value: values.validate, expected: "live" });
  }
  const liveCheckS = numberFlag(values, "check-duration", { min: 1, max: 3600 }) ??
    Number(values.duration ?? 60);
  return { liveCheckS, liveEngine: engine, liveSets };
}

/**
 * Runs `fn`; when Ctrl-C stops it, says what is kept before the error ends the
 * command (exit 130): the finished points stay in `out`, and the same command
 * resumes from them.
 */
async function resumable<T>(out: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof InterruptedError) {
      let points = 0;
      try {
        for (const d of Deno.readDirSync(out)) {
          if (d.isDirectory && /-r[\d.]+$|-probe$/.test(d.name)) points++;
        }
      } catch { /* nothing was written yet */ }
      console.error(
        `plan: interrupted; ${points} finished points are kept in ${out}: run the same command again to resume from them`,
      );
    }
    throw e;
  }
}

/**
 * Candidates left out before running (an instance cannot hold the model): one
 * line each when few, else one line with their count, an example and the
 * smallest instance that holds the model (plan.json lists every one).
 */
function printUnfit(answer: PlanAnswer): void {
  const unfit = answer.pruned.filter((p) => !p.at);
  if (unfit.length <= 3) {
    for (const p of unfit) console.log(`left out ${p.label}: ${p.why}`);
    return;
  }
  const smallest = smallestHolding(answer.question);
  console.log(
    `left out ${unfit.length} candidates whose instances cannot hold the model (e.g. ${
      unfit[0].label
    }: ${unfit[0].why}); ${
      smallest
        ? `the smallest instance that holds it: ${smallest}`
        : "no instance within --gpus holds it"
    } (plan.json lists all)`,
  );
}

/** The answer on stdout: counts, the ranked table, what was left out, the live check, the line. */
function printAnswer(answer: PlanAnswer, gpus: number): void {
  console.log(
    `\nSIMULATED engine, virtual clock: ${
      answer.searched + answer.pruned.length
    } candidates, ${answer.searched} searched in full, ${answer.points} points, ${answer.elapsed_s} s`,
  );
  console.log(answerTable(answer.candidates));
  printUnfit(answer);
  const after = answer.pruned.filter((p) => p.at).sort((a, b) =>
    b.at!.attainment - a.at!.attainment
  );
  if (after.length) {
    const pct = (x: number) => `${(x * 100).toFixed(0)}%`;
    console.log(
      `left out after one point each (they miss the SLO where the best holds it per GPU): ${after.length}, e.g. ${
        after.slice(0, 4).map((p) =>
          `${p.label} ${pct(p.at!.attainment)} within the SLO at ${p.at!.rate} ${answer.unit}`
        ).join(", ")
      } (plan.json lists all)`,
    );
  }
  if (answer.live_check) {
    const engine = answer.live_check_engine === "vllm" ? "vLLM" : "simulated engine, speed 1";
    console.log(`\nlive check (real processes, ${engine}):\n${liveTable(answer.live_check)}`);
  }
  // where the step time goes: the ranked candidates here, those left out in plan.md
  for (const c of answer.candidates.filter((c) => c.step_costs)) {
    console.log(`${c.label}: ${c.step_costs!.map(bindingText).join("; ")}`);
  }
  const leftOut = answer.pruned.filter((c) => c.step_costs).length;
  if (leftOut) console.log(`(where the step time goes for the ${leftOut} left out: plan.md)`);
  console.log(`\n${answer.answer}`);
  if (answer.target) {
    const { rate, gpus: need } = answer.target;
    console.log(
      need === null
        ? `For ${rate} ${answer.unit}: no deployment of ${gpus} GPUs meets the SLO; ask with more --gpus.`
        : `For ${rate} ${answer.unit}: ${need} GPUs as copies of ${answer.recommended} (its capacity per GPU; exact for replicas, an estimate for disaggregated kinds).`,
    );
  }
}

/** Runs the CLI; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  const parsed = parseCommand(args, flagSpec(false), HELP);
  if (!parsed) return 0;
  const values: FlagValues = { ...parsed.values } as FlagValues;
  for (const [k, d] of Object.entries(OWN)) values[k] ??= d.default;
  const question = questionOf(values);
  const slo = sloFromFlags(values);
  if (!slo) {
    throw new TypeError(
      "Cannot plan without --slo: current value is missing; allowed: an SLO, e.g. --slo ttft:500,tpot:50",
    );
  }
  const workload = workloadOf(values);
  const out = String(values.out ?? defaultOut(question, workload, slo));
  const start = values["start-time"] ? new Date(String(values["start-time"])) : undefined;
  if (start && Number.isNaN(start.getTime())) {
    throw fieldError({
      field: "--start-time",
      value: values["start-time"],
      expected: "an ISO date",
    });
  }
  const answer = await resumable(out, () =>
    withSignals((signal) =>
      runPlan({
        question,
        workload,
        slo,
        attainmentPct: attainmentFromFlags(values) ?? 90,
        out,
        resolution: numberFlag(values, "resolution", { min: 1.01, max: 2 }),
        workers: numberFlag(values, "workers", { min: 1, integer: true }) ?? null,
        runs: numberFlag(values, "runs", { min: 1, max: 20, integer: true }),
        usdPerGpuHour: numberFlag(values, "price-per-gpu-hour", { min: 0 }),
        targetRate: numberFlag(values, "target-rate", { min: 1e-6 }),
        ...liveCheckOf(values),
        plot: values["no-plot"] !== true,
        startTime: start,
        signal,
      })
    ));
  printAnswer(answer, question.gpus);
  console.log(out);
  // no deployment meets the SLO: an answer, but not a deployment to run
  return answer.recommended === null ? 2 : 0;
}

if (import.meta.main) await runMain(main);
