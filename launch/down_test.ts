import assert from "node:assert/strict";
import { knownTopologies, main } from "./down.ts";

Deno.test("down: an unknown name is refused with the known ones; a known one that is not up is fine", async () => {
  const dir = await Deno.makeTempDir({ prefix: "topobench_down_" });
  try {
    await Deno.writeTextFile(`${dir}/mine.json`, "{}");
    const known = await knownTopologies(dir);
    assert.ok(known.includes("mine") && known.includes("sim-agg"), known.join(","));
    await assert.rejects(
      () => main(["no-such-topology", "--state-dir", dir]),
      /Cannot stop topology no-such-topology: .*allowed: .*sim-agg/,
    );
    assert.equal(await main(["sim-agg", "--state-dir", dir]), 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
