/**
 * A tiny PNG encoder (8-bit RGB, no filter) over `node:zlib`, for synthetic images.
 *
 * @module
 */
import { deflateSync } from "node:zlib";
import { Buffer } from "node:buffer";

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, "ascii");
  out.set(data, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

/** Encodes `rgb` (width·height·3 bytes, row-major) as PNG bytes. */
export function encodePng(width: number, height: number, rgb: Uint8Array): Uint8Array {
  if (rgb.length !== width * height * 3) {
    throw new RangeError(
      `Cannot use pixel data as ${width}x${height} RGB: current value is ${rgb.length} bytes`,
    );
  }
  const raw = new Uint8Array((width * 3 + 1) * height);
  for (let y = 0; y < height; y++) {
    raw.set(rgb.subarray(y * width * 3, (y + 1) * width * 3), y * (width * 3 + 1) + 1);
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr),
    chunk("IDAT", deflateSync(raw)),
    chunk("IEND", new Uint8Array(0)),
  ]);
}

/** A `data:image/png;base64,` URL of a two-colour striped image (colours from `seed32`). */
export function pngDataUrl(width: number, height: number, seed32: number): string {
  const rgb = new Uint8Array(width * height * 3);
  const a = [seed32 & 0xff, (seed32 >>> 8) & 0xff, (seed32 >>> 16) & 0xff];
  const b = [255 - a[0], 255 - a[1], (seed32 >>> 24) & 0xff];
  for (let y = 0; y < height; y++) {
    const c = (y >> 3) & 1 ? a : b;
    for (let x = 0; x < width; x++) rgb.set(c, (y * width + x) * 3);
  }
  return "data:image/png;base64," + Buffer.from(encodePng(width, height, rgb)).toString("base64");
}
