import assert from "node:assert/strict";
import { checkSafeName, isSafeName } from "./safe_name.ts";

Deno.test("safe names: plain folder names only", () => {
  for (const ok of ["agg", "pd-2P1D-tp1", "r0.5", "W1_x", "9"]) assert.ok(isSafeName(ok), ok);
  for (
    const bad of [
      "",
      ".",
      "..",
      "../x",
      "a/b",
      "a\\b",
      ".hidden",
      "-x",
      "a b",
      "x\n",
      "é",
      "a".repeat(129),
      5,
    ]
  ) {
    assert.ok(!isSafeName(bad), JSON.stringify(bad));
  }
  assert.throws(
    () => checkSafeName("../../../x", "labels[0]", { file: "exp.yaml" }),
    {
      name: "RangeError",
      message:
        'Cannot use "../../../x" as a label (field labels[0] in exp.yaml): current value is not a plain name; allowed: letters, digits, . _ - (starting with a letter or digit, at most 128 characters)',
    },
  );
});
