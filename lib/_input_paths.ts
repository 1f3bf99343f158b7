/**
 * Which merge inputs the command line names: glob expansion (as the shell
 * does, without `**`), run directories, folders of them, and the result files
 * of vLLM, GuideLLM and AIPerf found in those folders.
 *
 * @module
 */
import { join, resolve } from "node:path";
import { isRunDir } from "./run_dir.ts";
import { isGuidellmReport, isGuidellmYaml } from "./guidellm_json.ts";
import { isAiperfRecords as isAiperfExport } from "./aiperf_export.ts";

const GLOB = /[*?[]/;

function globRegex(seg: string): RegExp {
  let s = "";
  for (const ch of seg) {
    if (ch === "*") s += "[^/]*";
    else if (ch === "?") s += "[^/]";
    else s += ch.replace(/[.+^${}()|\\\]]/g, "\\$&");
  }
  return new RegExp(`^${s}$`);
}

/**
 * Expands `*`, `?` and `[...]` in path segments (no `**`; hidden names only
 * when the segment starts with `.`, as the shell does); sorted; a plain path is kept as is.
 */
export async function expandGlob(pattern: string): Promise<string[]> {
  if (!GLOB.test(pattern)) return [pattern];
  const abs = pattern.startsWith("/");
  const segs = pattern.split("/").filter((s, i) => s !== "" || i === 0);
  let bases = [abs ? "/" : "."];
  for (const seg of segs) {
    if (seg === "") continue;
    const next: string[] = [];
    for (const b of bases) {
      if (!GLOB.test(seg)) {
        next.push(join(b, seg));
        continue;
      }
      const re = globRegex(seg);
      const dots = seg.startsWith("."); // as the shell: `*` skips hidden names (.state, .interrupted)
      try {
        for await (const e of Deno.readDir(b)) {
          if (re.test(e.name) && (dots || !e.name.startsWith("."))) next.push(join(b, e.name));
        }
      } catch { /* not a folder */ }
    }
    bases = next;
  }
  const out: string[] = [];
  for (const b of bases) {
    try {
      await Deno.stat(b);
      out.push(b);
    } catch { /* gone */ }
  }
  return out.sort();
}

/** Whether a JSON file is a result merge reads: vLLM's `--save-result` or GuideLLM's report. */
async function isVllmResult(path: string): Promise<boolean> {
  try {
    const j = JSON.parse(await Deno.readTextFile(path));
    if (isGuidellmReport(j)) return true;
    return typeof j === "object" && j !== null && "completed" in j && "duration" in j;
  } catch {
    return false;
  }
}

/** Run directories and JSON files named by `args` (globs, run dirs, folders holding run dirs). */
export async function resolveInputs(args: string[]): Promise<string[]> {
  const out: string[] = [];
  const visit = async (p: string, depth: number) => {
    const st = await Deno.stat(p);
    if (st.isFile) {
      if (!p.endsWith(".json") && !isAiperfExport(p) && !isGuidellmYaml(p)) {
        throw new TypeError(
          `Cannot use ${p} as a merge input (a run directory, a vllm bench or GuideLLM JSON file, a GuideLLM benchmarks.yaml, or an AIPerf profile_export.jsonl or profile_export_records.csv): current value is a file`,
        );
      }
      out.push(p);
    } else if (await isRunDir(p)) out.push(p);
    else if (depth < 3) {
      const kids: string[] = [];
      for await (const e of Deno.readDir(p)) {
        if (e.name.startsWith(".")) continue; // .state/ and other private folders
        // a sweep's saturating probes (rate inf) are not load points of the study; named, they are read
        if (e.name === "probes" && e.isDirectory) continue;
        if (e.isDirectory) kids.push(e.name);
        // found JSON files count only when they are vllm bench results (not crossover.json ...)
        else if (e.name.endsWith(".json") && await isVllmResult(join(p, e.name))) kids.push(e.name);
        else if (isAiperfExport(e.name) || isGuidellmYaml(e.name)) kids.push(e.name);
      }
      // AIPerf 0.8+ writes the same records as .jsonl and as _records.csv: read one
      const dup = kids.includes("profile_export.jsonl") ? "profile_export_records.csv" : "";
      for (const k of kids.sort()) if (k !== dup) await visit(join(p, k), depth + 1);
    }
  };
  for (const a of args) {
    const hits = await expandGlob(a);
    if (hits.length === 0) {
      throw new RangeError(
        `Cannot use ${JSON.stringify(a)} as a merge input: current value matches nothing`,
      );
    }
    const globbed = hits.length > 1 || hits[0] !== a;
    for (const h of hits) {
      try {
        // a glob's files count only when they are results (`'results/exp/*'` also matches compare.md)
        const st = await Deno.stat(h);
        if (
          globbed && st.isFile && !isAiperfExport(h) && !isGuidellmYaml(h) &&
          !(h.endsWith(".json") && await isVllmResult(h))
        ) continue;
        await visit(h, 0);
      } catch (e) {
        if (e instanceof Deno.errors.NotFound) {
          throw new RangeError(
            `Cannot use ${JSON.stringify(h)} as a merge input: current value does not exist`,
          );
        }
        throw e;
      }
    }
  }
  return [...new Set(out.map((p) => resolve(p)))];
}
