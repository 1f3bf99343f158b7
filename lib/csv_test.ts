import assert from "node:assert/strict";
import { join } from "node:path";
import { CsvAppender, csvCell, numberCell, readCsv } from "./csv.ts";
import { CsvLineWriter } from "./csv_bytes.ts";
import { stringify } from "csv-stringify/sync";

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

Deno.test("a row is written as csv-stringify writes it, byte for byte", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/a.csv`;
  const cols = ["a", "b", "c", "d", "e"];
  const rows = [
    { a: "plain", b: 1.23456, c: null, d: "x,y", e: 'say "hi"' },
    { a: "line\nbreak", b: -0, c: Infinity, d: "", e: "cr\r" },
    { a: " lead", b: 12, c: true, d: "é", e: "#" },
    // longer than the appender's first buffer, in 2- and 4-byte characters
    { a: "é".repeat(700), b: 0.5, c: "🙂".repeat(300), d: 'q"'.repeat(200), e: -3 },
    { a: "short", b: 7, c: null, d: "", e: "after the long one" },
  ];
  const w = new CsvAppender(path, cols);
  w.append(rows[0]);
  w.appendMany(rows.slice(1, 3));
  for (const r of rows.slice(3)) w.append(r);
  w.close();
  const cell = (v: unknown) =>
    v === null || (typeof v === "number" && !Number.isFinite(v))
      ? ""
      : typeof v === "number" && !Number.isInteger(v)
      ? String(Math.round(v * 1000) / 1000)
      : String(v);
  const want = stringify([cols, ...rows.map((r) => cols.map((c) => cell(r[c as keyof typeof r])))]);
  assert.equal(await Deno.readTextFile(path), want);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("CsvAppender holdBytes: rows wait until the threshold, flush or close; the bytes are the same", async () => {
  const dir = await Deno.makeTempDir();
  const cols = ["id", "text", "v"];
  const rows = Array.from({ length: 40 }, (_, i) => ({
    id: `r${i}`,
    text: i % 7 ? "plain" : 'say "é", 🙂\n',
    v: i / 3,
  }));
  const plain = new CsvAppender(join(dir, "plain.csv"), cols);
  for (const r of rows) plain.append(r);
  plain.close();
  const path = join(dir, "held.csv");
  const held = new CsvAppender(path, cols, { holdBytes: 200 });
  const header = (await Deno.readTextFile(path)).length;
  held.append(rows[0]);
  assert.equal((await Deno.readTextFile(path)).length, header, "a row below the threshold waits");
  held.flush();
  const flushed = await Deno.readTextFile(path);
  assert.ok(flushed.endsWith('r0,"say ""é"", 🙂\n",0\n'), flushed);
  for (const r of rows.slice(1, 20)) held.append(r);
  const mid = await Deno.readTextFile(path);
  assert.ok(mid.length > flushed.length, "past the threshold, rows are written");
  assert.ok(mid.endsWith("\n"), "only whole lines");
  for (const r of rows.slice(20)) held.append(r);
  held.close();
  assert.equal(await Deno.readTextFile(path), await Deno.readTextFile(join(dir, "plain.csv")));
  assert.throws(() => new CsvAppender(join(dir, "x.csv"), cols, { holdBytes: -1 }), RangeError);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("numberCell writes what String(Math.round(v * 1000) / 1000) writes (integers whole, non-finite empty)", () => {
  const want = (v: number) =>
    !Number.isFinite(v)
      ? ""
      : Number.isInteger(v)
      ? String(v)
      : String(Math.round(v * 1000) / 1000);
  const xs = [0, -0, 0.0004, -0.0004, 0.0005, -0.0005, 0.0015, -0.0015, 1.0005, 9.9995, -9.9995];
  xs.push(0.001, 0.01, 0.09, 0.099, 0.999, 0.9995, 2.5e-7, NaN, Infinity, -Infinity, 1e21, 1.5e300);
  // around 2^42, where the digits' path gives way to the generic one
  for (const v of [2 ** 42 - 0.3, 2 ** 42 + 0.5, 4e12 + 0.1234, 4.4e12 + 0.5, 1e15 + 0.5]) {
    xs.push(v, -v);
  }
  let seed = 7;
  const rnd = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
  for (let i = 0; i < 20_000; i++) {
    const v = (rnd() - 0.3) * 10 ** (Math.floor(rnd() * 24) - 6);
    xs.push(v, Math.round(v * 1000) / 1000, (Math.floor(rnd() * 2e6) + 0.5) / 1000);
  }
  for (let r = -2000; r <= 2000; r++) xs.push(r / 1000, (r + 0.5) / 1000);
  const w = new CsvLineWriter(new Uint8Array(8)); // grown as it goes
  const dec = new TextDecoder();
  for (const v of xs) {
    assert.equal(numberCell(v), want(v), `value ${v}`);
    w.at = 0;
    w.number(v);
    assert.equal(dec.decode(w.buf.subarray(0, w.at)), want(v), `bytes of ${v}`);
  }
});

Deno.test("CsvLineWriter: texts as csvCell quotes them, UTF-8; appendWritten writes what append does", () => {
  const texts = ["", "plain", 'a "q"', "a,b", "line\nbreak", "cr\r", "é🙂", "x".repeat(5000)];
  const w = new CsvLineWriter(new Uint8Array(4));
  const dec = new TextDecoder();
  for (const t of texts) {
    w.at = 0;
    w.text(t);
    assert.equal(dec.decode(w.buf.subarray(0, w.at)), csvCell(t));
  }
  const dir = Deno.makeTempDirSync();
  try {
    const cols = ["a", "b", "c"];
    const rows = texts.map((t, i) => ({ a: t, b: i / 3, c: null }));
    const one = new CsvAppender(join(dir, "one.csv"), cols, { holdBytes: 100 });
    const two = new CsvAppender(join(dir, "two.csv"), cols, { holdBytes: 100 });
    for (const r of rows) {
      one.append(r);
      two.appendWritten((w, x) => {
        w.text(x.a);
        w.comma();
        w.number(x.b);
        w.comma();
        w.number(x.c);
        w.newline();
      }, r);
    }
    one.close();
    two.close();
    assert.equal(
      Deno.readTextFileSync(join(dir, "two.csv")),
      Deno.readTextFileSync(join(dir, "one.csv")),
    );
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
