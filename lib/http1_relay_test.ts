import assert from "node:assert/strict";
import { http1Relay } from "./http1_relay.ts";

Deno.test("http1Relay: an https: URL goes to fetch (a connect error, not a refusal of the scheme)", async () => {
  const e = await http1Relay("https://127.0.0.1:1/v1/completions", { headers: {}, body: "{}" })
    .then(() => null, (e) => e);
  assert.ok(e instanceof Error, String(e));
  assert.doesNotMatch(e.message, /as an http: URL/);
});
