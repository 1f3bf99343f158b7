import assert from "node:assert/strict";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import { EXPERIMENT_KEYS, loadExperiment, ROOT, validateExperiment } from "./_experiment.ts";
import { schemaErrors } from "./_json_schema.ts";
import { parseFlags } from "../lib/args.ts";
import { ATTAINMENT_FLAG, attainmentFromFlags } from "../lib/metrics.ts";

type Obj = Record<string, unknown>;
const EXP_DIR = join(ROOT, "tasks/experiments");
const SCHEMA = JSON.parse(
  await Deno.readTextFile(join(EXP_DIR, "experiment.schema.json")),
) as Obj;

/** Every block of the schema with `properties`, by field path (`[]` for list items). */
function schemaBlocks(s: Obj, path = "", out = new Map<string, string[]>()) {
  if (typeof s.$ref === "string") return out;
  if (s.properties) {
    const props = s.properties as Record<string, Obj>;
    out.set(path, Object.keys(props));
    for (const [k, p] of Object.entries(props)) schemaBlocks(p, path ? `${path}.${k}` : k, out);
  }
  if (s.items && typeof s.items === "object") schemaBlocks(s.items as Obj, `${path}[]`, out);
  return out;
}

const yamlOf = async (f: string) => parseYaml(await Deno.readTextFile(join(EXP_DIR, f)));

Deno.test("experiment schema: every shipped experiment validates against it and loads", async () => {
  const files = [...Deno.readDirSync(EXP_DIR)].map((e) => e.name).filter((n) =>
    n.endsWith(".yaml")
  );
  assert.ok(files.length >= 7, files.join());
  for (const f of files) {
    assert.deepEqual(schemaErrors(SCHEMA, await yamlOf(f)), [], f);
    await loadExperiment(join(EXP_DIR, f));
  }
  // and it refuses what the reader refuses
  const demo = await yamlOf("demo.yaml") as Obj;
  assert.deepEqual(schemaErrors(SCHEMA, { ...demo, target_pct: 90 }), ["target_pct: unknown key"]);
  assert.equal(schemaErrors(SCHEMA, { ...demo, attainment: 0.9 }).length, 1);
});

Deno.test("experiment schema: its keys are exactly the keys tasks/_experiment.ts reads", () => {
  const blocks = schemaBlocks(SCHEMA);
  assert.deepEqual(
    [...blocks.keys()].sort(),
    Object.keys(EXPERIMENT_KEYS).sort(),
    "blocks with properties",
  );
  for (const [path, keys] of Object.entries(EXPERIMENT_KEYS)) {
    assert.deepEqual(blocks.get(path)?.sort(), [...keys].sort(), `keys of ${path || "(top)"}`);
  }
});

Deno.test("experiment schema: its defaults are the reader's defaults", () => {
  const e = validateExperiment({
    name: "x",
    topologies: [{ label: "a", file: "a.yaml" }],
    sweep: { rates: [1] },
  });
  const def = (path: string) => {
    let s: Obj = SCHEMA;
    for (const k of path.split(".")) s = (s.properties as Record<string, Obj>)[k];
    return s.default;
  };
  const pairs: [string, unknown][] = [
    ["description", e.description],
    ["clock", e.clock],
    ["workload", e.workload],
    ["attainment", e.targetPct],
    ["sweep.auto.probe_requests", e.sweep.auto.probeRequests],
    ["sweep.auto.points", e.sweep.auto.points],
    ["sweep.auto.resolution", e.sweep.auto.resolution],
    ["sweep.auto.max_search_points", e.sweep.auto.maxSearchPoints],
    ["sweep.grid", e.sweep.grid],
    ["sweep.topology", e.sweep.topology],
    ["sweep.runs", e.sweep.runs],
    ["sweep.reset_prefix_cache", e.sweep.resetPrefixCache],
    ["sweep.stop.max_error_rate", e.sweep.stop.maxErrorRate],
    ["plots.formats", e.plots.formats],
    ["plots.log_y", e.plots.logY],
  ];
  for (const [path, v] of pairs) assert.deepEqual(def(path), v, path);
});

