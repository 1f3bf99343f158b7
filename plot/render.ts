/**
 * Renders vega-lite specs to SVG without a browser: vega-lite → vega → SVG
 * (vega's headless renderer). PNGs come from `plot/raster.ts`.
 *
 * @module
 */
import * as vega from "vega";
import { compile, type TopLevelSpec } from "vega-lite";
import type { VlSpec } from "./_common.ts";

/** Renders a vega-lite spec to an SVG string. */
export async function specToSvg(spec: VlSpec): Promise<string> {
  const vg = compile(spec as unknown as TopLevelSpec).spec;
  const view = new vega.View(vega.parse(vg), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
