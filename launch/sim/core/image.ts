/**
 * Image sizes from `image_url` parts (PNG and JPEG data URLs), for the vision
 * encoder cost. Remote URLs are not fetched: they count as 512x512 pixels.
 * A part known by its size (`lib/known_image.ts`) is read without its URL.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { knownImageOf } from "../../../lib/known_image.ts";

/** Width and height in pixels. */
export interface ImageSize {
  width: number;
  height: number;
}

/** Reads the size from a data URL's PNG or JPEG header; null when unknown. */
export function imageSize(url: string): ImageSize | null {
  const m = /^data:image\/[a-z+]+;base64,(.*)$/s.exec(url);
  if (!m) return null;
  const bytes = Buffer.from(m[1].slice(0, 200_000), "base64");
  if (bytes.length > 24 && bytes.readUInt32BE(0) === 0x89504e47) {
    return { width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20) };
  }
  if (bytes[0] === 0xff && bytes[1] === 0xd8) {
    let i = 2;
    while (i + 9 < bytes.length) {
      if (bytes[i] !== 0xff) return null;
      const marker = bytes[i + 1];
      const len = bytes.readUInt16BE(i + 2);
      if (
        marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc
      ) {
        return { height: bytes.readUInt16BE(i + 5), width: bytes.readUInt16BE(i + 7) };
      }
      i += 2 + len;
    }
  }
  return null;
}

/**
 * A stable key for an image (placeholder ids, the encoder cache of EPD): of
 * its URL, or of the id of an image known by size (`lib/known_image.ts`).
 */
export function imageKey(url: string): string {
  let a = 0x811c9dc5;
  let b = 0x9747b28c;
  for (let i = 0; i < url.length; i += Math.max(1, Math.floor(url.length / 4096))) {
    const c = url.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
  }
  return `${(a >>> 0).toString(16)}${(b >>> 0).toString(16)}${url.length.toString(16)}`;
}

/** Pixels assumed for an image whose size is unknown (a remote URL). */
const FALLBACK: ImageSize = { width: 512, height: 512 };

/**
 * The key and size of an `image_url` part: a part known by its size gives
 * both without its URL being built; else they come from the URL (its header,
 * or the 512x512 fallback); null when the part's URL is not a string.
 */
export function partImage(part: unknown): { key: string; size: ImageSize } | null {
  const known = knownImageOf(part);
  if (known) {
    return { key: imageKey(known.id), size: { width: known.widthPx, height: known.heightPx } };
  }
  const url = (part as { image_url?: { url?: unknown } }).image_url?.url;
  if (typeof url !== "string") return null;
  return { key: imageKey(url), size: imageSize(url) ?? FALLBACK };
}

/** An image part of a prompt with its vision token count. */
export interface PromptImage {
  /** {@linkcode imageKey} of the image (the same image, the same key). */
  key: string;
  tokens: number;
}

/** Placeholder token ids for an image, distinct per image so prefix caching tells them apart. */
export function imagePlaceholderIds(img: PromptImage, vocabSize: number): number[] {
  const k = parseInt(img.key.slice(0, 8), 16);
  const out: number[] = [];
  for (let j = 0; j < img.tokens; j++) out.push((k + j * 7919) % vocabSize);
  return out;
}
