/**
 * Perf entry `plan` (issue 31): the wall time of `deno task plan` on its two
 * questions, each a child process as a user runs it: the 8-GPU question
 * (H100 × Llama-3.1-8B, W1 multi-turn 3 turns, TTFT ≤ 500 ms / TPOT ≤ 50 ms
 * at 90%, dp / pd / ppd, TP 1–2, report included; goal ≤ 60 s) and 64 H100s
 * × Llama-3.1-70B over dp and pd with TP 2–8 (`--no-plot`; goal ≤ 5 min),
 * with the counts of candidates, searched ones and points from `plan.json`.
 * The 8-GPU answer is then checked as a hand-run sweep would: the
 * recommendation run by `predict` at 0.9× its capacity meets the SLO and at
 * 1.15× does not, and every other searched candidate misses it at the
 * recommendation's load per GPU (those left out missed it at a load per GPU
 * no higher, during the search).
 *
 * @module
 */
import { join } from "node:path";
import type { PerfResult } from "../perf.ts";
import type { PlanAnswer } from "../../plan/answer.ts";

const W1 = [
  "--endpoint",
  "/v1/chat/completions",
  "--dataset",
  "multiturn",
  "--preset",
  "W1",
  "--turns",
  "3",
  "--slo",
  "ttft:500,tpot:50",
  "--start-time",
  "2026-12-01T00:00:00Z",
];

/** The two questions: name, flags, goal in seconds. */
const QUESTIONS: [string, string[], number][] = [
  ["8 x H100, Llama-3.1-8B", ["--gpus", "8", "--gpu", "h100", ...W1], 60],
  [
    "64 x H100, Llama-3.1-70B",
    [
      "--gpus",
      "64",
      "--gpu",
      "h100",
      "--model",
      "meta-llama/Llama-3.1-70B-Instruct",
      "--kinds",
      "dp,pd",
      "--tp",
      "2,4,8",
      "--no-plot",
      ...W1,
    ],
    300,
  ],
];

/** Runs one question in `dir`; its wall seconds and plan.json. */
async function runOne(flags: string[], dir: string): Promise<{ s: number; plan: PlanAnswer }> {
  const out = join(dir, "plan");
  const t0 = performance.now();
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "tasks/plan.ts", ...flags, "--out", out],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const s = (performance.now() - t0) / 1000;
  if (r.code !== 0) {
    throw new Error(
      `Cannot measure deno task plan ${flags.join(" ")}: exit ${r.code}: ${
        new TextDecoder().decode(r.stderr).slice(-400)
      }`,
    );
  }
  return { s, plan: JSON.parse(await Deno.readTextFile(join(out, "plan.json"))) };
}

/** Share of requests within the SLO when `predict` runs `topology` at `rate` with the plan's workload. */
async function attainment(plan: PlanAnswer, topology: string, rate: number, dir: string) {
  const w = Object.entries(plan.question.workload).flatMap(([k, v]) => [`--${k}`, String(v)]);
  const out = join(dir, `check-${rate}-${Math.random().toString(36).slice(2, 8)}`);
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "tasks/predict.ts", "--topology", topology, ...w, "--rate", String(rate)]
      .concat(["--slo", "ttft:500,tpot:50", "--start-time", "2026-12-01T00:00:00Z", "--out", out]),
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (r.code !== 0) throw new Error(new TextDecoder().decode(r.stderr).slice(-400));
  const runDir = new TextDecoder().decode(r.stdout).trim().split("\n").at(-1)!;
  const sum = JSON.parse(await Deno.readTextFile(join(runDir, "summary.json")));
  return (Array.isArray(sum) ? sum[0] : sum).slo_attainment as number;
}

/** The hand-run check of an answer: what holds, in words, and whether all of it holds. */
async function checkAnswer(plan: PlanAnswer, dir: string): Promise<string> {
  const [best, ...others] = plan.candidates;
  const target = plan.question.attainment_pct / 100;
  const r2 = (x: number) => Number(x.toFixed(2));
  const below = await attainment(plan, best.topology, r2(0.9 * best.slo_capacity), dir);
  const above = await attainment(plan, best.topology, r2(1.15 * best.slo_capacity), dir);
  const miss: string[] = [];
  for (const o of others) {
    const a = await attainment(plan, o.topology, r2(best.goodput_per_gpu! * o.gpus), dir);
    if (a >= target) miss.push(`${o.label} meets it (${(a * 100).toFixed(1)}%)`);
  }
  const ok = below >= target && above < target && !miss.length;
  return `hand-run check ${ok ? "holds" : "FAILS"}: ${best.label} at 0.9x ${
    (below * 100).toFixed(1)
  }%, at 1.15x ${(above * 100).toFixed(1)}%; ${others.length} other searched candidates at ${
    best.goodput_per_gpu!.toPrecision(3)
  } per GPU: ${miss.length ? miss.join(", ") : "all miss"}`;
}

/** Perf entry `plan`. */
export async function planSpeed(): Promise<PerfResult[]> {
  const out: PerfResult[] = [];
  for (const [name, flags, goal] of QUESTIONS) {
    const dir = await Deno.makeTempDir({ prefix: "topobench_perf_plan_" });
    try {
      const { s, plan } = await runOne(flags, dir);
      const check = goal === 60 ? `; ${await checkAnswer(plan, dir)}` : "";
      out.push({
        entry: "plan",
        metric: `${name}: wall`,
        value: s,
        unit: "s",
        note: `${
          plan.searched + plan.pruned.length
        } candidates, ${plan.searched} searched, ${plan.points} points; goal <= ${goal} s (${
          s <= goal ? "met" : "missed"
        }); answer: ${plan.answer}${check}`,
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  }
  return out;
}
