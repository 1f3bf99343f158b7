/**
 * The sim's start-up and shutdown timers on a manual clock: `--startup-delay`,
 * P2P-NCCL pings every 3 s (heard by the real registration listener on
 * 127.0.0.1, on the same clock), and the 7 s drain after the first stop signal.
 * The wire format from a whole engine process is `registration_test.ts`.
 */
import assert from "node:assert/strict";
import { ManualClock } from "../../../lib/manual_clock.ts";
import { PING_INTERVAL_MS, RegistrationListener } from "../../../lib/p2p_registration.ts";
import { DRAIN_MS, Lifecycle } from "./_lifecycle.ts";

const at = { hostname: "127.0.0.1", port: 8000 };
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test("sim lifecycle: --startup-delay counts from listening; without P2P the first signal stops at once", () => {
  const clock = new ManualClock();
  const lines: string[] = [];
  const life = new Lifecycle({
    startupDelayS: 2,
    kvSidePort: 0,
    info: (m) => lines.push(m),
    clock,
  });
  assert.equal(life.ready, false);
  clock.advance(5000); // before listening: nothing counts
  life.listening(at);
  clock.advance(1999);
  assert.equal(life.ready, false);
  clock.advance(1);
  assert.equal(life.ready, true);
  assert.deepEqual(lines, [
    "Starting vLLM API server 0 on http://127.0.0.1:8000",
    "Application startup complete.",
  ]);
  const signals = life.stopSignals(false);
  signals.receive("SIGTERM");
  assert.equal(life.abort.signal.aborted, true);
  life.close();
  assert.equal(clock.pending, 0);
});

/** A registration listener on 127.0.0.1 and a P2P-NCCL decode's lifecycle, both on `clock`. */
async function registered(clock: ManualClock, lines: string[]) {
  const listener = new RegistrationListener({
    host: "127.0.0.1",
    port: 0,
    clock,
    dropAfterMs: 3_600_000,
    onJoin: () => {},
    onLeave: () => {},
  });
  await listener.start();
  const life = new Lifecycle({
    startupDelayS: 0,
    kvTransfer: {
      kv_connector: "P2pNcclConnector",
      kv_role: "kv_consumer",
      kv_connector_extra_config: {
        proxy_ip: "127.0.0.1",
        proxy_port: String(listener.port),
        http_port: "8299",
      },
    },
    kvSidePort: 9100,
    info: (m) => lines.push(m),
    clock,
  });
  const lastSeen = () => listener.live.get("127.0.0.1:8299")?.lastSeenMs;
  /** Waits (real time) until the ping sent at clock time `ms` is heard. */
  const heard = async (ms: number) => {
    for (let i = 0; i < 300 && lastSeen() !== ms; i++) await pause(10);
    assert.equal(lastSeen(), ms, `a ping at ${ms} ms`);
  };
  return { listener, life, lastSeen, heard };
}

Deno.test("sim lifecycle P2P-NCCL: a ping every 3 s; the first signal stops them and serves 7 s more; a later one stops at once", async () => {
  const clock = new ManualClock();
  const lines: string[] = [];
  const { listener, life, lastSeen, heard } = await registered(clock, lines);
  try {
    life.listening(at);
    await heard(0); // as soon as connected
    assert.deepEqual({ ...listener.live.get("127.0.0.1:8299"), lastSeenMs: 0 }, {
      type: "D",
      http_address: "127.0.0.1:8299",
      zmq_address: "127.0.0.1:9100",
      lastSeenMs: 0,
    });
    clock.advance(PING_INTERVAL_MS - 1);
    await pause(100);
    assert.equal(lastSeen(), 0, "no ping before 3 s");
    clock.advance(1);
    await heard(3000);
    clock.advance(PING_INTERVAL_MS);
    await heard(6000);
    const signals = life.stopSignals(false);
    signals.receive("SIGTERM");
    assert.match(lines.at(-1)!, /stopped registering; serving 7 s more until the proxy drops/);
    clock.advance(DRAIN_MS - 1);
    await pause(100);
    assert.equal(lastSeen(), 6000, "no ping while draining");
    assert.equal(life.abort.signal.aborted, false, "serves on while the proxy drops it");
    clock.advance(1);
    assert.equal(life.abort.signal.aborted, true, "stops after the drain");
  } finally {
    life.close();
    await listener.close();
  }
  // a second signal (a second or more later) ends the drain at once
  const again = await registered(clock, lines);
  try {
    again.life.listening(at);
    await again.heard(clock.nowMs());
    const signals = again.life.stopSignals(false);
    signals.receive("SIGTERM");
    clock.advance(999);
    signals.receive("SIGTERM"); // the same signal, forwarded again
    assert.equal(again.life.abort.signal.aborted, false);
    clock.advance(1);
    signals.receive("SIGTERM");
    assert.equal(again.life.abort.signal.aborted, true);
    again.life.close();
    assert.equal(clock.pending, 1, "only the listener's sweep is left");
  } finally {
    again.life.close();
    await again.listener.close();
  }
});
