/**
 * `deno task plan`'s search: the candidates of a GPU budget written as one
 * experiment file (`DIR/plan_experiment.yaml`, every candidate a sized
 * shipped topology) and run by the pipeline in virtual time, in waves
 * (`_waves.ts`): a candidate that misses the SLO at the best capacity per GPU
 * found so far is left out after that one point; the others get their SLO
 * capacity by bracketing and bisection (`rates: auto`, lib/slo_search.ts).
 * Then one pipeline run over the searched candidates (finished points reused)
 * ranks them, narrows the two leaders when their brackets overlap and draws
 * the report. The answer: `plan.json`, `recommended.yaml` (the winner's
 * topology file) and the ranked table.
 *
 * @module
 */
import { basename, dirname, join, resolve } from "node:path";
import { stringify } from "yaml";
import { type Experiment, loadExperiment, sloFlag } from "../_experiment.ts";
import { runPipeline } from "../pipeline.ts";
import { runWaves, searchOrder } from "./_waves.ts";
import { validateLive } from "./validate_live.ts";
import { writeDeployment } from "./deploy_files.ts";
import type { TopologySet } from "../../launch/topology_set.ts";
import { writeFileAtomic, writeJsonAtomic } from "../../lib/write_file.ts";
import { planCandidates, type PlanQuestion } from "./candidates.ts";
import { loadGpu } from "../../launch/sim/core/profile_files.ts";
import {
  answerLine,
  gpusForRate,
  MODEL_ERROR_PCT,
  type PlanAnswer,
  planMd,
  rankedCandidates,
} from "./answer.ts";
import { plot } from "../../plot/plot.ts";

/** Options of {@linkcode runPlan}. */
export interface PlanOptions {
  question: PlanQuestion;
  /** Bench workload flags without `--` (`dataset: multiturn`, `preset: W1`, ...). */
  workload: Record<string, string | number>;
  slo: { ttftMs?: number; tpotMs?: number };
  /** Share of requests within the SLO, percent. */
  attainmentPct: number;
  /** The plan's folder (its name names the experiment). */
  out: string;
  /**
   * Width of the SLO-capacity bracket the search stops at (failing / passing
   * rate); the two leaders are narrowed to 2% when they overlap. @default 1.1
   */
  resolution?: number;
  /** Repeats per point (seeds differ; means and intervals, differences tested). @default 1 */
  runs?: number;
  /** Virtual-time workers (points on both cores). @default the pipeline's */
  workers?: number | null;
  /** A rate to carry (the workload's unit): how many GPUs the recommendation needs for it. @default none */
  targetRate?: number;
  /** Price of one GPU for an hour, US dollars (cost per token). @default none */
  usdPerGpuHour?: number;
  /**
   * Check the recommendation and the runner-up live (processes on this host,
   * speed 1) at 80% and 100% of their capacity, seconds per point; 0: no check. @default 0
   */
  liveCheckS?: number;
  /** Engine of the live check: the simulated engine or real vLLM (a GPU host). @default "sim" */
  liveEngine?: "sim" | "vllm";
  /** Field changes to the live-checked topologies. @default [] */
  liveSets?: TopologySet[];
  /** Draw the pipeline's figures and report.html. @default true */
  plot?: boolean;
  startTime?: Date;
  signal?: AbortSignal;
  log?: (msg: string) => void;
}

/**
 * Candidates probed at once in a wave: fixed, so that what is left out does not
 * depend on the number of workers.
 */
export const WAVE_WIDTH = 2;

/** The experiment file of a plan: one entry per candidate. */
function experimentYaml(o: PlanOptions, cands: ReturnType<typeof planCandidates>): string {
  const slo = {
    ...(o.slo.ttftMs !== undefined ? { ttft_ms: o.slo.ttftMs } : {}),
    ...(o.slo.tpotMs !== undefined ? { tpot_ms: o.slo.tpotMs } : {}),
  };
  const exp = {
    name: basename(resolve(o.out)),
    description: `deno task plan: ${o.question.model} on ${o.question.gpus} x ${o.question.gpu}`,
    clock: "virtual",
    topologies: cands.candidates.map((c) => ({ label: c.label, file: c.file, set: c.set })),
    workload: o.workload,
    sweep: {
      rates: "auto",
      auto: { points: 1, resolution: o.resolution ?? 1.1 },
      ...(o.runs && o.runs > 1 ? { runs: o.runs } : {}),
    },
    slo,
    attainment: o.attainmentPct,
  };
  return `# written by deno task plan (the question's candidates); deno task predict runs it again\n${
    stringify(exp)
  }`;
}

