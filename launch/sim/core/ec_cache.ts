/**
 * The encoder cache of encoder/prefill/decode disaggregation, without I/O,
 * after vLLM's ECExampleConnector (named ECSharedStorageConnector before vLLM
 * PR #30201): an `ec_producer` (the encoder instance) stores each image it
 * encoded under `shared_storage_path`; an `ec_consumer` (the prefill instance)
 * skips the vision encoder for an image it finds there; any other instance
 * encodes every image. The live engine keeps the store as one file per image
 * (`launch/sim/live/encoder_cache.ts`); the virtual topology keeps it in
 * memory ({@linkcode MemoryEcStore}); both read the roles here.
 *
 * @module
 */
import type { EcTransferConfig } from "../../../lib/contracts.ts";
import type { PromptImage } from "./image.ts";

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

/** The store an instance of `ec` reads (`ec_consumer`) or writes (`ec_producer`); null when it does not. */
export function ecStorePath(
  ec: EcTransferConfig | undefined,
  role: "ec_consumer" | "ec_producer",
): string | null {
  const p = ec?.ec_connector_extra_config?.shared_storage_path;
  return ec?.ec_role === role && typeof p === "string" && p ? p : null;
}

/** An encoder-cache store in memory (virtual time): which images each store path holds. */
export class MemoryEcStore {
  readonly #held = new Set<string>();

  /** Vision tokens of the images an instance of `ec` must encode itself (held ones are skipped). */
  toEncode(images: readonly PromptImage[], ec: EcTransferConfig | undefined): number[] {
    const path = ecStorePath(ec, "ec_consumer");
    const out: number[] = [];
    for (const img of images) {
      if (path === null || !this.#held.has(`${path}\0${img.key}`)) out.push(img.tokens);
    }
    return out;
  }

  /** An instance of `ec` encoded `images`: a producer stores them. */
  store(images: readonly PromptImage[], ec: EcTransferConfig | undefined): void {
    const path = ecStorePath(ec, "ec_producer");
    if (path !== null) { for (const img of images) this.#held.add(`${path}\0${img.key}`); }
  }
}
