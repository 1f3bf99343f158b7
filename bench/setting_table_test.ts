/**
 * The settings table: one declaration per setting gives the flag spec, the
 * config fields (top level, groups, `...`) and their checks.
 */
import assert from "node:assert/strict";
import { parseFlags } from "../lib/args.ts";
import {
  fill,
  flagSpecOf,
  mergeValues,
  num,
  oneOf,
  type SettingTable,
  text,
} from "./_setting_table.ts";
import { BENCH_SETTINGS } from "./_bench_settings.ts";
import { BENCH_FLAGS, flagsWithoutDefaults, resolveBenchConfig } from "./bench_config.ts";

const TABLE = {
  speed: { field: "speedX", read: num({ min: 1 }), default: "2", aliases: ["fast"], help: "Speed" },
  color: { field: "paint.color", read: oneOf(["red", "blue"] as const), help: "Color" },
  window: {
    field: "...",
    read: (v) => ({ fromS: Number(v.window ?? 0), toS: Number(v.window ?? 0) + 1 }),
    help: "Window",
  },
  extra: { field: "extraN", read: num({}), when: (v) => v.color === "blue", help: "Extra" },
  quiet: { type: "boolean", default: false, help: "Quiet" },
} satisfies SettingTable;

Deno.test("a table gives the flag spec, the fields in table order, its groups and its conditions", () => {
  const spec = flagSpecOf(TABLE);
  assert.deepEqual(spec.speed, { type: "string", default: "2", aliases: ["fast"], help: "Speed" });
  assert.equal(spec.quiet.type, "boolean");
  const v = mergeValues(TABLE, parseFlags(["--fast", "3", "--extra", "x"], spec).values, {
    window: "5",
  });
  assert.deepEqual(fill(TABLE, v), { speedX: 3, fromS: 5, toS: 6 }); // --extra only with blue
  assert.deepEqual(Object.keys(fill(TABLE, v)), ["speedX", "fromS", "toS"]);
  assert.deepEqual(fill(TABLE, v, "paint"), {});
  const blue = mergeValues(TABLE, { color: "blue", extra: "x" }, {});
  assert.deepEqual(fill(TABLE, blue, "paint"), { color: "blue" });
  assert.throws(() => fill(TABLE, blue), /Cannot use --extra as a number: current value is "x"/);
  assert.throws(() => fill(TABLE, { speed: "0" }), /--speed as a number >= 1/);
  assert.equal(text({ a: "b" }, "a"), "b");
});

Deno.test("every bench config field is a setting's field or one of the groups", () => {
  const fields = new Set(
    Object.values(BENCH_SETTINGS).flatMap((s) => {
      const f = (s as { field?: string }).field;
      return f === undefined ? [] : [f.split(".")[0]];
    }),
  );
  const cfg = resolveBenchConfig(
    parseFlags([
      ...["--url", "http://h:1", "--rate", "3", "--duration", "5", "--warmup", "30s"],
      ...["--platform", "kubernetes", "--temperature", "0.5", "--model", "m", "--start-at", "9"],
    ], flagsWithoutDefaults()).values,
  );
  for (const k of Object.keys(cfg)) {
    assert.ok(fields.has(k) || ["warmup", "warmupS", "classes"].includes(k), k);
  }
  assert.deepEqual(Object.keys(BENCH_FLAGS), Object.keys(BENCH_SETTINGS));
  assert.deepEqual(cfg.kubernetes, {
    replicas: 1,
    namespace: "default",
    image: "denoland/deno:2.9.6",
  });
  assert.deepEqual(cfg.sampling, { temperature: 0.5 });
});
