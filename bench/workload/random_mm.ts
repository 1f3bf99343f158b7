/**
 * The `random-mm` dataset: chat requests with random text (token-exact) and
 * generated PNG images (data URLs) of the given sizes, each image unique per
 * request so encoder caches are not hit by accident. `promptTokens` counts the
 * text only (the server adds its image tokens).
 *
 * @module
 */
import { Rng } from "../../lib/rng.ts";
import type { Tokenizer } from "../../lib/tokenizer.ts";
import type { ContentPart, RequestSpec } from "./types.ts";
import { drawLength, partsSpec, requestId, vllmTextLen } from "./_spec.ts";
import { randomWords, wordList } from "./_words.ts";
import { pngDataUrl } from "./_png.ts";

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
      parts.push({
        type: "image_url",
        image_url: { url: pngDataUrl(size.width, size.height, rng.nextUint32()) },
      });
    }
    const inLen = drawLength(vllmTextLen(o.inputLen, wl), o.rangeRatio ?? 0, () => rng.next());
    const outLen = drawLength(o.outputLen, o.rangeRatio ?? 0, () => rng.next());
    parts.push({ type: "text", text: randomWords(wl, rng, inLen, i) });
    return partsSpec(tok, { requestId: requestId(i), maxTokens: outLen, ignoreEos: true }, parts);
  });
}
