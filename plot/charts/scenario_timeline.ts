/**
 * The timeline of one fault or scaling scenario (`scenario.json`, written by
 * `deno task predict` and by a live scenario run): offered, completed and
 * failed requests per second, SLO attainment per second against the target,
 * and running + waiting requests per instance, with the events marked on
 * every panel.
 *
 * @module
 */
import {
  type ChartContext,
  type ChartResult,
  quantitative,
  topLevel,
  type VlSpec,
} from "../_common.ts";

/** What the chart reads of `scenario.json`. */
interface Scenario {
  target_pct: number;
  timeline: {
    t_s: number;
    offered: number;
    completed: number;
    failed: number;
    attainment_pct: number | null;
  }[];
  events: { event: string; at_s: number }[];
  /** An autoscaler's actions (marked as events). @default none */
  scale_actions?: { t_s: number; action: string; instance: string }[] | null;
  /** Per-second samples: instance -> [running, waiting, in rotation]. */
  instances?: { tS: number; instances: Record<string, number[]> }[];
  clock?: string;
}

const X = quantitative("t_s", "Time since load start (s)");

/** The events as dashed rules with their names, over a panel. */
function eventLayer(events: Scenario["events"], labels: boolean): VlSpec[] {
  // labels in time order on four staggered rows (close events do not print over each other)
  const sorted = [...events].sort((a, b) => a.at_s - b.at_s);
  const data = {
    values: sorted.map((e, i) => ({ t_s: e.at_s, event: e.event, row_px: (i % 4) * 12 })),
  };
  const rule: VlSpec = {
    data,
    mark: { type: "rule", strokeDash: [4, 3], color: "#555" },
    encoding: { x: { field: "t_s", type: "quantitative" } },
  };
  if (!labels) return [rule];
  const text: VlSpec = {
    data,
    mark: { type: "text", align: "left", dx: 3, dy: -4, baseline: "top", fontSize: 10 },
    encoding: {
      x: { field: "t_s", type: "quantitative" },
      y: { field: "row_px", type: "quantitative", scale: null },
      text: { field: "event" },
    },
  };
  return [rule, text];
}

function panel(layers: VlSpec[], events: Scenario["events"], labels = false): VlSpec {
  return { width: 560, height: 130, layer: [...layers, ...eventLayer(events, labels)] };
}

function ratePanel(s: Scenario): VlSpec {
  const values = s.timeline.flatMap((t) => [
    { t_s: t.t_s, series: "offered", rps: t.offered },
    { t_s: t.t_s, series: "completed", rps: t.completed },
    { t_s: t.t_s, series: "failed", rps: t.failed },
  ]);
  return panel(
    [{
      data: { values },
      mark: { type: "line", strokeWidth: 1.5, interpolate: "step-after" },
      encoding: {
        x: X,
        y: quantitative("rps", "Requests per second"),
        color: {
          field: "series",
          type: "nominal",
          title: "Requests",
          scale: {
            domain: ["offered", "completed", "failed"],
            range: ["#999", "#4e79a7", "#e15759"],
          },
          legend: { orient: "right" },
        },
      },
    }],
    s.events,
    true,
  );
}

function attainmentPanel(s: Scenario): VlSpec {
  const values = s.timeline.filter((t) => t.attainment_pct !== null);
  return panel([
    {
      data: { values },
      mark: { type: "line", strokeWidth: 1.5, point: { size: 12 }, color: "#59a14f" },
      encoding: {
        x: X,
        y: quantitative("attainment_pct", "SLO attainment (%)", { scale: { domain: [0, 100] } }),
      },
    },
    {
      data: { values: [{ target: s.target_pct }] },
      mark: { type: "rule", color: "#e15759" },
      encoding: { y: { field: "target", type: "quantitative" } },
    },
  ], s.events);
}

function instancePanel(s: Scenario): VlSpec | null {
  const values = (s.instances ?? []).flatMap((x) =>
    Object.entries(x.instances).map(([instance, v]) => ({
      t_s: x.tS,
      instance,
      requests: v[0] + v[1],
    }))
  );
  if (!values.length) return null;
  return panel([{
    data: { values },
    mark: { type: "line", strokeWidth: 1.5, interpolate: "step-after" },
    encoding: {
      x: X,
      y: quantitative("requests", "Running + waiting"),
      color: { field: "instance", type: "nominal", title: "Instance", legend: { orient: "right" } },
    },
  }], s.events);
}

/** Builds the scenario timeline of run `run` from its `scenario.json`. */
export function scenarioTimeline(
  scenario: Record<string, unknown> | null,
  ctx: ChartContext,
  run: string,
): ChartResult {
  if (!scenario) return { skip: `run ${run} has no scenario.json (an experiment with events:)` };
  const read = scenario as unknown as Scenario;
  // an autoscaler's actions are marked as the events are
  const scaled = (read.scale_actions ?? []).map((a) => ({
    event: `${a.t_s} s scale ${a.action} ${a.instance}`,
    at_s: a.t_s,
  }));
  const s = { ...read, events: [...read.events, ...scaled] };
  if (!s.timeline?.length) return { skip: `run ${run}: scenario.json has no timeline` };
  const panels = [ratePanel(s), attainmentPanel(s), instancePanel(s)].filter((p) => p !== null);
  const notes = [
    `attainment per second of the requests that ended in it; target ${s.target_pct}% (red)`,
  ];
  return {
    spec: topLevel(ctx, `Scenario timeline: ${run}`, {
      vconcat: panels,
      // one time axis for every panel (the instance samples can outlast the last request)
      resolve: { scale: { color: "independent", x: "shared" }, legend: { color: "independent" } },
    }, notes),
  };
}
