import assert from "node:assert/strict";
import { DEFAULT_STYLE, Reader, type ReaderStyle } from "./schema.ts";

function messageOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    return `${(e as Error).name}: ${(e as Error).message}`;
  }
  throw new Error("expected an error");
}

Deno.test("Reader: full field paths through blocks and lists, defaults for absent values", () => {
  const raw = { router: { port: 10001, hosts: ["a", 7] }, kv: null };
  const r = Reader.root("t.yaml", raw, ["router", "kv"]);
  const rt = r.obj("router", ["port", "hosts"]);
  assert.equal(rt.port("port"), 10001);
  assert.equal(rt.str("host"), undefined);
  assert.equal(r.obj("kv", ["link"]).str("link") ?? "nvlink", "nvlink");
  const hosts = rt.list("hosts", "a list of hosts");
  assert.equal(hosts.str(0), "a");
  assert.equal(
    messageOf(() => hosts.str(1)),
    "TypeError: Cannot use router.hosts[1] in t.yaml as a non-empty string: current value is 7",
  );
  assert.equal(
    messageOf(() =>
      Reader.root("t.yaml", { router: { prot: 1 } }, ["router"]).obj("router", ["port"])
    ),
    "RangeError: Cannot use router.prot in t.yaml as a known key (one of port): current value is 1",
  );
});

Deno.test("Reader: a format's style words unknown keys, null and fractions its own way", () => {
  // JSON's wording: null is a value, a fraction is out of range, unknown keys shown by name
  const json: ReaderStyle = { ...DEFAULT_STYLE, nullIsAbsent: false, fractionKind: "range" };
  json.unknownKey = (k) => `a known field (${k.join(", ")})`;
  json.showKey = true;
  const r = new Reader("c.json", { n: 1.5, m: null, o: { x: 1 } }, "", json);
  assert.equal(
    messageOf(() => r.int("n", 0, 9)),
    "RangeError: Cannot use n in c.json as an integer in [0, 9]: current value is 1.5",
  );
  assert.equal(
    messageOf(() => r.int("m", 0, 9)),
    "TypeError: Cannot use m in c.json as an integer in [0, 9]: current value is null",
  );
  assert.equal(
    messageOf(() => r.obj("o", ["y"])),
    'RangeError: Cannot use o.x in c.json as a known field (y): current value is "x"',
  );
  const yaml = new Reader("t.yaml", { n: 1.5, m: null }, "", DEFAULT_STYLE);
  assert.match(messageOf(() => yaml.int("n", 0, 9)), /^TypeError: /);
  assert.equal(yaml.int("m", 0, 9), undefined);
});
