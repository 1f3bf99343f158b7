/**
 * `deno task bundle`: single-file JavaScript bundles of the tools, for hosts
 * that have Deno but no checkout (copy with scp, run with `deno run -A`).
 * Uses `deno bundle --platform deno`; npm dependencies (tokenizer, yaml, csv)
 * are bundled in, so a bundle needs no network and no node_modules.
 *
 *     deno task bundle                      # dist/bench.js launch.js router.js sim.js
 *     deno task bundle --only bench,sim --outdir /tmp/b
 *
 * @module
 */
import { join, resolve } from "node:path";
import { BUNDLES, bundleTo } from "../../lib/bundle.ts";
import { type CommandHelp, listFlag, parseCommand, runMain } from "../../lib/args.ts";
import { fieldError } from "../../lib/errors.ts";

export { BUNDLES };

const FLAGS = {
  outdir: { type: "string" as const, default: "dist", help: "Output folder (default dist/)" },
  only: {
    type: "string" as const,
    help: `Comma-separated subset of ${Object.keys(BUNDLES).join(", ")}`,
  },
  minify: { type: "boolean" as const, default: false, help: "Minify the bundles" },
};

const HELP: CommandHelp = {
  cmd: "deno task bundle",
  summary: "Single-file bundles of bench, launch, router, sim.",
};

/** Options of {@linkcode bundle}. */
export interface BundleOptions {
  /** Output folder, absolute or relative to the current directory. @default "dist" */
  outDir?: string;
  /** Which bundles to build. @default every name in BUNDLES */
  names?: string[];
  /** Pass `--minify` to `deno bundle`. @default false */
  minify?: boolean;
}

/** Builds the bundles; returns the written paths by name. Throws with deno's output on failure. */
export async function bundle(o: BundleOptions = {}): Promise<Record<string, string>> {
  const names = o.names ?? Object.keys(BUNDLES);
  for (const n of names) {
    if (!Object.hasOwn(BUNDLES, n)) {
      throw fieldError({
        field: "--only",
        value: n,
        expected: `one of ${Object.keys(BUNDLES).join(", ")}`,
      });
    }
  }
  const outDir = resolve(o.outDir ?? "dist");
  await Deno.mkdir(outDir, { recursive: true });
  const written: Record<string, string> = {};
  await Promise.all(names.map(async (n) => {
    written[n] = join(outDir, `${n}.js`);
    await bundleTo(n, written[n], { minify: o.minify });
  }));
  return Object.fromEntries(names.map((n) => [n, written[n]]));
}

/** Runs the CLI; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  const parsed = parseCommand(args, FLAGS, HELP);
  if (!parsed) return 0;
  const { values } = parsed;
  const only = listFlag(values, "only");
  const written = await bundle({
    outDir: values.outdir as string,
    names: only.length ? only : undefined,
    minify: values.minify as boolean,
  });
  for (const [n, path] of Object.entries(written)) {
    const mib = (await Deno.stat(path)).size / 2 ** 20;
    console.error(`${n.padEnd(7)} ${BUNDLES[n].padEnd(22)} -> ${path} (${mib.toFixed(1)} MiB)`);
  }
  return 0;
}

if (import.meta.main) await runMain(main);