Deno.test("experiment: a budget sweep validates and expands to every size of 8 GPUs", async () => {
  const dir = await Deno.makeTempDir({ prefix: "topobench_budget_" });
  try {
    const doc = {
      name: "budget8",
      topologies: ["dp", "pd_1p1d", "ppd_1p1d", "agg"].map((f) => ({
        label: f.replace("_1p1d", ""),
        file: `fixtures/topologies/sim_${f}.yaml`,
      })),
      workload: { dataset: "multiturn", preset: "W1", turns: 3 },
      sweep: { rates: "auto", topology: { budget: 8, kinds: ["dp", "pd", "ppd"] } },
      slo: { ttft_ms: 500, tpot_ms: 50 },
      attainment: 90,
    };
    assert.deepEqual(schemaErrors(SCHEMA, doc), []);
    const file = join(dir, "b.yaml");
    await Deno.writeTextFile(file, JSON.stringify(doc));
    const exp = await loadExperiment(file);
    const splits = (k: string) => [1, 2, 3, 4, 5, 6, 7].map((p) => `${k}-${p}P${8 - p}D`);
    assert.deepEqual(exp.topologies.map((t) => t.label), [
      "dp-8",
      ...splits("pd"),
      ...splits("ppd"),
      "agg",
    ]);
    // a multi-turn workload: the replica baseline routes by session, the others keep theirs
    const policy = Object.fromEntries(exp.topologies.map((t) => [t.label, t.routerPolicy]));
    assert.equal(policy["dp-8"], "session");
    assert.equal(policy["pd-2P6D"], "round_robin");
    assert.equal(policy["ppd-2P6D"], "round_robin (decode: session)");
    // agg is one engine: sized to 8 it is refused, naming the kind, the label and the file
    await Deno.writeTextFile(
      file,
      JSON.stringify({ ...doc, sweep: { rates: [1], topology: { budget: 8 } } }),
    );
    await assert.rejects(
      () => loadExperiment(file),
      /Cannot size topology agg of .*b\.yaml \(sweep\.topology\.budget\) to a budget of 8 GPUs: current value is 1 GPUs; kind agg is one engine/,
    );
    const bad = { ...doc, sweep: { rates: [1], topology: { budget: 8, kinds: ["pdx"] } } };
    await Deno.writeTextFile(file, JSON.stringify(bad));
    await assert.rejects(
      () => loadExperiment(file),
      /Cannot use sweep\.topology\.kinds\[0\] in .*b\.yaml as one of dp, pd, ppd, agg: current value is "pdx"/,
    );
    assert.notDeepEqual(
      schemaErrors(SCHEMA, { ...doc, sweep: { rates: [1], topology: { budget: 0 } } }),
      [],
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("attainment: one spelling; the old ones name the new one", () => {
  assert.throws(
    () => validateExperiment({ name: "x", topologies: [], target_pct: 90 }, "e.yaml"),
    /Cannot use target_pct in e\.yaml as a known key: it is now attainment .*current value is 90/,
  );
  assert.throws(
    () =>
      validateExperiment({
        name: "x",
        topologies: [{ label: "a", file: "a" }],
        sweep: { rates: [1] },
        attainment: 0.9,
      }, "e.yaml"),
    /Cannot use attainment in e\.yaml as a percent in \[1, 100\]/,
  );
  for (const old of ["--target", "--slo-target"]) {
    assert.throws(
      () => parseFlags([old, "90"], ATTAINMENT_FLAG),
      new RegExp(`Cannot use ${old}: it was renamed --attainment`),
    );
  }
  assert.equal(attainmentFromFlags(parseFlags(["--attainment", "95"], ATTAINMENT_FLAG).values), 95);
  assert.equal(attainmentFromFlags(parseFlags([], ATTAINMENT_FLAG).values), 90);
  assert.throws(
    () => attainmentFromFlags(parseFlags(["--attainment", "0.9"], ATTAINMENT_FLAG).values),
    /Cannot use --attainment as a percent in \[1, 100\]/,
  );
});

Deno.test("experiment docs: the whole-file example validates and runs the sizes it names", async () => {
  const md = await Deno.readTextFile(join(ROOT, "docs/experiments.md"));
  const yaml = /## A whole file\s+```yaml\n([\s\S]*?)```/.exec(md)?.[1];
  assert.ok(yaml, "docs/experiments.md has a whole-file example");
  assert.deepEqual(schemaErrors(SCHEMA, parseYaml(yaml)), []);
  const dir = await Deno.makeTempDir({ prefix: "topobench_docs_exp_" });
  try {
    await Deno.writeTextFile(join(dir, "e.yaml"), yaml);
    const labels = (await loadExperiment(join(dir, "e.yaml"))).topologies.map((t) => t.label);
    assert.deepEqual([labels[0], labels[1], labels[7], labels[8], labels.at(-1)], [
      "dp-8",
      "pd-1P7D",
      "pd-7P1D",
      "ppd-1P7D",
      "ppd-7P1D",
    ]);
    assert.match(md, /This runs `dp-8`, `pd-1P7D` … `pd-7P1D` and `ppd-1P7D` … `ppd-7P1D`/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
