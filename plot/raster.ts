/**
 * Rasterizes SVG with resvg (a bundled font file, so text renders on machines
 * without a desktop): PNG bytes, raw pixels, and PNG sizes. Kept apart from
 * vega so PNG workers load only resvg.
 *
 * @module
 */
import { Resvg } from "@resvg/resvg-js";
import { FONT } from "./_common.ts";
import { encodePng } from "./_png.ts";

/** Font files tried in order (Debian `fonts-dejavu-core`). */
export const FONT_FILES = [
  "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
  "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
  "/usr/share/fonts/dejavu/DejaVuSans.ttf",
  "/usr/share/fonts/dejavu/DejaVuSans-Bold.ttf",
  "/usr/share/fonts/TTF/DejaVuSans.ttf",
  "/usr/share/fonts/TTF/DejaVuSans-Bold.ttf",
];

let fontCache: string[] | null = null;

/** The DejaVu Sans files present; throws when none is (text would not render). */
export function fontFiles(): string[] {
  if (fontCache) return fontCache;
  const found = FONT_FILES.filter((p) => {
    try {
      return Deno.statSync(p).isFile;
    } catch {
      return false;
    }
  });
  if (!found.length) {
    throw new RangeError(
      `Cannot render figure text with font ${FONT}: current value is no font file at ${
        FONT_FILES.join(", ")
      } (install Debian package fonts-dejavu-core)`,
    );
  }
  return (fontCache = found);
}

/** Options of {@linkcode svgToPng}. */
export interface PngOptions {
  /** Pixel scale (2 = retina-sharp). @default 2 */
  scale?: number;
}

/** Rasterizes an SVG string to PNG bytes with the bundled font. */
export function svgToPng(svg: string, o: PngOptions = {}): Uint8Array {
  const scale = o.scale ?? 2;
  if (!(scale > 0 && scale <= 8)) {
    throw new RangeError(`Cannot use scale as a PNG zoom in (0, 8]: current value is ${scale}`);
  }
  const r = new Resvg(svg, {
    font: { loadSystemFonts: false, fontFiles: fontFiles(), defaultFontFamily: FONT },
    fitTo: { mode: "zoom", value: scale },
    background: "white",
  });
  const img = r.render();
  return encodePng(img.width, img.height, new Uint8Array(img.pixels));
}

/** Width and height of a PNG from its IHDR chunk. */
export function pngSize(png: Uint8Array): { width: number; height: number } {
  const sig = [0x89, 0x50, 0x4e, 0x47];
  if (png.length < 24 || sig.some((b, i) => png[i] !== b)) {
    throw new TypeError(`Cannot read bytes as a PNG: current value starts with ${png.slice(0, 4)}`);
  }
  const v = new DataView(png.buffer, png.byteOffset, png.byteLength);
  return { width: v.getUint32(16), height: v.getUint32(20) };
}

/** Rasterizes an SVG to raw RGBA pixels (for checks that a figure is not blank). */
export function svgToPixels(
  svg: string,
  o: PngOptions = {},
): { width: number; height: number; pixels: Uint8Array } {
  const r = new Resvg(svg, {
    font: { loadSystemFonts: false, fontFiles: fontFiles(), defaultFontFamily: FONT },
    fitTo: { mode: "zoom", value: o.scale ?? 1 },
    background: "white",
  }).render();
  return { width: r.width, height: r.height, pixels: new Uint8Array(r.pixels) };
}
