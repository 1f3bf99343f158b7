/**
 * Ctrl-C during a long virtual run: the loop gives the host's events a turn
 * about every wall second, so the run stops there, writes the rows of what
 * finished whole, leaves no summary (the point is incomplete) and exits 130.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { ROOT } from "../_experiment.ts";

Deno.test("predict: Ctrl-C stops a long virtual run with its finished rows whole, no summary, exit 130", async () => {
  const out = await Deno.makeTempDir();
  try {
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        join(ROOT, "tasks/predict.ts"),
        "--topology",
        join(ROOT, "fixtures/topologies/sim_agg.yaml"),
        "--dataset",
        "random",
        "--input-len",
        "256",
        "--output-len",
        "32",
        "--rate",
        "20",
        "--duration",
        "100000",
        "--out",
        join(out, "long"),
      ],
      stdout: "null",
      stderr: "piped",
    }).spawn();
    // wait for the first rows on disk (written about every wall second)
    let csv = "";
    for (let i = 0; i < 300 && !csv.includes("\n2"); i++) {
      await new Promise((r) => setTimeout(r, 100));
      for await (const e of Deno.readDir(out)) {
        csv = await Deno.readTextFile(join(out, e.name, "requests.csv")).catch(() => "");
      }
    }
    assert.ok(csv.split("\n").length > 2, "rows were written while the run went on");
    child.kill("SIGINT");
    const { code, stderr } = await child.output();
    const err = new TextDecoder().decode(stderr);
    assert.equal(code, 130, err);
    assert.match(err, /interrupted by SIGINT/);
    let dir = "";
    for await (const e of Deno.readDir(out)) dir = join(out, e.name);
    const rows = (await Deno.readTextFile(join(dir, "requests.csv"))).trimEnd().split("\n");
    const cols = rows[0].split(",").length;
    assert.ok(rows.length > 2);
    assert.ok(rows.every((r) => r.split(",").length === cols), "every row whole");
    await assert.rejects(Deno.stat(join(dir, "summary.json")), Deno.errors.NotFound);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});
