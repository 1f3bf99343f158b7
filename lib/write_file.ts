/**
 * Whole-file outputs written whole or not at all: the bytes go to a temp file
 * in the same folder, which is then renamed over the target. A full disk, a
 * crash or Ctrl-C mid-write leaves the previous file as it was (never a torn
 * or truncated one) and no temp file behind. Files that grow row by row
 * (`requests.csv`) are appended instead: see `lib/csv.ts`.
 *
 * @module
 */
import { basename, dirname, join } from "node:path";

/** The temp file `path` is written through: hidden, in the same folder (rename stays atomic). */
export function tempPathOf(path: string): string {
  return join(
    dirname(path),
    `.${basename(path)}.${Deno.pid}.${crypto.randomUUID().slice(0, 8)}.tmp`,
  );
}

/**
 * Writes `data` (text or bytes) to `path` through a temp file and a rename.
 * On failure the temp file is removed, `path` keeps its old content and the
 * error (of the class thrown) names `path`. No fsync: this guards against
 * partial writes, not against power loss.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const tmp = tempPathOf(path);
  try {
    if (typeof data === "string") await Deno.writeTextFile(tmp, data);
    else await Deno.writeFile(tmp, data);
    await Deno.rename(tmp, path);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    // the same error class (NotFound, PermissionDenied, ...), its message naming the target
    if (e instanceof Error) e.message = `Cannot write ${path}: ${e.message}`;
    throw e;
  }
}

/** {@linkcode writeFileAtomic} of `value` as indented JSON with a final newline. */
export async function writeJsonAtomic(path: string, value: unknown, indent = 2): Promise<void> {
  await writeFileAtomic(path, JSON.stringify(value, null, indent) + "\n");
}
