/**
 * Shared pieces of the chart builders: the spec and result types, the fixed
 * topology palette, titles (model, workload, topologies, GPU, simulated label),
 * axis labels with units, and the base config (font, legend outside the plot).
 *
 * @module
 */
import {
  offeredUnit as unitOf,
  offeredUnitLong,
  offersConversations as conversationLoad,
} from "../lib/rate_unit.ts";

/** A vega-lite spec (kept loose: builders produce plain JSON). */
export type VlSpec = Record<string, unknown>;

/** A built figure, or why it was skipped. */
export type ChartResult = { spec: VlSpec } | { skip: string };

/** What every figure title says. */
export interface ChartContext {
  /** Model name(s). */
  model: string;
  /** Workload name(s). */
  workload: string;
  /** Every topology of the experiment (fixes the colours). */
  topologies: string[];
  /** GPU description, e.g. "8× H100 80GB" or "" when unknown. */
  gpu: string;
  /** Whether any result came from the simulated engine. */
  simulated: boolean;
  /** Use a log scale for latency axes. @default false */
  logY?: boolean;
}

/** Font used in every figure (must match the font file render.ts loads). */
export const FONT = "DejaVu Sans";

/** Tableau 20 reordered so the first ten are the strong colours. */
export const PALETTE = [
  "#4e79a7",
  "#f28e2b",
  "#e15759",
  "#76b7b2",
  "#59a14f",
  "#edc948",
  "#b07aa1",
  "#ff9da7",
  "#9c755f",
  "#bab0ac",
  "#1f3b73",
  "#a0522d",
  "#8b1a1a",
  "#2f6f6a",
  "#2e5e2a",
  "#9c7f00",
  "#6b3f63",
  "#c2185b",
  "#5d4037",
  "#616161",
];

/** Palette slots of the usual topology kinds: `pd-1p1d` is red in every experiment. */
const KIND_SLOT: Record<string, number> = { agg: 0, dp: 1, pd: 2, ppd: 3, epd: 4 };

/** A label's preferred palette slot: its kind's (by first word), else a hash of the label. */
function preferredSlot(label: string): number {
  const kind = /^(agg|dp|pd|ppd|epd)(?![a-z])/i.exec(label)?.[1].toLowerCase();
  if (kind !== undefined) return KIND_SLOT[kind];
  let h = 0;
  for (let i = 0; i < label.length; i++) h = (Math.imul(h, 31) + label.charCodeAt(i)) | 0;
  return 5 + ((h >>> 0) % (PALETTE.length - 5));
}

/**
 * The colour scale of topologies (sorted labels), keyed by label so a topology
 * keeps its colour across figures, reports and experiments; two labels wanting
 * one slot get the next free ones.
 */
export function topologyScale(topologies: string[]): { domain: string[]; range: string[] } {
  const domain = [...new Set(topologies)].sort();
  const used = new Set<number>();
  const range = domain.map((t) => {
    let slot = preferredSlot(t);
    for (let k = 0; k < PALETTE.length && used.has(slot); k++) slot = (slot + 1) % PALETTE.length;
    used.add(slot);
    return PALETTE[slot];
  });
  return { domain, range };
}

/** Colour encoding of the `topology` field with the fixed palette and a legend outside the plot. */
export function topologyColor(ctx: ChartContext, field = "topology"): VlSpec {
  return {
    field,
    type: "nominal",
    title: "Topology",
    scale: topologyScale(ctx.topologies),
    legend: { orient: "right" },
  };
}

const short = (xs: string[], max: number) =>
  xs.length <= max ? xs.join(", ") : `${xs.slice(0, max).join(", ")} +${xs.length - max} more`;

/**
 * `line` in pieces of at most `max` characters, broken at spaces (a long
 * caption would otherwise widen the figure past its plot). Joined with
 * spaces, the pieces give the line back.
 */
export function wrapLine(line: string, max = 120): string[] {
  const out: string[] = [];
  let cur = "";
  for (const w of line.split(" ")) {
    if (cur && cur.length + 1 + w.length > max) {
      out.push(cur);
      cur = w;
    } else cur = cur ? `${cur} ${w}` : w;
  }
  return [...out, cur];
}

/** Title with a subtitle line naming model, workload, topologies and GPU, plus notes (wrapped). */
export function title(ctx: ChartContext, text: string, notes: string[] = []): VlSpec {
  const model = ctx.model.split("/").pop() || "unknown model";
  const parts = [
    model,
    ctx.workload ? `workload ${ctx.workload}` : "",
    short(ctx.topologies, 4),
    ctx.gpu,
  ].filter(Boolean);
  const sub = [parts.join(" · ")];
  if (ctx.simulated) sub.push("SIMULATED ENGINE (not measured on real hardware)");
  sub.push(...notes);
  return {
    text,
    subtitle: sub.flatMap((l) => wrapLine(l)),
    anchor: "start",
    fontSize: 15,
    subtitleFontSize: 11,
    subtitleColor: "#444",
    offset: 10,
  };
}

/** Axis titles of latency metrics. */
export const METRIC_LABEL: Record<string, string> = {
  ttft: "TTFT (ms)",
  tpot: "TPOT (ms)",
  itl: "ITL (ms)",
  e2el: "E2E latency (ms)",
};

/** Human names of latency metrics. */
export const METRIC_NAME: Record<string, string> = {
  ttft: "Time to first token",
  tpot: "Time per output token",
  itl: "Inter-token latency",
  e2el: "End-to-end latency",
};

