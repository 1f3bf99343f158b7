import assert from "node:assert/strict";
import { errorMessage, fieldError, formatValue } from "./errors.ts";

Deno.test("fieldError: message form and error class per kind", () => {
  const e = fieldError({ field: "--rate", value: "abc", expected: "a number", kind: "type" });
  assert.ok(e instanceof TypeError);
  assert.equal(e.message, 'Cannot use --rate as a number: current value is "abc"');
  const r = fieldError({ field: "router.port", value: 70000, expected: "a port", file: "t.yaml" });
  assert.ok(r instanceof RangeError);
  assert.equal(r.message, "Cannot use router.port in t.yaml as a port: current value is 70000");
  const s = fieldError({ field: "x", value: { a: [1] }, expected: "y", kind: "syntax" });
  assert.ok(s instanceof SyntaxError);
  assert.equal(s.message, 'Cannot use x as y: current value is {"a":[1]}');
});

Deno.test("formatValue: undefined, non-finite numbers and cycles stay readable", () => {
  assert.equal(formatValue(undefined), "undefined");
  assert.equal(formatValue(null), "null");
  assert.equal(formatValue(Infinity), "Infinity");
  assert.equal(formatValue(NaN), "NaN");
  assert.equal(formatValue(10n), "10");
  const cyc: Record<string, unknown> = {};
  cyc.self = cyc;
  assert.equal(formatValue(cyc), "[object Object]");
});

Deno.test("errorMessage: first line of anything thrown", () => {
  assert.equal(errorMessage(new Error("first\nsecond")), "first");
  assert.equal(errorMessage(new TypeError("")), "TypeError");
  assert.equal(errorMessage("plain"), "plain");
  assert.equal(errorMessage({ code: 3 }), '{"code":3}');
  assert.equal(errorMessage(undefined), "undefined");
});
