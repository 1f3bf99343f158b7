/**
 * Perf entry `plot`: wall time to build and render the full figure set (PNG +
 * SVG + report.html) of a synthetic 10-topology × 10-rate experiment.
 *
 * @module
 */
import { writeSyntheticExperiment } from "../../../plot/_synthetic.ts";
import { plot } from "../../../plot/plot.ts";
import type { PerfResult } from "../perf.ts";

/** Renders the figure set repeatedly for about `seconds` (at least once); reports the mean. */
export async function plotRender(seconds: number): Promise<PerfResult[]> {
  const dir = await Deno.makeTempDir({ prefix: "perf_plot_" });
  try {
    const topologies = Array.from({ length: 10 }, (_, i) => `topo-${String(i).padStart(2, "0")}`);
    const ratesRps = Array.from({ length: 10 }, (_, i) => i + 1);
    await writeSyntheticExperiment(dir, { topologies, ratesRps, requestsPerRate: 100 });
    const times: number[] = [];
    let figures = 0;
    const until = performance.now() + seconds * 1000;
    do {
      const t0 = performance.now();
      const res = await plot(dir);
      times.push(performance.now() - t0);
      figures = res.files.filter((f) => f.endsWith(".png")).length;
    } while (performance.now() < until);
    const meanS = times.reduce((a, b) => a + b) / times.length / 1000;
    return [{
      entry: "plot",
      metric: "full figure set, 10 topologies × 10 rates",
      value: meanS,
      unit: "s",
      note: `${figures} figures as PNG+SVG + report.html, mean of ${times.length}`,
    }];
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) console.log(await plotRender(Number(Deno.args[0] ?? 1)));
