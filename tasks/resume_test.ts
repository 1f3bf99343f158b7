/**
 * A resumed sweep never pools an interrupted attempt with its rerun: the
 * attempt (`complete: false`) is moved to `.interrupted/`, merge counts one
 * run per point; and where an attempt still sits beside its rerun (left by
 * hand or by older code), merge and plot skip it with a warning.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { readMerged } from "../lib/merged_schema.ts";
import { readExperiment } from "../plot/_runs.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

async function run(args: string[]) {
  const o = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", ...args],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: o.code, err: new TextDecoder().decode(o.stderr) };
}

const runDirs = (dir: string) =>
  [...Deno.readDirSync(dir)].filter((e) => e.isDirectory && /^\d{8}-/.test(e.name)).map((e) =>
    e.name
  ).sort();

Deno.test("resume moves an interrupted point aside; merge and plot never pool it with the rerun", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "resume_test_" });
  try {
    const file = join(tmp, "exp.yaml");
    await Deno.writeTextFile(
      file,
      [
        "name: res",
        "clock: virtual",
        "topologies: [{ label: agg, file: fixtures/topologies/sim_agg.yaml }]",
        "workload: { input-len: 32, output-len: 4, num-requests: 6, seed: 0 }",
        "sweep: { rates: [1, 2], runs: 1 }",
      ].join("\n"),
    );
    const predict = (start: string) =>
      run(["tasks/predict.ts", file, "--out", tmp, "--no-plot", "--start-time", start]);
    const first = await predict("2026-01-01T00:00:00Z");
    assert.equal(first.code, 0, first.err);
    const exp = join(tmp, "res");
    const [r1, r2] = runDirs(exp);
    assert.match(r2, /-agg-r2$/);
    // the state Ctrl-C leaves: the point's summary says incomplete
    const sumPath = join(exp, r2, "summary.json");
    const sum = JSON.parse(await Deno.readTextFile(sumPath));
    await Deno.writeTextFile(
      sumPath,
      JSON.stringify(sum.map((s: object) => ({ ...s, complete: false }))),
    );
    const again = await predict("2026-01-02T00:00:00Z");
    assert.equal(again.code, 0, again.err);
    assert.match(again.err, /interrupted attempt .*-agg-r2 moved aside/);
    assert.deepEqual(runDirs(join(exp, ".interrupted")), [r2]);
    const now = runDirs(exp);
    assert.equal(now.length, 2, now.join(" "));
    assert.equal(now[0], r1, "the finished point is reused");
    const rows = (await readMerged(join(exp, "merged.csv"))).filter((r) => r.run_index === "mean");
    assert.deepEqual(rows.map((r) => [r.load_point, r.n_runs, r.completed]), [["1", 1, 6], [
      "2",
      1,
      6,
    ]]);

    // an attempt beside its rerun (older code, or put back by hand): skipped with a warning
    await Deno.rename(join(exp, ".interrupted", r2), join(exp, r2));
    const out = join(tmp, "m.csv");
    const m = await run(["tasks/merge/merge.ts", join(exp, "*"), "--out", out]);
    assert.equal(m.code, 0, m.err);
    assert.match(
      m.err,
      new RegExp(`warning: .*${r2}: an interrupted attempt \\(complete: false\\)`),
    );
    const means = (await readMerged(out)).filter((r) => r.run_index === "mean");
    assert.deepEqual(means.map((r) => [r.load_point, r.n_runs]), [["1", 1], ["2", 1]]);
    await Deno.remove(join(exp, "merged.csv"));
    const data = await readExperiment(exp);
    assert.deepEqual(data.rows.map((r) => [r.load_point, r.n_runs]), [["1", 1], ["2", 1]]);
    assert.ok(!data.runs.some((x) => x.dir.endsWith(r2)), "its figures leave it out");
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
