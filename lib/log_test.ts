import assert from "node:assert/strict";
import { join } from "node:path";
import { createLogger, logTime, parseLogLevel } from "./log.ts";

const HEAD = /^(DEBUG|INFO|WARNING|ERROR) (\d\d)-(\d\d) (\d\d):(\d\d):(\d\d) \[(\S+)\] (.*)$/;

Deno.test("createLogger: vLLM line head, levels filtered, level changeable", () => {
  const lines: string[] = [];
  const log = createLogger({ name: "router", write: (l) => lines.push(l) });
  assert.equal(log.level, "info");
  log.debug("hidden");
  log.info("hello world");
  log.warn("careful");
  log.error("broke");
  assert.equal(lines.length, 3);
  const heads = lines.map((l) => HEAD.exec(l));
  assert.deepEqual(heads.map((m) => m?.[1]), ["INFO", "WARNING", "ERROR"]);
  assert.deepEqual(heads.map((m) => m?.[7]), ["router", "router", "router"]);
  assert.deepEqual(heads.map((m) => m?.[8]), ["hello world", "careful", "broke"]);
  log.level = "debug";
  log.debug("now shown");
  assert.match(lines[3], /^DEBUG .* \[router\] now shown$/);
  log.level = "error";
  log.warn("dropped");
  assert.equal(lines.length, 4);
});

Deno.test("logTime: MM-DD HH:MM:SS in local time", () => {
  const d = new Date(2024, 0, 5, 3, 4, 9);
  assert.equal(logTime(d), "01-05 03:04:09");
  const now = logTime();
  const m = /^(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)$/.exec(now);
  assert.ok(m, now);
  assert.equal(Number(m[1]), new Date().getMonth() + 1);
});

Deno.test("parseLogLevel: accepts the four levels, names the bad one", () => {
  for (const l of ["debug", "info", "warn", "error"]) assert.equal(parseLogLevel(l), l);
  assert.equal(parseLogLevel("WARNING"), "warn");
  assert.equal(parseLogLevel("Debug"), "debug");
  assert.throws(
    () => parseLogLevel("loud"),
    (e: Error) =>
      e instanceof RangeError &&
      e.message ===
        'Cannot use --log-level as one of debug, info, warn, error: current value is "loud"',
  );
});

Deno.test("createLogger: default writes one line per message to stderr", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = join(dir, "main.ts");
    const lib = new URL("./log.ts", import.meta.url).href;
    await Deno.writeTextFile(
      file,
      `import { createLogger } from ${JSON.stringify(lib)};
const log = createLogger({ name: "t", level: "warn" });
log.info("no"); log.warn("yes"); console.log("out");`,
    );
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--no-check", file],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const err = new TextDecoder().decode(out.stderr);
    assert.equal(new TextDecoder().decode(out.stdout), "out\n");
    assert.match(err, /^WARNING \d\d-\d\d \d\d:\d\d:\d\d \[t\] yes\n$/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
