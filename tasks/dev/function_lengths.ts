/**
 * `deno run -A tasks/dev/function_lengths.ts [--over 80]`: lists the product
 * functions (tests and test fakes excluded, nested functions on their own)
 * longer than `--over` lines, longest first, and how many there are. It runs
 * `deno lint` with the plugin of `lint_function_length.ts` at that threshold.
 *
 * @module
 */
import { join } from "node:path";
import { type CommandHelp, numberFlag, parseCommand, runMain } from "../../lib/args.ts";
import { MAX_LINES } from "./lint_function_length.ts";

const FLAGS = {
  over: { type: "string" as const, default: "80", help: "List functions longer than this" },
};

const HELP: CommandHelp = {
  cmd: "function_lengths.ts",
  summary: "Product functions over a length.",
};

/** One function over the threshold. */
export interface LongFunction {
  lines: number;
  file: string;
  line: number;
}

/** The product functions of the tree at `root` longer than `overLines`. */
export async function longFunctions(root: string, overLines: number): Promise<LongFunction[]> {
  const dir = await Deno.makeTempDir({ dir: root, prefix: ".function_lengths_" });
  try {
    const plugin = join(dir, "plugin.ts");
    const source = await Deno.readTextFile(new URL("./lint_function_length.ts", import.meta.url));
    await Deno.writeTextFile(
      plugin,
      source.replace(`MAX_LINES = ${MAX_LINES};`, `MAX_LINES = ${overLines};`),
    );
    const config = join(root, `${dir.slice(root.length + 1)}.json`);
    await Deno.writeTextFile(
      config,
      JSON.stringify({ lint: { plugins: [plugin], exclude: ["results/", "dist/"] } }),
    );
    try {
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["lint", "--config", config, "--json"],
        cwd: root,
        stdout: "piped",
        stderr: "null",
      }).output();
      const report = JSON.parse(new TextDecoder().decode(out.stdout));
      return parseReport(report, root);
    } finally {
      await Deno.remove(config);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

interface Diagnostic {
  code: string;
  filename: string;
  message: string;
  range: { start: { line: number } };
}

function parseReport(report: { diagnostics: Diagnostic[] }, root: string): LongFunction[] {
  const prefix = `file://${root.replace(/\/$/, "")}/`;
  return report.diagnostics
    .filter((d) => d.code === "topobench/max-function-lines")
    .map((d) => ({
      lines: Number(/function of (\d+) lines/.exec(d.message)?.[1]),
      file: d.filename.replace(prefix, ""),
      line: d.range.start.line,
    }))
    .sort((a, b) => b.lines - a.lines || a.file.localeCompare(b.file));
}

/** Prints the long functions and their count. */
export async function main(args: string[]): Promise<number> {
  const parsed = parseCommand(args, FLAGS, HELP);
  if (!parsed) return 0;
  const { values } = parsed;
  const over = numberFlag(values, "over", { min: 1, max: 10_000 })!;
  const found = await longFunctions(Deno.cwd(), over);
  for (const f of found) console.log(`${String(f.lines).padStart(4)}  ${f.file}:${f.line}`);
  console.log(`${found.length} product functions over ${over} lines`);
  return 0;
}

if (import.meta.main) await runMain(main);