/** The candidates of `o`, or a RangeError naming why none is left. */
function candidatesOf(o: PlanOptions): ReturnType<typeof planCandidates> {
  const cands = planCandidates(o.question);
  if (!cands.candidates.length) {
    throw new RangeError(
      `Cannot plan ${o.question.model} on ${o.question.gpus} x ${o.question.gpu}: current value leaves no candidate (${
        cands.pruned.map((p) => `${p.label}: ${p.why}`).join("; ") || "no size of the kinds fits"
      }); allowed: --tp sizes whose instances hold the model and fit in --gpus (pd and ppd need at least two instances)`,
    );
  }
  return cands;
}

/** The experiment file, the waves and one final pipeline run (ranking, no figures yet). */
async function search(o: PlanOptions, cands: ReturnType<typeof planCandidates>, out: string) {
  await Deno.mkdir(out, { recursive: true });
  const expFile = join(out, "plan_experiment.yaml");
  await writeFileAtomic(expFile, experimentYaml(o, cands));
  const exp = await loadExperiment(expFile);
  const po = {
    outRoot: dirname(out),
    clock: "virtual" as const,
    startTime: o.startTime,
    workers: o.workers,
    signal: o.signal,
    log: o.log,
  };
  const order = searchOrder(cands.candidates);
  const waves = await runWaves(exp, order, WAVE_WIDTH, o.attainmentPct / 100, po);
  // the report is drawn once plan.md exists, so that it opens with the answer
  const res = await runPipeline(exp, {
    ...po,
    only: waves.searched.map((c) => c.label),
    plot: false,
    quietResumed: true, // its points ran (and were shown) in the waves
  });
  const ranking = res.crossover.ranking;
  if (!ranking) throw new Error(`Cannot rank the candidates of ${expFile}: no SLO was given`);
  return { exp, waves, res, ranking };
}

/** `--validate live`: the recommendation and the runner-up run live, beside the prediction, into `answer`. */
async function liveCheck(
  o: PlanOptions,
  exp: Experiment,
  answer: PlanAnswer,
  out: string,
): Promise<void> {
  answer.live_check_engine = o.liveEngine ?? "sim";
  answer.live_check = await validateLive(exp, answer.candidates.slice(0, 2), {
    durationS: o.liveCheckS,
    outRoot: join(out, "live-check"),
    engine: o.liveEngine,
    sets: o.liveSets,
    signal: o.signal,
    log: o.log,
  });
}

/** Runs the search and writes the answer into `o.out`; returns `plan.json`'s content. */
export async function runPlan(o: PlanOptions): Promise<PlanAnswer> {
  const t0 = performance.now();
  const cands = candidatesOf(o);
  const out = resolve(o.out);
  const { exp, waves, res, ranking } = await search(o, cands, out);
  const topo = (label: string) => join(res.expDir, ".topologies", `${label}.yaml`);
  const candidates = rankedCandidates(ranking, cands.candidates, topo, {
    usdPerGpuHour: o.usdPerGpuHour ?? null,
    tdpW: loadGpu(o.question.gpu).tdpW ?? null,
  }, res.rows);
  const best = candidates[0]?.status !== "no rate meets the SLO" ? candidates[0] : undefined;
  const deploy = best
    ? await writeDeployment({
      out,
      topology: best.topology,
      gpus: best.gpus,
      capacity: best.slo_capacity,
      workload: o.workload,
      slo: sloFlag(o.slo) ?? "",
    })
    : null;
  const answer: PlanAnswer = {
    question: {
      ...o.question,
      slo: { ttft_ms: o.slo.ttftMs ?? null, tpot_ms: o.slo.tpotMs ?? null },
      attainment_pct: o.attainmentPct,
      workload: o.workload,
    },
    clock: "SIMULATED engine, virtual clock",
    elapsed_s: Math.round((performance.now() - t0) / 100) / 10,
    unit: ranking.rate_unit,
    candidates,
    pruned: [...cands.pruned, ...waves.pruned],
    searched: waves.searched.length,
    points: waves.points,
    recommended: best?.label ?? null,
    model_error_pct: MODEL_ERROR_PCT,
    target: o.targetRate === undefined
      ? null
      : { rate: o.targetRate, gpus: gpusForRate(best, o.targetRate) },
    answer: answerLine(candidates, res.rows, o.question.gpus),
    experiment_dir: res.expDir,
    deploy,
  };
  if (o.liveCheckS && best) await liveCheck(o, exp, answer, out);
  await writeJsonAtomic(join(out, "plan.json"), answer);
  await writeFileAtomic(join(out, "plan.md"), planMd(answer));
  if (o.plot !== false) {
    await plot(res.expDir, {
      formats: exp.plots.formats,
      logY: exp.plots.logY,
      slo: exp.slo ?? undefined,
      sloTarget: exp.targetPct / 100,
      ranking,
    });
  }
  return answer;
}