/** Base config: font, sizes, white background. */
export function baseConfig(): VlSpec {
  return {
    font: FONT,
    background: "white",
    padding: 12,
    axis: { labelFontSize: 11, titleFontSize: 12, gridColor: "#e6e6e6" },
    legend: { labelFontSize: 11, titleFontSize: 12, labelLimit: 220 },
    view: { stroke: "#bbb" },
  };
}

/** Wraps a body (layer/mark/concat) into a top-level spec with data, title and config. */
export function topLevel(
  ctx: ChartContext,
  heading: string,
  body: VlSpec,
  notes: string[] = [],
): VlSpec {
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: title(ctx, heading, notes),
    config: baseConfig(),
    ...("hconcat" in body || "vconcat" in body || "facet" in body
      ? {}
      : { width: 560, height: 340 }),
    ...body,
  };
}

/** Finite number or null. */
export function num(v: unknown): number | null {
  return typeof v === "number" && Number.isFinite(v) ? v : null;
}

/** Distinct sorted values. */
export function distinct<T>(xs: T[]): T[] {
  return [...new Set(xs)].sort();
}

/** Latency y-scale (log when asked; log needs positive values, zero clipped by vega). */
export function latencyScale(ctx: ChartContext): VlSpec {
  return ctx.logY ? { type: "log" } : { zero: true };
}

/** The mark of the line charts: a line with its points marked. */
export const LINE_MARK: VlSpec = { type: "line", point: { size: 40 }, strokeWidth: 2 };

/** A quantitative encoding of `field` titled `title`; `more` adds e.g. its scale. */
export function quantitative(field: string, title: string, more: VlSpec = {}): VlSpec {
  return { field, type: "quantitative", title, ...more };
}

/** A latency encoding (ms) of `field`: {@linkcode latencyScale}. */
export function latencyAxis(ctx: ChartContext, field: string, title: string): VlSpec {
  return quantitative(field, title, { scale: latencyScale(ctx) });
}

/** Legend of a strokeDash encoding: line symbols so the dashes show. */
export const DASH_LEGEND: VlSpec = {
  orient: "right",
  symbolType: "stroke",
  symbolStrokeWidth: 2,
  symbolSize: 400,
  encode: { symbols: { update: { stroke: { value: "#333" }, fill: { value: "transparent" } } } },
};

/** The x encoding of an offered-rate axis (field `offered_rps`; log for geometric `rates`). */
export function offeredRateX(ctx: ChartContext, rates: readonly number[] = []): VlSpec {
  return {
    field: "offered_rps",
    type: "quantitative",
    title: offeredTitle(ctx),
    scale: rateScale(rates),
  };
}

/**
 * Whether rates form a geometric sweep (each about k times the previous, k ≥ 1.5,
 * spanning 8× or more): such sweeps are read on a log axis.
 */
export function isGeometric(rates: readonly number[]): boolean {
  const r = [...new Set(rates.filter((x) => x > 0 && Number.isFinite(x)))].sort((a, b) => a - b);
  if (r.length < 3 || r.at(-1)! / r[0] < 8) return false;
  const ratios = r.slice(1).map((x, i) => x / r[i]);
  const mid = [...ratios].sort((a, b) => a - b)[Math.floor(ratios.length / 2)];
  return mid >= 1.5 && ratios.every((q) => q > mid / 1.6 && q < mid * 1.6);
}

/** The offered-load axis scale: log for a geometric sweep, else linear from 0. */
export function rateScale(rates: readonly number[]): VlSpec {
  return isGeometric(rates) ? { type: "log" } : { zero: true };
}

/** Whether the offered load is conversations (multi-turn workloads: several requests each; `lib/rate_unit.ts`). */
export function offersConversations(ctx: ChartContext): boolean {
  return conversationLoad(ctx.workload);
}

/** The unit of offered load: `conv/s` on multi-turn workloads, else `req/s` (`lib/rate_unit.ts`). */
export function offeredUnit(ctx: ChartContext): string {
  return unitOf(ctx.workload);
}

/** The offered-load axis title, in the unit the sweep used. */
export function offeredTitle(ctx: ChartContext): string {
  return offersConversations(ctx)
    ? `Offered load (${offeredUnitLong(ctx.workload)})`
    : `Offered request rate (${offeredUnitLong(ctx.workload)})`;
}

/** Lines (topologies) up to which every point is labelled; past it, only each line's ends. */
export const LABEL_ALL_MAX_LINES = 4;

/**
 * Blanks the `label` of every point but each line's first and last (by the
 * `order` field) once there are more than {@linkcode LABEL_ALL_MAX_LINES}
 * lines (`topology` values), where labels on every point would overprint.
 * Returns whether it did; text layers filter out blank labels.
 */
export function labelLineEnds(
  data: Record<string, string | number>[],
  order: string,
): boolean {
  if (new Set(data.map((d) => d.topology)).size <= LABEL_ALL_MAX_LINES) return false;
  const lo = new Map<unknown, number>(), hi = new Map<unknown, number>();
  for (const d of data) {
    const v = d[order] as number;
    lo.set(d.topology, Math.min(lo.get(d.topology) ?? Infinity, v));
    hi.set(d.topology, Math.max(hi.get(d.topology) ?? -Infinity, v));
  }
  for (const d of data) {
    if (d[order] !== lo.get(d.topology) && d[order] !== hi.get(d.topology)) d.label = "";
  }
  return true;
}
