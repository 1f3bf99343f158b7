/**
 * The self-contained HTML report: every figure as inline SVG (with its
 * vega-lite spec and data embedded as JSON), skipped figures with reasons, the
 * summary table, each run's config, and the simulated-engine label.
 *
 * @module
 */
import type { VlSpec } from "./_common.ts";
import type { ExperimentData, PointRow } from "./_runs.ts";
import { esc, markdownToHtml } from "./_markdown.ts";
import { CONV_UNIT, offersConversations, REQ_UNIT } from "../lib/rate_unit.ts";

/** One figure of the report: rendered SVG and spec, or the reason it was skipped. */
export interface ReportFigure {
  name: string;
  svg?: string;
  spec?: VlSpec;
  skip?: string;
}

/** A column of the summary table: [key, header, decimals]; keys are merged.csv's or {@linkcode OFFERED}'s. */
export type TableColumn = [string, string, number];

/** Offered-rate keys of the table: `rate_target` split by its unit (see `lib/rate_unit.ts`). */
const OFFERED = { conv: "offered_conv_rate", req: "offered_req_rate" } as const;

/**
 * Columns of the summary table. Each rate column has one unit: offered load is
 * conversations/s on multi-turn workloads and requests/s elsewhere (two columns,
 * each blank on the other's rows); what happened is conversations started per s
 * (multi-turn), requests sent per s (every turn counts) and requests completed
 * per s over the whole run (vLLM's request throughput, drain tail included).
 */
export const TABLE_COLUMNS: TableColumn[] = [
  ["topology", "Topology", -1],
  ["workload", "Workload", -1],
  [OFFERED.conv, `Offered (${CONV_UNIT})`, 2],
  ["conversation_rate_achieved", `Started (${CONV_UNIT})`, 2],
  [OFFERED.req, `Offered (${REQ_UNIT})`, 2],
  ["rate_achieved", `Sent (${REQ_UNIT})`, 2],
  ["request_throughput", `Completed (${REQ_UNIT})`, 2],
  ["output_throughput", "Out tput (tok/s)", 0],
  ["output_throughput_steady", "Steady out tput (tok/s)", 0],
  ["success_rate", "Success", 3],
  ["p50_ttft_ms", "p50 TTFT (ms)", 1],
  ["p99_ttft_ms", "p99 TTFT (ms)", 1],
  ["p50_tpot_ms", "p50 TPOT (ms)", 2],
  ["p99_tpot_ms", "p99 TPOT (ms)", 2],
  ["p99_e2el_ms", "p99 E2E (ms)", 0],
  ["slo_attainment", "SLO att.", 3],
];

/** A point row with its offered rate under the key of its unit. */
function withOfferedUnit(r: PointRow): PointRow {
  const key = offersConversations(String(r.workload ?? "")) ? OFFERED.conv : OFFERED.req;
  return { ...r, [key]: r.rate_target };
}

function cell(v: unknown, digits: number): string {
  if (v === null || v === undefined || v === "") return "–";
  if (typeof v === "number" && digits >= 0) return v.toFixed(digits);
  return esc(String(v));
}

/** Columns shown only when some row has a value (they exist for one kind of workload). */
const WHEN_SET = new Set<string>([
  OFFERED.conv,
  OFFERED.req,
  "conversation_rate_achieved",
  "output_throughput_steady",
]);

/** The table's columns for these rows: every column, less the {@linkcode WHEN_SET} ones no row fills. */
export function tableColumns(rows: readonly PointRow[]): TableColumn[] {
  const filled = (k: string) =>
    rows.some((r) => r[k] !== null && r[k] !== undefined && r[k] !== "");
  return TABLE_COLUMNS.filter(([k]) => !WHEN_SET.has(k) || filled(k));
}

/** The summary table as HTML, sorted by topology, workload and rate. */
export function summaryTable(rows: PointRow[]): string {
  const sorted = rows.map(withOfferedUnit).sort((a, b) =>
    String(a.topology).localeCompare(String(b.topology)) ||
    String(a.workload).localeCompare(String(b.workload)) ||
    (Number(a.rate_target ?? a.rate_achieved) || 0) -
      (Number(b.rate_target ?? b.rate_achieved) || 0)
  );
  const cols = tableColumns(sorted);
  const head = cols.map(([, h]) => `<th>${esc(h)}</th>`).join("");
  const body = sorted.map((r) =>
    `<tr>${cols.map(([k, , d]) => `<td>${cell(r[k], d)}</td>`).join("")}</tr>`
  ).join("\n");
  return `<table><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

const json = (v: unknown) => JSON.stringify(v, null, 2).replace(/</g, "\\u003c");

/** The report's figure sections, by the question they answer, in order. */
export const FIGURE_SECTIONS: [string, (name: string) => boolean][] = [
  [
    "Who serves best: throughput and the Pareto frontier (per GPU)",
    (n) => /^(pareto|throughput_rate|throughput_latency)/.test(n),
  ],
  ["Latency as load grows", (n) => /^(latency_|success_rate)/.test(n)],
  ["Where it breaks: SLOs and crossovers", (n) => /^(slo_|ratio_)/.test(n)],
  ["Multi-turn and prefix reuse", (n) => /^(ttft_by_turn|ttft_per_turn|ppd_improvement)/.test(n)],
  ["Parameter grid", (n) => /^(throughput_concurrency|ttft_prompt_len)/.test(n)],
  ["Distributions", (n) => /^cdf_/.test(n)],
  ["Timelines", (n) => /^timeline_/.test(n)],
  ["Other", () => true],
];

/** The section a figure belongs to (the first whose test matches). */
export function sectionOf(name: string): string {
  return FIGURE_SECTIONS.find(([, test]) => test(name))![0];
}

/** Texts that open the report when the experiment folder has them. */
export interface ReportTexts {
  /** `plan.md` (written by `deno task plan`): its answer opens the report. */
  planMd?: string | null;
  /** `findings.md` (written by the pipeline). */
  findingsMd?: string | null;
  /** `compare.md` (written by `deno task compare` and the pipeline). */
  compareMd?: string | null;
}

/** The report's `<head>`: title and the inline style sheet. */
function headHtml(name: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>topobench report: ${esc(name)}</title>
<style>
body{font-family:"DejaVu Sans",Arial,sans-serif;margin:24px;color:#222;max-width:1400px}
.sim{background:#fff3cd;border:1px solid #e0b000;padding:8px 12px;font-weight:bold}
figure{margin:24px 0;border-bottom:1px solid #ddd;padding-bottom:12px}
figcaption{color:#666;font-size:12px}
table{border-collapse:collapse;font-size:12px}td,th{border:1px solid #ccc;padding:3px 6px;text-align:right}
td:first-child,td:nth-child(2){text-align:left}th{background:#f4f4f4}
pre{background:#f7f7f7;padding:8px;overflow:auto;font-size:11px}
#findings{background:#eef6ff;border:1px solid #9cc3ee;padding:4px 16px;margin:12px 0}
#plan{background:#effaf0;border:1px solid #8cc79a;padding:4px 16px;margin:12px 0}
#findings li{margin:4px 0}
</style></head><body>`;
}

