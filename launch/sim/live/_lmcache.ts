/**
 * LMCacheConnectorV1 in the simulated engine, modelled as a shared KV store:
 * a producer records the prompt prefixes it computed (one file per prefix,
 * named by the hash chain of its last full block) under `shared_storage_path`;
 * a consumer finds the longest stored prefix of its prompt and loads it instead
 * of computing it, paying the transfer time for those tokens.
 *
 * @module
 */
import { join } from "node:path";
import { tmpdir } from "node:os";

/** The store folder from `kv_connector_extra_config.shared_storage_path`. */
export function lmcacheDir(extra?: Record<string, unknown>): string {
  const p = extra?.shared_storage_path;
  return typeof p === "string" && p ? p : join(tmpdir(), "topobench-lmcache");
}

/** Records that the prefix ending with block hash `hashes[n-1]` (n full blocks) is stored. */
export async function lmcacheStore(
  dir: string,
  hashes: readonly number[],
  blockSize: number,
): Promise<void> {
  if (hashes.length === 0) return;
  await Deno.mkdir(dir, { recursive: true });
  const name = join(dir, `${hashes[hashes.length - 1].toString(36)}.kv`);
  const tmp = `${name}.${crypto.randomUUID()}.tmp`;
  await Deno.writeTextFile(tmp, String(hashes.length * blockSize));
  await Deno.rename(tmp, name);
}

/** Tokens of the longest stored prefix of a prompt with these block hashes (0 if none). */
export async function lmcacheLookup(
  dir: string,
  hashes: readonly number[],
  blockSize: number,
): Promise<number> {
  for (let n = hashes.length; n > 0; n--) {
    try {
      await Deno.stat(join(dir, `${hashes[n - 1].toString(36)}.kv`));
      return n * blockSize;
    } catch {
      // not stored; try a shorter prefix
    }
  }
  return 0;
}
