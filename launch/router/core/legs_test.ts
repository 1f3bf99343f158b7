import assert from "node:assert/strict";
import { NIXL_PREFILL_PARAMS } from "../../../lib/contracts.ts";
import { decodeBody, encoderBody, mmItems, p2pRequestId, prefillBody, sessionKey } from "./legs.ts";

const client = {
  model: "m",
  messages: [{ role: "user", content: "hi" }],
  max_tokens: 100,
  max_completion_tokens: 100,
  min_tokens: 5,
  stream: true,
  stream_options: { include_usage: true },
};

Deno.test("prefillBody: one token, not streamed; NIXL params only for nixl", () => {
  const n = prefillBody("nixl", client);
  assert.equal(n.max_tokens, 1);
  assert.equal(n.max_completion_tokens, 1);
  assert.equal(n.stream, false);
  assert.equal("stream_options" in n, false);
  assert.equal("min_tokens" in n, false);
  assert.deepEqual(n.kv_transfer_params, NIXL_PREFILL_PARAMS);
  assert.equal(client.max_tokens, 100, "client body untouched");
  const p = prefillBody("p2pnccl", { prompt: "x" });
  assert.equal("kv_transfer_params" in p, false);
  assert.equal("max_completion_tokens" in p, false);
});

Deno.test("decodeBody adds non-empty kv_transfer_params", () => {
  assert.equal(decodeBody(client, null), client);
  assert.equal(decodeBody(client, {}), client);
  assert.deepEqual(decodeBody(client, { a: 1 }).kv_transfer_params, { a: 1 });
});

Deno.test("p2pRequestId, mmItems, encoderBody, sessionKey", () => {
  assert.equal(p2pRequestId("h:1", "h:2", "ab"), "___prefill_addr_h:1___decode_addr_h:2_ab");
  assert.match(p2pRequestId("h:1", "h:2"), /_[0-9a-f]{32}$/);
  const img = { type: "image_url", image_url: { url: "data:x" } };
  const body = {
    messages: [
      { role: "system", content: "s" },
      { role: "user", content: [{ type: "text", text: "t" }, img, { type: "input_audio" }] },
    ],
  };
  assert.deepEqual(mmItems(body), [img, { type: "input_audio" }]);
  assert.deepEqual(encoderBody("m", img), {
    model: "m",
    messages: [{ role: "user", content: [img] }],
    max_tokens: 1,
    stream: false,
  });
  assert.equal(sessionKey(new Headers({ "x-session-id": "h" }), { conversation_id: "b" }), "h");
  assert.equal(sessionKey(new Headers(), { conversation_id: 7 }), "7");
  assert.equal(sessionKey(new Headers(), {}), undefined);
});
