/**
 * Reads a configuration input (topology, experiment or workload YAML, a JSON
 * template) with a size limit: a 200 MB file is refused at once, naming the
 * file, its size and the limit, instead of being parsed until memory runs out.
 * At most limit + 1 bytes are ever read, so devices and growing files stop too.
 *
 * @module
 */
import { concat } from "./bytes.ts";

/** Largest configuration file read: 16 MiB. */
export const CONFIG_MAX_BYTES = 16 * 1024 * 1024;

function mib(n: number): string {
  return `${(n / 1024 / 1024).toFixed(n % (1024 * 1024) === 0 ? 0 : 1)} MiB`;
}

/**
 * The text of `path` when it holds at most `maxBytes` bytes; else a
 * RangeError naming the file, what it was read as, its size and the limit.
 * Errors opening the file (NotFound, ...) are thrown as they come.
 * @default what "a configuration file"
 * @default maxBytes CONFIG_MAX_BYTES
 */
export async function readConfigText(
  path: string,
  what = "a configuration file",
  maxBytes = CONFIG_MAX_BYTES,
): Promise<string> {
  using f = await Deno.open(path, { read: true });
  const size = (await f.stat()).size;
  const tooBig = (n: string) =>
    new RangeError(
      `Cannot read ${path} as ${what}: current value is ${n}; allowed: at most ${mib(maxBytes)}`,
    );
  if (size > maxBytes) throw tooBig(`${mib(size)} (${size} bytes)`);
  const chunks: Uint8Array[] = [];
  let total = 0;
  const buf = new Uint8Array(64 * 1024);
  for (;;) {
    const n = await f.read(buf);
    if (n === null) break;
    total += n;
    if (total > maxBytes) throw tooBig(`over ${mib(maxBytes)} (still growing as it was read)`);
    chunks.push(buf.slice(0, n));
  }
  return new TextDecoder().decode(concat(chunks));
}
