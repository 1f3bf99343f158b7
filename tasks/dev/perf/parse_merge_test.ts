import assert from "node:assert/strict";
import { parseCsv } from "../../../lib/csv.ts";
import { parseRequestRow, REQUEST_COLUMNS } from "../../../lib/result_schema.ts";
import { syntheticRow } from "./parse_merge.ts";

Deno.test("perf parse: a synthetic request row has every column of requests.csv and parses", () => {
  const text = `${REQUEST_COLUMNS.join(",")}\n${syntheticRow(7)}\n`;
  const [raw] = parseCsv(text, "synthetic.csv");
  assert.equal(Object.keys(raw).length, REQUEST_COLUMNS.length);
  const row = parseRequestRow(raw, "synthetic.csv:2");
  assert.equal(row.request_id, "7");
  assert.equal(row.backend, "b");
  assert.equal(row.ttft_ms, 27);
});
