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

/** The checkout's root (meaningless inside a bundle: see {@linkcode runningBundle}). */
export const CHECKOUT = fileURLToPath(new URL("..", import.meta.url));

/** Bundle name to entry module (relative to the checkout's root). */
export const BUNDLES: Readonly<Record<string, string>> = {
  bench: "bench/run.ts",
  launch: "launch/up.ts",
  router: "launch/router/main.ts",
  sim: "launch/sim/main.ts",
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

/** The bundle of entry `name` as text (built in a temporary folder). */
export async function bundleText(name: string, o: { minify?: boolean } = {}): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "topobench-bundle-" });
  try {
    const out = join(dir, `${name}.js`);
    await bundleTo(name, out, o);
    return await Deno.readTextFile(out);
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}
