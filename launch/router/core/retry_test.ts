import assert from "node:assert/strict";
import { Routing } from "./routing.ts";

const spec = (retries?: number) =>
  new Routing({
    kind: "pd",
    policy: "round_robin",
    prefillPolicy: "round_robin",
    decodePolicy: "round_robin",
    ...(retries === undefined ? {} : { retries }),
  });

Deno.test("routing core: retry is off by default", () => {
  assert.equal(spec().retry(1, { leg: "decode", tokensOut: 0 }), false);
  assert.equal(spec(0).retry(1, { leg: "prefill", tokensOut: 0 }), false);
});

Deno.test("routing core: a leg lost before any token is sent again, at most `retries` times", () => {
  const r = spec(2);
  assert.equal(r.retry(1, { leg: "prefill", tokensOut: 0 }), true);
  assert.equal(r.retry(2, { leg: "decode", tokensOut: 0 }), true);
  assert.equal(r.retry(3, { leg: "decode", tokensOut: 0 }), false);
});

Deno.test("routing core: never after a token reached the client, nor the client's or request's own failure", () => {
  const r = spec(3);
  assert.equal(r.retry(1, { leg: "decode", tokensOut: 1 }), false);
  assert.equal(r.retry(1, { leg: "decode", tokensOut: 0, clientOrRequest: true }), false);
});
