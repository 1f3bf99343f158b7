import assert from "node:assert/strict";
import { join } from "node:path";
import {
  enumFlag,
  type FlagSpec,
  listFlag,
  numberFlag,
  onePositional,
  parseCommand,
  parseFlags,
  runMain,
  usage,
} from "./args.ts";

const SPEC: FlagSpec = {
  rate: { type: "string", help: "Request rate", aliases: ["request-rate"], placeholder: "rps" },
  port: { type: "string", short: "p", default: "8000", help: "Port" },
  verbose: { type: "boolean", help: "Talk more" },
  header: { type: "string", multiple: true, help: "Extra header" },
};

Deno.test("parseFlags: canonical names, aliases, defaults, help, positionals", () => {
  const a = parseFlags(["--request-rate", "4", "-p", "9000", "--verbose"], SPEC);
  assert.deepEqual(a.values, { rate: "4", port: "9000", verbose: true, help: false });
  assert.deepEqual(a.positionals, []);
  const b = parseFlags(["-h", "--header", "a", "--header=b"], SPEC);
  assert.equal(b.values.help, true);
  assert.equal(b.values.port, "8000");
  assert.deepEqual(b.values.header, ["a", "b"]);
  const c = parseFlags(["run", "--rate=2", "x"], SPEC, { allowPositionals: true });
  assert.deepEqual(c.positionals, ["run", "x"]);
  assert.equal(c.values.rate, "2");
});

Deno.test("parseFlags: unknown flags, alias twice, bad values and positionals are errors", () => {
  assert.throws(() => parseFlags(["--foo"], SPEC), (e: Error) => {
    assert.ok(e instanceof TypeError);
    assert.match(
      e.message,
      /^Cannot use --foo as a flag of this command: it is not one; known flags: /,
    );
    for (const f of ["--help", "--rate", "--request-rate", "--port", "--header"]) {
      assert.ok(e.message.includes(f), f);
    }
    return true;
  });
  assert.throws(() => parseFlags(["-x"], SPEC), /Cannot use -x as a flag/);
  assert.throws(
    () => parseFlags(["--rate", "1", "--request-rate", "2"], SPEC),
    /Cannot use --request-rate as a flag given once \(--rate is the same flag\): current value is "2"/,
  );
  assert.throws(() => parseFlags(["--rate"], SPEC), /Cannot use --rate as a flag with a value/);
  assert.throws(
    () => parseFlags(["--verbose=yes"], SPEC),
    /Cannot use --verbose as a flag without a value/,
  );
  assert.throws(() => parseFlags(["stray"], SPEC), /Cannot use stray as an argument/);
  assert.throws(
    () => parseFlags([], { a: { type: "string", help: "", aliases: ["port"] }, port: SPEC.port }),
    /Cannot use --port as a flag name/,
  );
});

Deno.test("usage: lists every flag with aliases, placeholders and defaults", () => {
  const u = usage("topobench x", "Does x.", SPEC);
  assert.ok(u.startsWith("Usage: topobench x [options]\n\nDoes x.\n"));
  assert.match(u, /-h, --help/);
  assert.match(u, /--rate, --request-rate <rps> +Request rate/);
  assert.match(u, /-p, --port <value> +Port \(default: 8000\)/);
  assert.match(u, /--header <value> +Extra header \(repeatable\)/);
  assert.match(u, /--verbose +Talk more$/m);
});

Deno.test("numberFlag: parses, bounds, integers, inf and defaults", () => {
  const v = { a: "2.5", b: "7", inf: "inf", neg: "-1", junk: "3x", t: true, e: "" };
  assert.equal(numberFlag(v, "a"), 2.5);
  assert.equal(numberFlag(v, "b", { integer: true, min: 0, max: 10 }), 7);
  assert.equal(numberFlag(v, "missing"), undefined);
  assert.equal(numberFlag(v, "missing", { default: 3 }), 3);
  assert.equal(numberFlag(v, "e", { default: 4 }), 4);
  assert.equal(numberFlag(v, "inf", { allowInf: true }), Infinity);
  assert.throws(() => numberFlag(v, "inf"), TypeError);
  assert.throws(
    () => numberFlag(v, "a", { integer: true }),
    (e: Error) =>
      e instanceof TypeError &&
      e.message === 'Cannot use --a as an integer: current value is "2.5"',
  );
  assert.throws(
    () => numberFlag(v, "neg", { min: 0 }),
    (e: Error) => e instanceof RangeError && e.message.includes("as a number >= 0:"),
  );
  assert.throws(() => numberFlag(v, "b", { min: 0, max: 5 }), /as a number in \[0, 5\]/);
  assert.throws(() => numberFlag(v, "b", { max: 5 }), /as a number <= 5/);
  assert.throws(
    () => numberFlag(v, "junk"),
    /Cannot use --junk as a number: current value is "3x"/,
  );
  assert.throws(() => numberFlag(v, "t"), /current value is true/);
});

