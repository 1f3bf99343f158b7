import assert from "node:assert/strict";
import { parseRankBackend, rankBackendName, resolveBackends } from "./dp_ranks.ts";
import { Routing } from "./routing.ts";

const spec = (name: string) => ({ name, url: `http://127.0.0.1/${name}` });

Deno.test("dp ranks: rank backend names round-trip; a plain instance name is no rank", () => {
  assert.equal(rankBackendName("decode-1", 3), "decode-1-rank3");
  assert.deepEqual(parseRankBackend("decode-1-rank3"), { instance: "decode-1", rank: 3 });
  assert.equal(parseRankBackend("decode-1"), undefined);
});

Deno.test("dp ranks: backends resolve to instances (internal) or their ranks (external)", () => {
  const insts = new Map([["server-0", { dp: 2 }], ["server-1", { dp: 1 }]]);
  const resolve = (names: string[]) =>
    resolveBackends(
      names.map(spec),
      (n) => insts.get(n),
      (i) => `instance dp${i.dp}`,
      (i, r, name) => r < i.dp ? `${name} of dp${i.dp}` : undefined,
      "router.json",
    );
  assert.deepEqual(resolve(["server-0", "server-1"]), ["instance dp2", "instance dp1"]);
  assert.deepEqual(resolve(["server-0-rank0", "server-0-rank1"]), [
    "server-0-rank0 of dp2",
    "server-0-rank1 of dp2",
  ]);
  assert.throws(
    () => resolve(["server-0-rank2"]),
    /backend 0 of router\.json: current value is server-0-rank2/,
  );
  assert.throws(() => resolve(["other"]), /<instance>-rank<R>/);
});

Deno.test("dp ranks: with a backend per rank the router keeps a session on its rank", () => {
  const routing = new Routing({
    kind: "dp",
    policy: "session",
    prefillPolicy: "session",
    decodePolicy: "session",
  });
  const ranks = [0, 1, 2, 3].map((r) => ({ name: rankBackendName("server-0", r), inFlight: 0 }));
  const first = routing.pick("backend", ranks, routing.context({}, "conv-1"))!;
  first.inFlight = 5; // busier now: least_loaded would move it, the session does not
  for (let turn = 0; turn < 3; turn++) {
    assert.equal(routing.pick("backend", ranks, routing.context({}, "conv-1")), first);
  }
  assert.notEqual(routing.pick("backend", ranks, routing.context({}, "conv-2")), first);
});
