import assert from "node:assert/strict";
import { buildFigures } from "./_figures.ts";
import { readExperiment } from "./_runs.ts";
import { writeSyntheticExperiment } from "./_synthetic.ts";
import { specToSvg } from "./render.ts";
import { pngSize, svgToPixels, svgToPng } from "./raster.ts";
import { encodePng } from "./_png.ts";
import { PngPool } from "./_png_pool.ts";

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

Deno.test("encodePng: decoders read back the exact pixels (resvg renders it as an image)", () => {
  const [w, h] = [37, 11];
  const rgba = new Uint8Array(w * h * 4);
  for (let i = 0; i < w * h; i++) {
    rgba.set([(i * 7) % 256, (i * 13) % 256, (i * 29) % 256, 255], i * 4);
  }
  const png = encodePng(w, h, rgba);
  assert.deepEqual(pngSize(png), { width: w, height: h });
  const b64 = btoa(String.fromCharCode(...png));
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}">` +
    `<image width="${w}" height="${h}" image-rendering="optimizeSpeed" ` +
    `href="data:image/png;base64,${b64}"/></svg>`;
  const back = svgToPixels(svg).pixels;
  assert.equal(back.length, rgba.length);
  let off = 0;
  for (let i = 0; i < rgba.length; i++) if (back[i] !== rgba[i]) off++;
  assert.equal(off, 0, `${off} bytes differ`);
  assert.throws(() => encodePng(2, 2, new Uint8Array(15)), /Cannot use 15 bytes as 2 x 2 RGBA/);
});

Deno.test("PngPool: workers and this thread give svgToPng's bytes; errors reach the caller", async () => {
  const svg = (c: string) =>
    `<svg xmlns="http://www.w3.org/2000/svg" width="40" height="30"><rect width="20" height="10" fill="${c}"/></svg>`;
  const pool = new PngPool(2);
  try {
    const colours = ["red", "green", "blue", "black", "orange"];
    const jobs = colours.map((c) => pool.render(svg(c), 2));
    const bad = pool.render(svg("red"), 99);
    bad.catch(() => {});
    await pool.finish();
    const pngs = await Promise.all(jobs);
    pngs.forEach((p, i) => assert.deepEqual(p, svgToPng(svg(colours[i]), { scale: 2 })));
    await assert.rejects(bad, /Cannot use scale as a PNG zoom in \(0, 8\]: current value is 99/);
  } finally {
    pool.close();
  }
  assert.throws(() => new PngPool(-1), /Cannot use size as a worker count/);
});
