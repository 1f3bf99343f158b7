import assert from "node:assert/strict";
import { Rng } from "./rng.ts";
import { SaturationDetector, type SaturationVerdict, verdictText } from "./saturation.ts";

/** A synthetic server: `slots` requests at once, each prefill `prefillS` then decode `decodeS` (±50%). */
interface Server {
  slots: number;
  prefillS: number;
  decodeS: number;
}

/** Capacity of a server, requests/s. */
const capacity = (s: Server) => s.slots / (s.prefillS + s.decodeS);

/**
 * Poisson arrivals at `load` × capacity for `durationS` into a FIFO server;
 * the detector sees each send and finish in time order and is checked after
 * each, as the load driver does. The verdict, or null.
 */
function play(s: Server, load: number, durationS: number, seed: number): SaturationVerdict | null {
  const rng = new Rng(seed);
  const rate = load * capacity(s);
  const free: number[] = new Array(s.slots).fill(0);
  const events: { t: number; ttft: number | null }[] = [];
  const gap = () => -Math.log(1 - rng.next()) / rate;
  for (let t = gap(); t < durationS; t += gap()) {
    let k = 0;
    for (let i = 1; i < free.length; i++) if (free[i] < free[k]) k = i;
    const start = Math.max(t, free[k]);
    const end = start + (s.prefillS + s.decodeS) * (0.5 + rng.next());
    free[k] = end;
    events.push({ t, ttft: null }, { t: end, ttft: start - t + s.prefillS });
  }
  events.sort((a, b) => a.t - b.t);
  const d = new SaturationDetector();
  for (const e of events) {
    if (e.ttft === null) d.sent(e.t * 1000);
    else d.finished(e.t * 1000, e.ttft * 1000);
    const v = d.check(e.t * 1000);
    if (v) return v;
  }
  return null;
}

const CHAT: Server = { slots: 64, prefillS: 0.2, decodeS: 3 };
/** Long outputs: a 20 s ramp-up before the in-flight count levels. */
const LONG: Server = { slots: 400, prefillS: 0.2, decodeS: 20 };

Deno.test("saturation: never fires at 50%, 90% or 100% of capacity (120 s, several seeds)", () => {
  for (const server of [CHAT, LONG]) {
    for (const load of [0.5, 0.9, 1]) {
      for (const seed of [0, 1, 2, 3]) {
        const v = play(server, load, 120, seed);
        assert.equal(v, null, `load ${load} seed ${seed}: ${v && verdictText(v)}`);
      }
    }
  }
});

Deno.test("saturation: fires on 2x and 3x overload within 20 s (60 s with 20 s outputs)", () => {
  for (const [server, boundMs] of [[CHAT, 20_000], [LONG, 60_000]] as const) {
    for (const load of [2, 3]) {
      for (const seed of [0, 1]) {
        const v = play(server, load, 120, seed);
        assert(v, `load ${load} seed ${seed}: no verdict`);
        assert(v.atMs >= 10_000 && v.atMs <= boundMs, verdictText(v));
        assert(v.inFlightSlopeLow >= 0.1 * v.sendRps && v.ttftMeanMs >= 2000, verdictText(v));
      }
    }
  }
});

Deno.test("saturation: fires once, keeps its verdict, and waits for the warm-up", () => {
  const d = new SaturationDetector({ minRunMs: 5000, minFinished: 4 });
  // 10 sent per s, 1 finished per s with TTFT growing 1 s per s: clearly diverging
  for (let t = 0; t < 5000; t += 100) {
    d.sent(t);
    if (t % 1000 === 0) d.finished(t, 2000 + t);
    assert.equal(d.check(t), null, `before the warm-up ends (${t} ms)`);
  }
  for (let t = 5000; t < 9000; t += 100) {
    d.sent(t);
    if (t % 500 === 0) d.finished(t, 2000 + t);
    d.check(t);
  }
  const v = d.verdict;
  assert(v && v.atMs >= 5000, "fires after the warm-up");
  d.finished(9000, 1);
  assert.equal(d.check(20_000), v);
  assert(verdictText(v).startsWith(`over-saturated at ${(v.atMs / 1000).toFixed(1)} s`));
});

Deno.test("saturation: a growing backlog with a flat TTFT (a client-side queue) does not fire", () => {
  const d = new SaturationDetector();
  for (let t = 0; t < 60_000; t += 50) {
    d.sent(t);
    if (t % 100 === 0) d.finished(t, 3000);
    assert.equal(d.check(t), null);
  }
});

Deno.test("saturation: a bad threshold is refused with its name", () => {
  assert.throws(() => new SaturationDetector({ growthShare: -1 }), {
    name: "RangeError",
    message: /growthShare.*-1/,
  });
  assert.throws(() => new SaturationDetector({ sampleEveryMs: 0 }), /sampleEveryMs/);
});
