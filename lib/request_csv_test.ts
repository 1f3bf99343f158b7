import assert from "node:assert/strict";
import { readRequestCsv } from "./request_csv.ts";
import { parseRequestRow, REQUEST_COLUMNS } from "./result_schema.ts";
import { parseCsv } from "./csv.ts";

const enc = (s: string) => new TextEncoder().encode(s);
// files from before request classes and failure reasons: no `class` or `failure` column
// (read on the fast path, both "")
const OLD = REQUEST_COLUMNS.filter((c) => c !== "class" && c !== "failure");
const HEAD = OLD.join(",");

Deno.test("readRequestCsv: numbers equal Number(cell) for every shape, empty cells null", () => {
  const cells = [
    "0",
    "7",
    "0.1",
    "123.456",
    "0.000123",
    "1e-3",
    "2.5E+2",
    "1234567.89012345678", // more than 15 digits: slow path
    "3.",
    ".5",
  ];
  const lines = cells.map((v, i) => `r,1,q${i},c,1,${v},0,,10,${v},10,,,,5,3,,200,,b`);
  const rows = readRequestCsv(enc([HEAD, ...lines].join("\r\n") + "\r\n"), "t.csv");
  assert.equal(rows.length, cells.length);
  rows.forEach((r, i) => {
    assert.equal(r.scheduled_ms, Number(cells[i]), cells[i]);
    assert.equal(r.ttft_ms, Number(cells[i]), cells[i]);
    assert.equal(r.first_token_ms, null);
    assert.equal(r.tpot_ms, null);
    assert.equal(r.request_id, `q${i}`);
    assert.equal(r.backend, "b");
    assert.equal(r.error, "");
  });
});

Deno.test("readRequestCsv: repeated text cells are shared, non-ASCII text kept whole", () => {
  const rows = readRequestCsv(
    enc(
      [
        HEAD,
        "run-a,10,1,c1,1,0,0,5,9,5,9,1,1,1,5,3,0,200,,b1",
        "run-a,10,2,c1,2,1,1,6,9,5,8,1,1,1,5,3,0,500,délai dépassé,b1",
        "run-b,20,3,c2,1,2,2,7,9,5,7,1,1,1,5,3,0,500,délai dépassé,b2",
      ].join("\n"),
    ),
    "t.csv",
  );
  assert.deepEqual(rows.map((r) => r.run_id), ["run-a", "run-a", "run-b"]);
  assert.deepEqual(rows.map((r) => r.load_point), ["10", "10", "20"]);
  assert.deepEqual(rows.map((r) => r.error), ["", "délai dépassé", "délai dépassé"]);
  assert.deepEqual(rows.map((r) => r.backend), ["b1", "b1", "b2"]);
  assert.deepEqual(rows.map((r) => r.status), [200, 500, 500]);
});

Deno.test("readRequestCsv: columns in any order; a file lacking some is read by name", () => {
  const rev = [...OLD].reverse();
  const vals = "b,,200,,3,5,,,,9,5,9,5,0,0,1,c,q,1,r";
  const [r] = readRequestCsv(enc(`${rev.join(",")}\n${vals}\n`), "t.csv");
  assert.equal(r.run_id, "r");
  assert.equal(r.ttft_ms, 5);
  assert.equal(r.output_tokens, 3);
  assert.equal(r.backend, "b");
  const old = readRequestCsv(enc("run_id,ttft_ms,note\nr,12.5,hi\n"), "o.csv");
  assert.deepEqual({ ...old[0] }, { run_id: "r", ttft_ms: 12.5, note: "hi" });
});

Deno.test("readRequestCsv: a bad number or a short row names file, line, column and value", () => {
  assert.throws(
    () => readRequestCsv(enc(`${HEAD}\nr,1,q,c,1,0,0,5,9,abc,9,,,,5,3,,200,,b\n`), "a.csv"),
    /Cannot use column ttft_ms in a\.csv:2 as a number: current value is "abc"/,
  );
  assert.throws(
    () => readRequestCsv(enc(`${HEAD}\nr,1,q,c,1,0,0,5,9,5,9,,,,5,3,,200,,b\nr,1\n`), "a.csv"),
    /Cannot read a\.csv:3 as a CSV row of 20 columns: current value has 2/,
  );
  assert.throws(
    () => readRequestCsv(enc(`${HEAD}\nr,1,q,c,1,0,0,5,9,-,9,,,,5,3,,200,,b\n`), "a.csv"),
    /current value is "-"/,
  );
});

Deno.test('readRequestCsv: the class column when there is one, "" when not', () => {
  const row = "r,1,q,c,1,0,0,,10,5,10,,,,5,3,,200,,b";
  const [withClass] = readRequestCsv(
    enc(`${REQUEST_COLUMNS.join(",")}\n${row},text,stranded\n`),
    "t.csv",
  );
  assert.equal(withClass.class, "text");
  assert.equal(withClass.failure, "stranded");
  const [old] = readRequestCsv(enc(`${HEAD}\n${row}\n`), "t.csv");
  assert.equal(old.class, "");
  assert.equal(old.failure, "");
  assert.equal(old.backend, "b");
});

Deno.test("requests.csv numbers: Infinity, overflow, signs, hex, spaces and absurd values are refused, named", () => {
  const bad: [string, string][] = [
    ["end_ms", "Infinity"],
    ["end_ms", "1e309"],
    ["end_ms", "-5"],
    ["end_ms", "0x4A817C800"],
    ["end_ms", " 9"],
    ["end_ms", "20000000000"], // 231 days after the run started
    ["output_tokens", "-999993"],
    ["output_tokens", "2e9"],
    ["status", "1000"],
  ];
  for (const [col, v] of bad) {
    const cells: Record<string, string> = Object.fromEntries(
      "r,1,q,c,1,0,0,5,9,5,9,,,,5,3,,200,,b".split(",").map((x, i) => [OLD[i], x]),
    );
    cells[col] = v;
    const text = `${HEAD}\n${OLD.map((c) => cells[c]).join(",")}\n`;
    const want = new RegExp(
      `Cannot use column ${col} in a\\.csv:2 as a number: current value is ${
        JSON.stringify(v).replace(/[.+]/g, "\\$&")
      }; allowed: a decimal from 0 to`,
    );
    assert.throws(() => readRequestCsv(enc(text), "a.csv"), want, `${col}=${v} (fast reader)`);
    assert.throws(() => parseRequestRow(parseCsv(text)[0], "a.csv:2"), want, `${col}=${v}`);
  }
});
