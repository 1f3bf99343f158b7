/**
 * `deno task calibrate`: reproduces every row of ../shared/calibration/published.md
 * with the simulated engine in virtual time (seconds) and prints
 * `published | simulated | error % | agrees`, then the direction rows with the
 * model's verdict, then the real per-request vLLM runs of
 * `fixtures/calibration/traces` replayed as `deno task validate` replays them
 * (`_traces.ts`). Gates: every absolute row within its tolerance (±15%), every
 * direction row agreeing, except the known misses listed here with their reason
 * (a known miss that starts to agree fails too, so the list stays true), every
 * trace's mean and p50 within 10% and p90 within 15%.
 *
 *     deno task calibrate [--json] [--absolute-only]
 *
 * @module
 */
import { type CommandHelp, parseCommand, runMain } from "../../lib/args.ts";
import { absoluteRows, type Row } from "./_absolute.ts";
import { type DirectionRow, directionRows } from "./_directions.ts";
import { type TraceRow, traceRows } from "./_traces.ts";

const FLAGS = {
  json: { type: "boolean" as const, default: false, help: "Print JSON instead of tables" },
  "absolute-only": {
    type: "boolean" as const,
    default: false,
    help: "Skip the direction rows (whole-topology runs, about 2.5 of the ~4 s)",
  },
};

const HELP: CommandHelp = {
  cmd: "deno task calibrate",
  summary:
    "Simulated engine vs published vLLM measurements (rows and sources: docs/calibration.md), in virtual time.",
};

/**
 * Published directions the model does not reproduce, by row id and claim start,
 * with why. Each must still disagree (else the gate fails: remove it here).
 */
export const KNOWN_MISSES: readonly { id: string; claim: string; why: string }[] = [
  {
    id: "PPD suite",
    claim: "PPD beats 2 replicas",
    why:
      "with a 20-token turn 1, PPD's prefill GPU idles and its decode GPU does every turn-2 prefill and decode, so two sticky replicas have twice its capacity in the model; the suite's metric for this claim is not stated",
  },
  {
    id: "P2P suite",
    claim: "1P1D beats aggregated",
    why:
      "prompt and output lengths are not stated; with 10 requests at once both topologies prefill the same prompts on one GPU, so the model gives PD its extra hop and transfer and no gain",
  },
];

/** One absolute row's verdict. */
export interface AbsoluteVerdict extends Row {
  errorPct: number;
  agrees: boolean;
}

/** Everything one calibration run found. */
export interface Calibration {
  absolute: AbsoluteVerdict[];
  directions: (DirectionRow & { knownMiss?: string })[];
  /** The recorded real runs, per statistic. */
  traces: TraceRow[];
  /** Gate failures, one line each (empty: passed). */
  failures: string[];
}

/** Runs the calibration; `dir` holds the direction rows' run directories. */
export async function calibrate(
  dir: string,
  o: { absoluteOnly?: boolean } = {},
): Promise<Calibration> {
  const failures: string[] = [];
  const absolute = (await absoluteRows()).map((r) => {
    const errorPct = (r.simulated / r.published - 1) * 100;
    const agrees = Math.abs(errorPct) <= (r.tolerance ?? 0.15) * 100;
    if (!agrees && !r.ungated) {
      failures.push(`${r.id} ${r.metric}: ${errorPct.toFixed(1)}% off`);
    }
    return { ...r, errorPct, agrees };
  });
  const directions = o.absoluteOnly ? [] : (await directionRows(dir)).map((d) => {
    const miss = KNOWN_MISSES.find((k) => k.id === d.id && d.claim.startsWith(k.claim));
    if (miss && d.agrees) failures.push(`${d.id} "${d.claim}" agrees now: remove its known miss`);
    if (!miss && !d.agrees) failures.push(`${d.id} "${d.claim}" disagrees`);
    return miss ? { ...d, knownMiss: miss.why } : d;
  });
  const traces = await traceRows(dir);
  for (const t of traces.filter((t) => !t.agrees)) {
    failures.push(`${t.id} ${t.metric}: ${t.errorPct.toFixed(1)}% off (gate ${t.tolerancePct}%)`);
  }
  return { absolute, directions, traces, failures };
}

