/**
 * Single-file JavaScript bundles of this checkout's entry points (`deno bundle
 * --platform deno`, npm dependencies inside), for hosts and pods that have
 * Deno but no checkout: `deno task bundle` writes them to dist/, the cluster
 * launcher ships the router in a ConfigMap, and `bench --platform kubernetes`
 * copies the bench into its pods.
 *
 * @module
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { hashSeed } from "./rng.ts";

/** The checkout's root (meaningless inside a bundle: see {@linkcode runningBundle}). */
export const CHECKOUT = fileURLToPath(new URL("..", import.meta.url));

/** Bundle name to entry module (relative to the checkout's root). */
export const BUNDLES: Readonly<Record<string, string>> = {
  bench: "bench/run.ts",
  launch: "launch/up.ts",
  router: "launch/router/http/main.ts",
  sim: "launch/sim/live/main.ts",
};

/** The path of the running file when it is itself a bundle (`deno run bench.js`), else null. */
export function runningBundle(metaUrl: string): string | null {
  return metaUrl.startsWith("file:") && metaUrl.endsWith(".js") ? fileURLToPath(metaUrl) : null;
}

/** Bundles entry `name` into file `out`; throws with deno's output on failure. */
export async function bundleTo(
  name: string,
  out: string,
  o: { minify?: boolean } = {},
): Promise<void> {
  const entry = BUNDLES[name];
  if (!entry) {
    throw new RangeError(
      `Cannot bundle ${name} as a topobench entry: current value is ${
        JSON.stringify(name)
      }; allowed: ${Object.keys(BUNDLES).join(", ")}`,
    );
  }
  const args = ["bundle", "--platform", "deno", "--quiet", "-o", out];
  if (o.minify) args.push("--minify");
  args.push(entry);
  const r = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: CHECKOUT,
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
  }).output();
  if (!r.success) {
    const text = new TextDecoder().decode(r.stderr) + new TextDecoder().decode(r.stdout);
    throw new Error(`deno bundle ${entry} failed (exit ${r.code}):\n${text.trim()}`);
  }
}

/** Where built bundles are kept: `$TOPOBENCH_CACHE`, else `~/.cache/topobench/bundles`. */
export function bundleCacheDir(): string {
  const own = Deno.env.get("TOPOBENCH_CACHE");
  if (own) return own;
  const base = Deno.env.get("XDG_CACHE_HOME") ?? join(Deno.env.get("HOME") ?? "/tmp", ".cache");
  return join(base, "topobench", "bundles");
}

/** A hash of the checkout's sources (path, size, mtime of every .ts, deno.json, deno.lock). */
async function sourcesKey(): Promise<string> {
  const parts: string[] = [];
  const walk = async (dir: string) => {
    const entries = [];
    for await (const e of Deno.readDir(dir)) entries.push(e);
    entries.sort((a, b) => a.name < b.name ? -1 : 1);
    for (const e of entries) {
      if (e.name.startsWith(".") || ["results", "dist", "node_modules"].includes(e.name)) continue;
      const p = join(dir, e.name);
      if (e.isDirectory) await walk(p);
      else if (/\.(ts|json)$|^deno\.lock$/.test(e.name)) {
        const st = await Deno.stat(p);
        parts.push(`${p}:${st.size}:${st.mtime?.getTime()}`);
      }
    }
  };
  await walk(CHECKOUT);
  return hashSeed(parts.join("\n")).toString(36);
}

/**
 * The bundle of entry `name` as text, from the cache when this checkout's
 * sources are unchanged since it was built (a cluster `up` or a bench Job
 * then starts without seconds of bundling). The cache is best effort: a
 * folder that cannot be written, or sources that cannot be read for the key,
 * only cost the bundling each time.
 */
export async function bundleText(name: string, o: { minify?: boolean } = {}): Promise<string> {
  const dir = bundleCacheDir();
  const stem = `${name}${o.minify ? ".min" : ""}`;
  const key = await sourcesKey().catch(() => null);
  const file = key && join(dir, `${stem}-${key}.js`);
  if (file) {
    try {
      return await Deno.readTextFile(file);
    } catch { /* not built yet */ }
  }
  const tmpDir = await Deno.makeTempDir({ prefix: "topobench-bundle-" });
  try {
    const out = join(tmpDir, `${name}.js`); // deno bundle reads the format from ".js"
    await bundleTo(name, out, o);
    const text = await Deno.readTextFile(out);
    if (file) await keep(dir, stem, file, text).catch(() => {});
    return text;
  } finally {
    await Deno.remove(tmpDir, { recursive: true }).catch(() => {});
  }
}

/** Puts `text` in the cache as `file` (whole or not at all) and drops the older builds of `stem`. */
async function keep(dir: string, stem: string, file: string, text: string): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  const tmp = join(dir, `.${Deno.pid}-${crypto.randomUUID()}.js`);
  await Deno.writeTextFile(tmp, text);
  await Deno.rename(tmp, file).catch(async (e) => {
    await Deno.remove(tmp).catch(() => {});
    throw e;
  });
  for await (const e of Deno.readDir(dir)) {
    const old = e.name.startsWith(`${stem}-`) && e.name.endsWith(".js") &&
      join(dir, e.name) !== file && !e.name.slice(stem.length + 1, -3).includes(".");
    if (old) await Deno.remove(join(dir, e.name)).catch(() => {});
  }
}
