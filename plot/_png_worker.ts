/**
 * Worker side of {@linkcode PngPool} (`plot/_png_pool.ts`): rasterizes SVG
 * strings to PNG bytes off the main thread.
 *
 * @module
 */
/// <reference lib="deno.worker" />
import { svgToPng } from "./raster.ts";

/** One job: an SVG to rasterize at `scale`. */
export interface PngJob {
  id: number;
  svg: string;
  scale: number;
}

/** One answer: the PNG bytes, or the error's message. */
export type PngAnswer = { id: number; png: Uint8Array } | { id: number; error: string };

self.onmessage = (e: MessageEvent<PngJob>) => {
  const { id, svg, scale } = e.data;
  let answer: PngAnswer;
  try {
    // a copy in its own buffer: resvg may hand back a view of a shared pool
    answer = { id, png: new Uint8Array(svgToPng(svg, { scale })) };
  } catch (err) {
    answer = { id, error: err instanceof Error ? err.message : String(err) };
  }
  if ("png" in answer) self.postMessage(answer, [answer.png.buffer as ArrayBuffer]);
  else self.postMessage(answer);
};