const fmt = (x: number) => (Math.abs(x) >= 100 ? x.toFixed(1) : x.toFixed(2));

/** The calibration as Markdown tables (the README shows them). */
export function calibrationMd(c: Calibration): string {
  const lines = [
    "| row | figure | published | simulated | error | agrees |",
    "| --- | --- | ---: | ---: | ---: | --- |",
  ];
  for (const r of c.absolute) {
    const sign = r.errorPct >= 0 ? "+" : "−";
    lines.push(
      `| ${r.id} | ${r.metric} | ${fmt(r.published)} | ${fmt(r.simulated)} | ${sign}${
        Math.abs(r.errorPct).toFixed(1)
      }% | ${r.agrees ? "yes" : "no"}${r.ungated ? ` (${r.ungated})` : ""} |`,
    );
  }
  if (c.directions.length) {
    lines.push("", "| row | published direction | model | agrees |", "| --- | --- | --- | --- |");
    for (const d of c.directions) {
      lines.push(
        `| ${d.id} | ${d.claim} | ${d.measured} | ${
          d.agrees ? "yes" : d.knownMiss ? `no (known miss: ${d.knownMiss})` : "no"
        } |`,
      );
    }
  }
  if (c.traces.length) lines.push("", ...tracesMd(c.traces));
  const assumed = [
    ...new Set(c.absolute.filter((r) => r.assumed).map((r) => `${r.id}: ${r.assumed}`)),
  ];
  if (assumed.length) {
    lines.push(
      "",
      "Not stated by the sources, as simulated:",
      ...assumed.map((a) => `- ${a}`),
    );
  }
  return lines.join("\n");
}

/** The trace rows: one table, the runs' settings named once per run. */
function tracesMd(rows: readonly TraceRow[]): string[] {
  const lines = [
    "Real vLLM 0.19 runs replayed (fixtures/calibration/traces; `deno task validate` on each):",
    "",
    "| run | figure | real | simulated | error | agrees |",
    "| --- | --- | ---: | ---: | ---: | --- |",
  ];
  let last = "";
  for (const t of rows) {
    const sign = t.errorPct >= 0 ? "+" : "−";
    lines.push(
      `| ${t.id === last ? "" : `${t.id} (${t.what})`} | ${t.metric} | ${fmt(t.real)} | ${
        fmt(t.simulated)
      } | ${sign}${Math.abs(t.errorPct).toFixed(1)}% | ${
        t.agrees ? "yes" : "no"
      } (±${t.tolerancePct}%) |`,
    );
    last = t.id;
  }
  return lines;
}

/** CLI entry. */
export async function main(args: string[]): Promise<number> {
  const parsed = parseCommand(args, FLAGS, HELP);
  if (!parsed) return 0;
  const { values } = parsed;
  const dir = await Deno.makeTempDir({ prefix: "topobench_calibrate_" });
  try {
    const t0 = performance.now();
    const c = await calibrate(dir, { absoluteOnly: values["absolute-only"] as boolean });
    if (values.json) console.log(JSON.stringify(c, null, 2));
    else {
      console.log("SIMULATED engine (virtual clock) vs published vLLM measurements\n");
      console.log(calibrationMd(c));
    }
    const s = ((performance.now() - t0) / 1000).toFixed(1);
    if (c.failures.length) {
      console.error(
        `calibrate: ${c.failures.length} gate(s) failed in ${s} s: ${c.failures.join("; ")}`,
      );
      return 1;
    }
    console.error(`calibrate: every gate passed in ${s} s (known misses listed above)`);
    return 0;
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

if (import.meta.main) await runMain(main);
