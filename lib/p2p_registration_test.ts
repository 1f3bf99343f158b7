import assert from "node:assert/strict";
import { encode } from "@msgpack/msgpack";
import { ManualClock } from "./manual_clock.ts";
import {
  decodeRegistration,
  DROP_AFTER_MS,
  PING_INTERVAL_MS,
  type Registration,
  RegistrationListener,
  RegistrationTable,
  startPinging,
  type TableOptions,
} from "./p2p_registration.ts";

Deno.test("decodeRegistration: addresses must be a strict host:port (no user info, paths, zone ids, unspecified hosts)", () => {
  const reg = (http: string) => encode({ type: "D", http_address: http, zmq_address: "h:1" });
  assert.equal(decodeRegistration(reg("127.0.0.1:8100")).http_address, "127.0.0.1:8100");
  for (const bad of ["a@b:80", "x/../y:80", "0.0.0.0:80", "[fe80::1%eth0]:80", "h:0", "1.2.3:80"]) {
    assert.throws(
      () => decodeRegistration(reg(bad)),
      new RegExp(
        `^TypeError: Cannot use http_address as a "host:port" .*current value is "${
          bad.replace(/[.[\]]/g, "\\$&")
        }"$`,
      ),
    );
  }
});

const reg = (type: "P" | "D", port: number, kvPort = port + 1): Registration => ({
  type,
  http_address: `127.0.0.1:${port}`,
  zmq_address: `127.0.0.1:${kvPort}`,
});

/** A started table on `clock` that writes what happens to `events`. */
function table(clock: ManualClock, o: Partial<TableOptions> = {}) {
  const events: string[] = [];
  const at = () => ` @${clock.nowMs()}`;
  const t = new RegistrationTable({
    clock,
    onJoin: (r) => events.push(`join ${r.type} ${r.http_address}${at()}`),
    onLeave: (r) => events.push(`leave ${r.type} ${r.http_address}${at()}`),
    onRefuse: (why) => events.push(`refuse ${why}${at()}`),
    onBadMessage: (why) => events.push(`bad ${why.slice(0, 37)}${at()}`),
    ...o,
  });
  t.start();
  return { t, events };
}

Deno.test("registration table: a ping every 3 s keeps an instance; over 5 s of silence drops it at the next 1 s sweep", () => {
  const clock = new ManualClock();
  const { t, events } = table(clock);
  t.receive(encode(reg("D", 8200)));
  for (let i = 0; i < 3; i++) {
    clock.advance(PING_INTERVAL_MS);
    t.receive(encode(reg("D", 8200)));
  }
  assert.deepEqual(events, ["join D 127.0.0.1:8200 @0"]);
  assert.equal(t.live.get("127.0.0.1:8200")?.lastSeenMs, 9000);
  clock.advance(DROP_AFTER_MS); // silent exactly 5 s: kept
  assert.equal(t.live.size, 1);
  clock.advance(1000);
  assert.deepEqual(events.slice(1), ["leave D 127.0.0.1:8200 @15000"]);
  assert.equal(t.live.size, 0);
  t.stop();
  assert.equal(clock.pending, 0, "no sweep timer left");
  // a drop time under 4 s is swept every quarter of it
  const c2 = new ManualClock();
  const short = table(c2, { dropAfterMs: 400 });
  short.t.receive(encode(reg("P", 8100)));
  c2.advance(500);
  assert.deepEqual(short.events, ["join P 127.0.0.1:8100 @0", "leave P 127.0.0.1:8100 @500"]);
  short.t.stop();
});

Deno.test("registration table: other details leave and join again; refusals and bad messages are told once a minute per address", () => {
  const clock = new ManualClock();
  const { t, events } = table(clock, {
    dropAfterMs: 3_600_000,
    maxInstances: 2,
    admit: (r) => r.http_address.startsWith("127.0.0.9") ? "not in the allow-list" : null,
  });
  const rogue = encode({ ...reg("D", 8400), http_address: "127.0.0.9:8400" });
  t.receive(encode(reg("P", 8100)));
  t.receive(encode(reg("P", 8100, 9999))); // a new KV port
  t.receive(encode(reg("D", 8200)));
  for (let i = 0; i < 2; i++) {
    t.receive(encode(reg("D", 8200))); // a known one pings on when full
    t.receive(encode(reg("D", 8300))); // a third one
    t.receive(rogue);
    t.receive(new Uint8Array([0xc1]));
    clock.advance(30_000);
  }
  t.receive(encode(reg("D", 8300)));
  t.receive(rogue);
  const refused = (what: string) => `refuse refused registration of ${what}`;
  assert.deepEqual(events, [
    "join P 127.0.0.1:8100 @0",
    "leave P 127.0.0.1:8100 @0",
    "join P 127.0.0.1:8100 @0",
    "join D 127.0.0.1:8200 @0",
    `${refused("D 127.0.0.1:8300 (KV 127.0.0.1:8301)")}: over 2 registered instances @0`,
    `${refused("D 127.0.0.9:8400 (KV 127.0.0.1:8401)")}: not in the allow-list @0`,
    "bad Cannot read a registration as msgpack @0",
    `${refused("D 127.0.0.1:8300 (KV 127.0.0.1:8301)")}: over 2 registered instances @60000`,
    `${refused("D 127.0.0.9:8400 (KV 127.0.0.1:8401)")}: not in the allow-list @60000`,
  ]);
  assert.equal(t.live.get("127.0.0.1:8100")?.zmq_address, "127.0.0.1:9999");
  t.stop();
});

Deno.test("startPinging on a manual clock: the first ping when connected, the next exactly intervalMs later, none after stop", async () => {
  const clock = new ManualClock();
  const seen: number[] = [];
  const listener = new RegistrationListener({
    host: "127.0.0.1",
    port: 0,
    clock,
    dropAfterMs: 3_600_000,
    onJoin: () => {},
    onLeave: () => {},
  });
  await listener.start();
  const lastSeen = () => listener.live.get("127.0.0.1:8200")?.lastSeenMs;
  /** Waits (real time) until the listener heard a ping sent at clock time `ms`. */
  const heard = async (ms: number) => {
    for (let i = 0; i < 200 && lastSeen() !== ms; i++) await new Promise((r) => setTimeout(r, 10));
    seen.push(lastSeen()!);
  };
  const pings = startPinging({
    proxy: `127.0.0.1:${listener.port}`,
    registration: reg("D", 8200),
    clock,
  });
  try {
    await heard(0);
    clock.advance(PING_INTERVAL_MS - 1);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(lastSeen(), 0, "no ping before the interval");
    clock.advance(1);
    await heard(PING_INTERVAL_MS);
    clock.advance(PING_INTERVAL_MS);
    await heard(2 * PING_INTERVAL_MS);
    assert.deepEqual(seen, [0, 3000, 6000]);
    pings.stop();
    clock.advance(3 * PING_INTERVAL_MS);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(lastSeen(), 6000, "no ping after stop");
  } finally {
    pings.stop();
    await listener.close();
  }
});
