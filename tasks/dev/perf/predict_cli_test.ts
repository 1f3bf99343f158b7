/**
 * The `predict` perf entries read predict's own output: a real `deno task
 * predict` child (the queue-heavy trace's fixture, 20 requests) gives the
 * loop's simulated and wall seconds, its events and its run folder, and the
 * heap-capped hour's failure reads as a signal, not as a figure.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  finished,
  inTempDir,
  PREDICT_ENV,
  PREDICT_V8_FLAGS,
  predictChild,
} from "./_predict_cli.ts";
import { TRACE } from "./predict_speed.ts";

Deno.test("predictChild reads the loop's speed and run folder of a real predict run", async () => {
  await inTempDir("cli_test", async (dir) => {
    const trace = join(dir, "trace.jsonl");
    const lines = (await Deno.readTextFile(TRACE)).split("\n").slice(0, 20);
    await Deno.writeTextFile(trace, lines.join("\n") + "\n");
    const c = finished(
      await predictChild([
        "--topology",
        "fixtures/topologies/sim_agg.yaml",
        "--dataset",
        "trace",
        "--dataset-path",
        trace,
        "--out",
        join(dir, "t"),
      ]),
    );
    // at least the 20 arrivals (steps nothing interrupts take no event of their own)
    assert.ok(c.simulatedS > 1 && c.loopWallS > 0 && c.events >= 20, JSON.stringify(c));
    const rows = (await Deno.readTextFile(join(c.runDir, "requests.csv"))).trim().split("\n");
    assert.equal(rows.length, 21); // header + 20 requests
    // the command a user runs: the task's environment and V8 flags, as deno.json declares them
    const env = Object.entries(PREDICT_ENV).map(([k, v]) => `${k}=${v} `).join("");
    const head = `${env}deno run -A --v8-flags=${PREDICT_V8_FLAGS} tasks/predict.ts --topology `;
    assert.ok(c.command.startsWith(head), c.command);
    assert.match(c.command, / --start-time /);
    assert.ok(c.load.startsWith("load average"));
  });
});

Deno.test("finished refuses a predict run that failed, naming its command", async () => {
  const c = await predictChild(["--topology", "fixtures/topologies/no_such.yaml"]);
  assert.notEqual(c.code, 0);
  assert.throws(() => finished(c), /Cannot measure .*deno run -A .*tasks\/predict\.ts --topology/);
});
