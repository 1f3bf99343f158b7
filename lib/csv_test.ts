import assert from "node:assert/strict";
import { join } from "node:path";
import { CsvAppender, readCsv } from "./csv.ts";

Deno.test("CsvAppender writes the header once, quotes, survives reopen; readCsv reads it back", async () => {
  const dir = await Deno.makeTempDir();
  const path = join(dir, "x.csv");
  const a = new CsvAppender(path, ["id", "err", "v"]);
  a.append({ id: "r1", err: 'bad "x", y\nz', v: 1.23456 });
  a.close();
  const b = new CsvAppender(path, ["id", "err", "v"]);
  b.appendMany([{ id: "r2", err: null, v: 2 }, { id: "r3", v: NaN }]);
  b.close();
  const rows = await readCsv(path);
  assert.deepEqual(rows, [
    { id: "r1", err: 'bad "x", y\nz', v: "1.235" },
    { id: "r2", err: "", v: "2" },
    { id: "r3", err: "", v: "" },
  ]);
  assert.throws(() => new CsvAppender(path, ["other"]), RangeError);
  await Deno.remove(dir, { recursive: true });
});