Deno.test("enumFlag and listFlag", () => {
  const v = { kind: "pd", bad: "xx", list: " a, b,,c ", many: ["a,b", "c"], flag: true };
  assert.equal(enumFlag(v, "kind", ["agg", "pd"] as const), "pd");
  assert.equal(enumFlag(v, "none", ["agg", "pd"] as const, "agg"), "agg");
  assert.throws(
    () => enumFlag(v, "bad", ["agg", "pd"]),
    (e: Error) =>
      e instanceof RangeError &&
      e.message === 'Cannot use --bad as one of agg, pd: current value is "xx"',
  );
  assert.deepEqual(listFlag(v, "list"), ["a", "b", "c"]);
  assert.deepEqual(listFlag(v, "many"), ["a", "b", "c"]);
  assert.deepEqual(listFlag(v, "none"), []);
  assert.throws(() => listFlag(v, "flag"), /Cannot use --flag as a comma-separated list/);
});

async function runScript(body: string, args: string[]) {
  const dir = await Deno.makeTempDir();
  try {
    const file = join(dir, "main.ts");
    const lib = new URL("./args.ts", import.meta.url).href;
    await Deno.writeTextFile(file, `import { runMain } from ${JSON.stringify(lib)};\n${body}`);
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--no-check", "-A", file, ...args],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const dec = new TextDecoder();
    return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("runMain: exit codes and a single error line", async () => {
  assert.equal(typeof runMain, "function");
  const script = `await runMain(async (args) => {
    if (args[0] === "throw") throw new RangeError("bad thing\\nsecond line");
    if (args[0] === "code") return Number(args[1]);
    console.log("ran", args.join(","));
  });`;
  const ok = await runScript(script, ["a", "b"]);
  assert.equal(ok.code, 0);
  assert.equal(ok.stdout, "ran a,b\n");
  const code = await runScript(script, ["code", "3"]);
  assert.equal(code.code, 3);
  const bad = await runScript(script, ["throw"]);
  assert.equal(bad.code, 1);
  assert.equal(bad.stderr, "error: bad thing\n");
});

Deno.test("parseCommand: the parsed flags, or null after printing the usage on --help", () => {
  const help = { cmd: "deno task x <file>", summary: "Does x." };
  const parsed = parseCommand(["f", "--rate", "2"], SPEC, help, { allowPositionals: true });
  assert.deepEqual(parsed?.positionals, ["f"]);
  assert.equal(parsed?.values.rate, "2");
  const printed: unknown[] = [];
  const log = console.log;
  console.log = (...a: unknown[]) => printed.push(...a);
  try {
    assert.equal(parseCommand(["-h"], SPEC, help), null);
    // parsed without defaults, listed with them
    const bare: FlagSpec = { ...SPEC, port: { ...SPEC.port, default: undefined } };
    assert.equal(parseCommand(["--help"], bare, { ...help, flags: SPEC }), null);
  } finally {
    console.log = log;
  }
  const shown = usage(help.cmd, help.summary, SPEC);
  assert.deepEqual(printed, [shown, shown]);
});

Deno.test("onePositional: the one argument, else a TypeError with the count", () => {
  assert.equal(onePositional(["a.yaml"], "one topology file"), "a.yaml");
  assert.throws(
    () => onePositional(["a", "b"], "one topology file"),
    (e: Error) =>
      e instanceof TypeError &&
      e.message === 'Cannot use ["a","b"] as one topology file: current value has 2 arguments',
  );
  assert.throws(
    () => onePositional([], "one experiment file"),
    /Cannot run without one experiment file: current value has none; give one/,
  );
});

Deno.test("parseFlags: a negative number after a flag that takes a value is its value", () => {
  assert.equal(parseFlags(["--rate", "-1"], SPEC).values.rate, "-1");
  assert.equal(parseFlags(["--request-rate", "-0.5"], SPEC).values.rate, "-0.5");
  assert.equal(parseFlags(["--rate", "-inf"], SPEC).values.rate, "-inf");
  // the number check then names the flag and the value
  assert.throws(
    () => numberFlag(parseFlags(["--rate", "-1"], SPEC).values, "rate", { min: 0 }),
    /--rate.*current value is "?-1"?/,
  );
  // a flag after a value-taking flag is still a missing value
  assert.throws(() => parseFlags(["--rate", "--verbose"], SPEC), /--rate as a flag with a value/);
});
