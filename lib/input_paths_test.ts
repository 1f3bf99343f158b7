import assert from "node:assert/strict";
import { join } from "node:path";
import { resolveInputs } from "./_input_paths.ts";

Deno.test("resolveInputs: a folder's run dirs, not its probes/ or private folders; probes/ when named", async () => {
  const root = await Deno.makeTempDir();
  try {
    const run = async (...p: string[]) => {
      await Deno.mkdir(join(root, ...p), { recursive: true });
      await Deno.writeTextFile(join(root, ...p, "config.json"), "{}");
    };
    await run("exp", "20260101-000000-agg-r1");
    await run("exp", "probes", "20260101-000000-agg-probe");
    await run("exp", ".state", "x");
    const found = await resolveInputs([join(root, "exp")]);
    assert.deepEqual(found, [join(root, "exp", "20260101-000000-agg-r1")]);
    const probes = await resolveInputs([join(root, "exp", "probes")]);
    assert.deepEqual(probes, [join(root, "exp", "probes", "20260101-000000-agg-probe")]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
