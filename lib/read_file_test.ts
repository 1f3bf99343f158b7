import assert from "node:assert/strict";
import { join } from "node:path";
import { readBytesIfExists, readTextIfExists } from "./read_file.ts";

Deno.test("readTextIfExists / readBytesIfExists: content, undefined when missing, other errors thrown", async () => {
  const dir = await Deno.makeTempDir({ prefix: "read_file_" });
  try {
    const file = join(dir, "a.txt");
    await Deno.writeTextFile(file, "héllo");
    assert.equal(await readTextIfExists(file), "héllo");
    assert.deepEqual(await readBytesIfExists(file), new TextEncoder().encode("héllo"));
    assert.equal(await readTextIfExists(join(dir, "none.txt")), undefined);
    assert.equal(await readBytesIfExists(join(dir, "none", "b.csv")), undefined);
    await assert.rejects(() => readTextIfExists(dir), (e) => !(e instanceof Deno.errors.NotFound));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
