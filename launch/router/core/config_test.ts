import assert from "node:assert/strict";
import { loadRouterConfig, validateRouterConfig } from "./config.ts";
import { discoveryAllowList } from "../http/_discovery.ts";

const pd = {
  name: "pd-1p1d",
  kind: "pd",
  prefill: [{ name: "prefill-0", url: "http://127.0.0.1:8100/" }],
  decode: [{ name: "decode-0", url: "http://127.0.0.1:8200" }],
};

Deno.test("validateRouterConfig: defaults per kind", () => {
  const c = validateRouterConfig(pd);
  assert.equal(c.connector, "nixl");
  assert.equal(c.policy, "round_robin");
  assert.equal(c.prefillPolicy, "round_robin");
  assert.equal(c.decodePolicy, "round_robin");
  assert.equal(c.healthIntervalMs, 2000);
  assert.equal(c.maxBodyBytes, 33554432);
  assert.equal(c.prefill[0].url, "http://127.0.0.1:8100");
  const dp = validateRouterConfig({
    name: "dp",
    kind: "dp",
    policy: "session",
    backends: [{ name: "a", url: "http://h:1" }, { name: "b", url: "http://h:2" }],
  });
  assert.equal(dp.connector, undefined);
  assert.equal(dp.decodePolicy, "session");
  assert.equal(dp.backends.length, 2);
  const mixed = validateRouterConfig({ ...pd, policy: "least_loaded", decodePolicy: "prefix" });
  assert.equal(mixed.prefillPolicy, "least_loaded");
  assert.equal(mixed.decodePolicy, "prefix");
});

Deno.test("validateRouterConfig: errors name the file, field, value and what is allowed", () => {
  const bad = (raw: unknown, msg: string, cls: ErrorConstructor = RangeError) =>
    assert.throws(() => validateRouterConfig(raw, "router.json"), (e: Error) => {
      assert.ok(e instanceof cls, `${e.constructor.name}: ${e.message}`);
      assert.equal(e.message, msg);
      return true;
    });
  bad(
    { ...pd, kind: "x" },
    'Cannot use kind in router.json as one of agg, dp, pd, ppd, epd: current value is "x"',
  );
  bad(
    { ...pd, connector: "tcp" },
    'Cannot use connector in router.json as one of nixl, p2pnccl, lmcache: current value is "tcp"',
  );
  bad(
    { ...pd, decodePolicy: "random" },
    'Cannot use decodePolicy in router.json as one of round_robin, least_loaded, session, prefix: current value is "random"',
  );
  bad(
    { ...pd, decode: [] },
    'Cannot use decode in router.json as a non-empty list of {"name", "url"} objects: current value is []',
    TypeError,
  );
  bad(
    { ...pd, connector: "p2pnccl" },
    'Cannot use prefill[0].kvAddr in router.json as a "host:port" KV address (required by p2pnccl): current value is undefined',
  );
  bad(
    { ...pd, decode: [{ name: "prefill-0", url: "http://h:1" }] },
    'Cannot use decode[0].name in router.json as a name unique across all backends: current value is "prefill-0"',
  );
  bad(
    { ...pd, decode: [{ name: "d", url: "ftp://h" }] },
    'Cannot use decode[0].url in router.json as an http(s) URL: current value is "ftp://h"',
  );
  bad(
    { ...pd, backends: [] },
    "Cannot use backends in router.json as absent for kind pd (it uses prefill, decode): current value is []",
  );
  bad(
    {
      name: "a",
      kind: "agg",
      backends: [{ name: "a", url: "http://h:1" }, { name: "b", url: "http://h:2" }],
    },
    'Cannot use backends in router.json as exactly one backend for kind agg (use dp for more): current value is ["a","b"]',
  );
  bad(
    { name: "a", kind: "agg", connector: "nixl", backends: [{ name: "a", url: "http://h:1" }] },
    'Cannot use connector in router.json as absent for kind agg (connectors are for pd, ppd, epd): current value is "nixl"',
  );
  bad(
    { ...pd, healthIntervalMs: 1.5 },
    "Cannot use healthIntervalMs in router.json as an integer in [50, 3600000]: current value is 1.5",
  );
  bad(
    { ...pd, helthIntervalMs: 100 },
    "Cannot use helthIntervalMs in router.json as a known field (name, kind, connector, policy, prefillPolicy, decodePolicy, backends, prefill, decode, encode, healthIntervalMs, retries, maxBodyBytes, stallTimeoutMs, discovery): current value is 100",
  );
  bad(
    { ...pd, kind: "epd" },
    'Cannot use encode in router.json as a non-empty list of {"name", "url"} objects: current value is undefined',
    TypeError,
  );
  bad([], "Cannot use the top level in router.json as a JSON object: current value is []");
  bad(
    {
      name: "a",
      kind: "dp",
      backends: [{ name: "a", url: "http://h:1" }],
      discovery: { kind: "zmq", port: 1 },
    },
    'Cannot use discovery in router.json as absent for kind dp (discovery registers prefill and decode instances): current value is {"kind":"zmq","port":1}',
  );
  bad(
    { name: "a", kind: "pd", discovery: { kind: "zmq" } },
    "Cannot use discovery.port in router.json as the port to listen on for registrations (vLLM's proxy_port): current value is undefined",
  );
});

