/**
 * The encoder cache of EPD on disk, for the live engine: one file per encoded
 * image under the store path; who reads and who writes it is the core's rule
 * (`launch/sim/core/ec_cache.ts`, shared with the virtual topology).
 *
 * @module
 */
import { join } from "node:path";
import type { PromptImage } from "../core/image.ts";
import { ecStorePath } from "../core/ec_cache.ts";
import type { EcTransferConfig } from "../../../lib/contracts.ts";

/** Vision tokens of the images this instance must encode itself (cached ones are skipped). */
export async function prepareImages(
  images: PromptImage[],
  ec?: EcTransferConfig,
): Promise<number[]> {
  const d = ecStorePath(ec, "ec_consumer");
  if (d === null) return images.map((i) => i.tokens);
  const out: number[] = [];
  for (const img of images) {
    try {
      await Deno.stat(join(d, img.key + ".ec"));
    } catch {
      out.push(img.tokens);
    }
  }
  return out;
}

/** Producer side: record the images as encoded so consumers can skip them. */
export async function storeImages(images: PromptImage[], ec?: EcTransferConfig): Promise<void> {
  const d = ecStorePath(ec, "ec_producer");
  if (d === null || images.length === 0) return;
  await Deno.mkdir(d, { recursive: true });
  for (const img of images) {
    const tmp = join(d, `.${img.key}.${crypto.randomUUID()}`);
    await Deno.writeTextFile(tmp, String(img.tokens));
    await Deno.rename(tmp, join(d, img.key + ".ec"));
  }
}
