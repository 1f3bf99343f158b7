/**
 * Labels become folder names: a label that climbs out of the results folder
 * (`../../../x`) or makes sub-folders (`a/b`) is refused before anything runs,
 * naming the field, the file and what is allowed.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { join } from "node:path";

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

/** Every path under `dir`, relative to it. */
function tree(dir: string, prefix = ""): string[] {
  return [...Deno.readDirSync(dir)].flatMap((e) =>
    e.isDirectory
      ? [prefix + e.name, ...tree(join(dir, e.name), `${prefix}${e.name}/`)]
      : [prefix + e.name]
  ).sort();
}

Deno.test("pipeline: an experiment label ../../../x is refused and writes nothing outside", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "labels_test_" });
  try {
    const file = join(tmp, "exp.yaml");
    await Deno.writeTextFile(
      file,
      [
        "name: esc",
        "clock: virtual",
        "topologies:",
        "  - { label: ../../../x, file: fixtures/topologies/sim_agg.yaml }",
        "workload: { input-len: 16, output-len: 4, num-requests: 2, seed: 0 }",
        "sweep: { rates: [1], runs: 1 }",
      ].join("\n"),
    );
    const out = join(tmp, "a", "b", "c", "results");
    const r = await run(["tasks/pipeline.ts", file, "--out", out, "--no-plot"]);
    assert.equal(r.code, 1, r.err);
    assert.match(
      r.err,
      /Cannot use "\.\.\/\.\.\/\.\.\/x" as a label \(field topologies\[0\]\.label in .*exp\.yaml\): .*allowed: letters, digits, \. _ -/,
    );
    assert.deepEqual(tree(tmp), ["exp.yaml"], "no folder made anywhere");
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("sweep: a topology label with / is refused before bench makes sub-folders", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "labels_test_" });
  try {
    const r = await run([
      "tasks/sweep.ts",
      ...["--url", "http://127.0.0.1:9", "--topology", "a/b", "--rates", "1"],
      ...["--out", join(tmp, "exp"), "--no-reset", "--", "--num-requests", "1"],
    ]);
    assert.equal(r.code, 1, r.err);
    assert.match(r.err, /Cannot use "a\/b" as a topology label \(field topology\)/);
    assert.deepEqual(tree(tmp), [], "no folder made");
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
