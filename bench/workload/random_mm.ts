/**
 * The `random-mm` dataset: chat requests with random text (token-exact) and
 * generated PNG images (data URLs) of the given sizes, each image unique per
 * request so encoder caches are not hit by accident. `promptTokens` counts the
 * text only (the server adds its image tokens). With `tokenIds` (the virtual
 * clock) an image is a {@linkcode LazyImagePart}: its size goes with the
 * request and its PNG is built only if something reads the URL.
 *
 * @module
 */
import { Rng } from "../../lib/rng.ts";
import type { Tokenizer } from "../../lib/tokenizer.ts";
import type { ContentPart, RequestSpec } from "./types.ts";
import { drawLength, partsSpec, requestId, vllmTextLen } from "./_spec.ts";
import { randomPicks, randomWords, wordList, wordsIds, wordsText } from "./_words.ts";
import { pngDataUrl } from "./_png.ts";
import { LazyImagePart } from "../../lib/known_image.ts";

/** Options of {@linkcode randomMmDataset}. */
export interface RandomMmOptions {
  count: number;
  seed: number;
  inputLen: number;
  outputLen: number;
  /** @default 0 */
  rangeRatio?: number;
  /** Image sizes to draw from, e.g. `[{width: 512, height: 512}]`. */
  imageSizes: { width: number; height: number }[];
  /** @default 1 */
  imagesPerRequest?: number;
  /**
   * Keep the text's token ids, count the prompt without a tokenizer, and make
   * images known by size, built on read (the virtual clock). @default false
   */
  tokenIds?: boolean;
}

/** Parses `512x512,1024x768` into sizes; throws naming the flag. */
export function parseImageSizes(s: string): { width: number; height: number }[] {
  return s.split(",").map((p) => {
    const m = /^\s*(\d+)x(\d+)\s*$/.exec(p);
    if (!m || Number(m[1]) < 1 || Number(m[2]) < 1 || Number(m[1]) * Number(m[2]) > 4096 * 4096) {
      throw new RangeError(
        `Cannot use --image-size as WIDTHxHEIGHT[,WxH...] (each side >= 1, at most 4096x4096 pixels): current value is ${
          JSON.stringify(s)
        }`,
      );
    }
    return { width: Number(m[1]), height: Number(m[2]) };
  });
}

/** Builds `count` multimodal chat requests; same options, same requests. */
export function randomMmDataset(tok: Tokenizer, o: RandomMmOptions): RequestSpec[] {
  const wl = wordList(tok);
  const rng = new Rng(`random-mm:${o.seed}`);
  return Array.from({ length: o.count }, (_, i) => {
    const parts: ContentPart[] = [];
    for (let k = 0; k < (o.imagesPerRequest ?? 1); k++) {
      const size = o.imageSizes[Math.floor(rng.next() * o.imageSizes.length)];
      parts.push(imagePart(size.width, size.height, rng.nextUint32(), o.tokenIds ?? false));
    }
    const inLen = drawLength(vllmTextLen(o.inputLen, wl), o.rangeRatio ?? 0, () => rng.next());
    const outLen = drawLength(o.outputLen, o.rangeRatio ?? 0, () => rng.next());
    const base = { requestId: requestId(i), maxTokens: outLen, ignoreEos: true };
    if (!o.tokenIds) {
      parts.push({ type: "text", text: randomWords(wl, rng, inLen, i) });
      return partsSpec(tok, base, parts);
    }
    const picks = randomPicks(wl, rng, inLen, i);
    parts.push({ type: "text", text: wordsText(wl, picks) });
    // the words are one token each, with or without the space the template trims
    const spec = partsSpec(tok, base, parts, inLen + wl.chatExtra);
    spec.promptTokenIds = wordsIds(wl, picks);
    return spec;
  });
}

/** An image part of a striped PNG; `lazy`: known by its size, the PNG built on read. */
function imagePart(widthPx: number, heightPx: number, seed32: number, lazy: boolean): ContentPart {
  const url = () => pngDataUrl(widthPx, heightPx, seed32);
  if (!lazy) return { type: "image_url", image_url: { url: url() } };
  return new LazyImagePart({ widthPx, heightPx, id: `png:${widthPx}x${heightPx}:${seed32}` }, url);
}
