import assert from "node:assert/strict";
import { parseDecimal } from "./decimal.ts";
import { parseMergedRow } from "./merged_schema.ts";

Deno.test("parseDecimal: plain non-negative decimals within the maximum", () => {
  for (
    const [t, n] of [["0", 0], ["12", 12], ["0.5", 0.5], [".5", 0.5], ["1.5e3", 1500]] as const
  ) {
    assert.equal(parseDecimal(t, "c", "f:2"), n);
  }
  for (
    const t of ["Infinity", "inf", "1e309", "-1", "+1", "0x1F", "0b1", " 7", "7 ", "", "1,5", "NaN"]
  ) {
    assert.throws(() => parseDecimal(t, "c", "f:2"), /Cannot use column c in f:2 as a number/, t);
  }
  assert.throws(() => parseDecimal("11", "c", "f:2", 10), /allowed: a decimal from 0 to 10 /);
});

Deno.test("merged.csv cells: inf is a rate, other Infinity, negatives and hex are refused", () => {
  const rec = {
    experiment: "e",
    topology: "t",
    workload: "w",
    load_point: "inf",
    source: "topobench",
  };
  assert.equal(parseMergedRow({ ...rec, rate_target: "inf" }).rate_target, Infinity);
  for (const v of ["1e309", "-498", "0x1F2", "Infinity1"]) {
    assert.throws(
      () => parseMergedRow({ ...rec, request_throughput: v }, "m.csv:3"),
      new RegExp(
        `Cannot use column request_throughput in m\\.csv:3 as a number: current value is "${v}"`,
      ),
    );
  }
});