Deno.test("validateRouterConfig: with discovery, prefill and decode may start empty", () => {
  const c = validateRouterConfig({
    name: "d",
    kind: "pd",
    connector: "p2pnccl",
    discovery: { kind: "zmq", port: 30001 },
  });
  assert.deepEqual(c.discovery, {
    kind: "zmq",
    host: "127.0.0.1",
    port: 30001,
    dropAfterMs: 5000,
    allow: [],
    maxInstances: 64,
  });
  assert.deepEqual([c.prefill, c.decode], [[], []]);
});

Deno.test("validateRouterConfig: discovery.allow rules and maxInstances are validated; the default admits exactly the configured instances", () => {
  const base = { name: "d", kind: "pd", connector: "p2pnccl" };
  const bad = (raw: unknown, msg: string, cls: ErrorConstructor = RangeError) =>
    assert.throws(() => validateRouterConfig(raw, "router.json"), (e: Error) => {
      assert.ok(e instanceof cls, `${e.constructor.name}: ${e.message}`);
      assert.equal(e.message, msg);
      return true;
    });
  const c = validateRouterConfig({
    ...base,
    prefill: [{ name: "p", url: "http://10.0.0.5:8100", kvAddr: "10.0.0.5:21001" }],
    discovery: { kind: "zmq", port: 1, allow: ["10.244.0.0/16:8000-8999", "[fd00::/8]"] },
  });
  assert.deepEqual(c.discovery!.allow, ["10.244.0.0/16:8000-8999", "[fd00::/8]"]);
  const own = discoveryAllowList({ ...c, discovery: { ...c.discovery!, allow: [] } });
  assert.deepEqual(own.rules.map((r) => r.text), ["10.0.0.5:8100", "10.0.0.5:21001"]);
  assert.equal(own.refusal("10.0.0.5:8100"), null);
  assert.match(own.refusal("10.0.0.6:8100")!, /not in the allow-list/);
  assert.equal(discoveryAllowList(c).refusal("10.244.3.4:8200"), null);
  bad(
    { ...base, discovery: { kind: "zmq", port: 1, allow: ["10.0.0.0/8", "a@b:80"] } },
    'Cannot use discovery.allow[1] in router.json as an allow rule (host, IPv4/N or [IPv6/N], optional :port, :lo-hi or a comma list): current value is "a@b:80"',
    TypeError,
  );
  bad(
    { ...base, discovery: { kind: "zmq", port: 1, allow: "10.0.0.0/8" } },
    'Cannot use discovery.allow in router.json as a list of allow rules (e.g. ["10.0.0.0/8:8000-8999", "node-1:8100"]): current value is "10.0.0.0/8"',
    TypeError,
  );
  bad(
    { ...base, discovery: { kind: "zmq", port: 1, maxInstances: 0 } },
    "Cannot use discovery.maxInstances in router.json as an integer in [1, 10000]: current value is 0",
  );
});

Deno.test("loadRouterConfig: reads a file; bad JSON names the file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/router.json`, JSON.stringify(pd));
    assert.equal((await loadRouterConfig(`${dir}/router.json`)).name, "pd-1p1d");
    await Deno.writeTextFile(`${dir}/bad.json`, "{ nope");
    await assert.rejects(() => loadRouterConfig(`${dir}/bad.json`), (e: Error) => {
      assert.ok(e instanceof SyntaxError);
      assert.match(e.message, /^Cannot read .*bad\.json as JSON/);
      return true;
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
