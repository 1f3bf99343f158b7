import assert from "node:assert/strict";
import { buildFigures } from "./_figures.ts";
import { readExperiment } from "./_runs.ts";
import { writeSyntheticExperiment } from "./_synthetic.ts";
import { pngSize, specToSvg, svgToPixels, svgToPng } from "./render.ts";

Deno.test("figures render to SVG with text and to non-blank PNGs of the expected size", async () => {
  const dir = await Deno.makeTempDir({ prefix: "plot_render_" });
  try {
    await writeSyntheticExperiment(dir, { topologies: ["agg", "pd"], timelines: true });
    const figs = buildFigures(await readExperiment(dir));
    for (const name of ["latency_ttft", "slo_rate", "throughput_rate", "timeline_gpu_agg"]) {
      const f = figs.find((x) => x.name === name);
      assert.ok(f && "spec" in f.result, `${name} built`);
      const svg = await specToSvg(f.result.spec);
      assert.match(svg, /^<svg/);
      assert.match(svg, /font-family="DejaVu Sans"/);
      const w = Number(/width="(\d+)"/.exec(svg)![1]), h = Number(/height="(\d+)"/.exec(svg)![1]);
      const png = svgToPng(svg, { scale: 2 });
      assert.deepEqual(pngSize(png), { width: w * 2, height: h * 2 });
      assert.ok(w > 300 && h > 200, `${name} is ${w}x${h}`);
      const { pixels } = svgToPixels(svg);
      let ink = 0, colour = 0;
      for (let i = 0; i < pixels.length; i += 4) {
        const [r, g, b] = [pixels[i], pixels[i + 1], pixels[i + 2]];
        if (r < 200 || g < 200 || b < 200) ink++;
        if (Math.max(r, g, b) - Math.min(r, g, b) > 60) colour++;
      }
      const n = pixels.length / 4;
      assert.ok(ink / n > 0.01 && ink / n < 0.5, `${name}: ${(100 * ink / n).toFixed(1)}% ink`);
      assert.ok(colour > 50, `${name}: coloured series pixels ${colour}`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("pngSize rejects bytes that are not a PNG", () => {
  assert.throws(() => pngSize(new Uint8Array(30)), /Cannot read bytes as a PNG/);
});
