/**
 * Encoder-cache sharing for encoder/prefill/decode disaggregation, after vLLM's
 * ECExampleConnector (named ECSharedStorageConnector before vLLM PR #30201): the encoder instance (`ec_producer`) writes one
 * file per encoded image under `shared_storage_path`; a consumer that finds the
 * file skips the vision encoder for that image.
 *
 * @module
 */
import { join } from "node:path";
import { imageKey, type PromptImage } from "../core/image.ts";
import type { EcTransferConfig } from "../../../lib/contracts.ts";

/**
 * Parses `--ec-transfer-config` JSON; like vLLM's EC connector factory
 * (`vllm/distributed/ec_transfer/ec_connector/factory.py`) it refuses an
 * unknown `ec_connector`.
 */
export function parseEcTransferConfig(json: string): EcTransferConfig {
  let o: unknown;
  try {
    o = JSON.parse(json);
  } catch (e) {
    throw new SyntaxError(
      `Cannot use --ec-transfer-config as JSON: current value is ${json} (${(e as Error).message})`,
    );
  }
  const c = o as EcTransferConfig;
  if (typeof o !== "object" || o === null || typeof c.ec_role !== "string") {
    throw new TypeError(
      `Cannot use --ec-transfer-config as an encoder-cache config: current value is ${json}; expected {"ec_connector", "ec_role", ...}`,
    );
  }
  if (c.ec_connector !== undefined && c.ec_connector !== "ECExampleConnector") {
    const renamed = c.ec_connector === "ECSharedStorageConnector"
      ? " (vLLM renamed it ECExampleConnector)"
      : "";
    throw new RangeError(
      `Cannot use ec_connector ${c.ec_connector} in --ec-transfer-config: Unsupported connector type${renamed}; the simulated engine has ECExampleConnector`,
    );
  }
  return c;
}

function dir(ec?: EcTransferConfig): string | null {
  const p = ec?.ec_connector_extra_config?.shared_storage_path;
  return typeof p === "string" && p ? p : null;
}

/** Vision tokens of the images this instance must encode itself (cached ones are skipped). */
export async function prepareImages(
  images: PromptImage[],
  ec?: EcTransferConfig,
): Promise<number[]> {
  const d = dir(ec);
  if (!d || ec?.ec_role !== "ec_consumer") return images.map((i) => i.tokens);
  const out: number[] = [];
  for (const img of images) {
    try {
      await Deno.stat(join(d, imageKey(img.url) + ".ec"));
    } catch {
      out.push(img.tokens);
    }
  }
  return out;
}

/** Producer side: record the images as encoded so consumers can skip them. */
export async function storeImages(images: PromptImage[], ec?: EcTransferConfig): Promise<void> {
  const d = dir(ec);
  if (!d || ec?.ec_role !== "ec_producer" || images.length === 0) return;
  await Deno.mkdir(d, { recursive: true });
  for (const img of images) {
    const tmp = join(d, `.${imageKey(img.url)}.${crypto.randomUUID()}`);
    await Deno.writeTextFile(tmp, String(img.tokens));
    await Deno.rename(tmp, join(d, imageKey(img.url) + ".ec"));
  }
}
