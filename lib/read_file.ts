/**
 * Whole-file reads where a missing file is an answer, not an error (an
 * optional `summary.json`, a state file of a topology that is not up): the
 * content, or undefined when there is no such file; any other failure
 * (permissions, a folder in its place) is thrown as it comes.
 *
 * @module
 */

async function unlessMissing<T>(read: Promise<T>): Promise<T | undefined> {
  try {
    return await read;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
}

/** The text of `path` (UTF-8), or undefined when it does not exist. */
export function readTextIfExists(path: string): Promise<string | undefined> {
  return unlessMissing(Deno.readTextFile(path));
}

/** The bytes of `path`, or undefined when it does not exist. */
export function readBytesIfExists(path: string): Promise<Uint8Array | undefined> {
  return unlessMissing(Deno.readFile(path));
}
