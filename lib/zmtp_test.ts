import assert from "node:assert/strict";
import { Dealer, RouterSocket } from "./zmtp.ts";

Deno.test("zmtp: a DEALER's messages reach the ROUTER with its identity, short and long frames, multipart", async () => {
  const got: [string, number[]][] = [];
  const router = new RouterSocket("127.0.0.1", 0, (id, frames) => {
    got.push([new TextDecoder().decode(id), frames.map((f) => f.length)]);
  });
  const dealer = new Dealer("127.0.0.1", router.port, new TextEncoder().encode("me:1"), 50);
  try {
    for (let i = 0; i < 100 && !dealer.connected; i++) await new Promise((r) => setTimeout(r, 20));
    assert.ok(dealer.connected);
    assert.ok(await dealer.send(new Uint8Array(3)));
    assert.ok(await dealer.send(new Uint8Array(1000), new Uint8Array(0), new Uint8Array(256)));
    for (let i = 0; i < 100 && got.length < 2; i++) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(got, [["me:1", [3]], ["me:1", [1000, 0, 256]]]);
  } finally {
    dealer.close();
    await router.close();
  }
  // with the ROUTER gone the DEALER drops sends instead of queueing them
  assert.equal(await dealer.send(new Uint8Array(1)), false);
});

Deno.test("zmtp: a DEALER started before its ROUTER connects once it is there", async () => {
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = probe.addr.port;
  probe.close();
  const dealer = new Dealer("127.0.0.1", port, new TextEncoder().encode("early"), 50);
  await new Promise((r) => setTimeout(r, 150));
  assert.equal(dealer.connected, false);
  const got: string[] = [];
  const router = new RouterSocket(
    "127.0.0.1",
    port,
    (id) => got.push(new TextDecoder().decode(id)),
  );
  try {
    for (let i = 0; i < 100 && !dealer.connected; i++) await new Promise((r) => setTimeout(r, 20));
    assert.ok(await dealer.send(new Uint8Array(1)));
    for (let i = 0; i < 100 && got.length < 1; i++) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(got, ["early"]);
  } finally {
    dealer.close();
    await router.close();
  }
});