/** The simulated-engine banner (when any run is simulated) and the counts line. */
function introHtml(data: ExperimentData, shown: number, skipped: number): string {
  const simulated = data.runs.some((r) => r.simulated) ||
    data.rows.some((r) => r.simulated === true);
  return `${
    simulated
      ? '<p class="sim" id="simulated">SIMULATED ENGINE: these results come from the embedded ' +
        "simulated vLLM engine, not from real GPUs.</p>"
      : ""
  }
<p>${data.runs.length} run director${data.runs.length === 1 ? "y" : "ies"} in <code>${
    esc(data.dir)
  }</code>${
    data.fromMerged ? " (point rows from merged.csv)" : ""
  }; ${shown} figures, ${skipped} skipped.</p>`;
}

/** plan.md when there is one, findings.md (or how to get it), then compare.md folded. */
function textsHtml(texts: ReportTexts): string {
  return `${texts.planMd ? `<section id="plan">${markdownToHtml(texts.planMd)}</section>\n` : ""}${
    texts.findingsMd
      ? `<section id="findings">${markdownToHtml(texts.findingsMd)}</section>`
      : '<section id="findings"><h2>Findings</h2><p>No findings.md in this folder: run ' +
        "<code>deno task compare</code> or the pipeline to get them.</p></section>"
  }
${
    texts.compareMd
      ? `<details id="compare"><summary>Comparison tables (compare.md)</summary>${
        markdownToHtml(texts.compareMd, 2)
      }</details>`
      : ""
  }`;
}

/** One figure: its SVG, caption and embedded vega-lite spec. */
function figureHtml(f: ReportFigure): string {
  return `<figure id="${esc(f.name)}" class="figure">${f.svg}<figcaption>${
    esc(f.name)
  }</figcaption>${
    f.spec
      ? `<script type="application/json" class="vega-lite-spec" data-figure="${esc(f.name)}">${
        json(f.spec)
      }</script>`
      : ""
  }</figure>`;
}

/** The contents list and the figures, by section (empty sections left out). */
function figuresHtml(shown: ReportFigure[]): { toc: string; figs: string } {
  const sections = FIGURE_SECTIONS.map(([title]) => ({
    title,
    figs: shown.filter((f) => sectionOf(f.name) === title),
  })).filter((s) => s.figs.length);
  const toc = sections.map((s) =>
    `<li>${esc(s.title)}: ${
      s.figs.map((f) => `<a href="#${esc(f.name)}">${esc(f.name)}</a>`).join(", ")
    }</li>`
  ).join("");
  const figs = sections.map((s) => `<h3>${esc(s.title)}</h3>\n${s.figs.map(figureHtml).join("\n")}`)
    .join("\n");
  return { toc, figs };
}

/** Skipped figures with their reasons; empty when none. */
function skippedHtml(skipped: ReportFigure[]): string {
  return skipped.length
    ? `<h2>Skipped figures</h2><ul class="skipped">${
      skipped.map((f) => `<li><b>${esc(f.name)}</b>: ${esc(f.skip ?? "not rendered")}</li>`).join(
        "",
      )
    }</ul>`
    : "";
}

/**
 * Builds the report HTML (no external resources: opens offline). It answers
 * first: findings, then the comparison tables, the summary, the figures and
 * the run configs.
 */
export function buildReport(
  data: ExperimentData,
  figures: ReportFigure[],
  texts: ReportTexts = {},
): string {
  const shown = figures.filter((f) => f.svg);
  const skipped = figures.filter((f) => !f.svg);
  const { toc, figs } = figuresHtml(shown);
  const configs = data.runs.map((r) =>
    `<details><summary>${esc(r.label)} (${esc(r.topology)})</summary><pre>${
      esc(JSON.stringify(r.config, null, 2))
    }</pre></details>`
  ).join("\n");
  return `${headHtml(data.name)}
<h1>topobench report: ${esc(data.name)}</h1>
${introHtml(data, shown.length, skipped.length)}
${textsHtml(texts)}
<h2>Contents</h2>
<ul class="toc">${toc}</ul>
<h2>Summary</h2>
${summaryTable(data.rows)}
<h2>Figures</h2>
${figs}
${skippedHtml(skipped)}
<h2>Run configs</h2>
${configs}
</body></html>
`;
}
