import assert from "node:assert/strict";
import { placeRates, searchCapacity, type SearchSample } from "./slo_search.ts";

/** A topology that holds the SLO up to `capRate` and completes at most `kneeRate` × 3 req/s. */
function model(capRate: number, kneeRate: number) {
  const calls: number[] = [];
  const evaluate = (rate: number): Promise<SearchSample> => {
    calls.push(rate);
    return Promise.resolve({
      rate,
      attainment: rate <= capRate ? 0.97 : 0.4,
      throughputRps: Math.min(rate, kneeRate) * 3,
    });
  };
  return { evaluate, calls };
}

Deno.test("searchCapacity brackets the SLO capacity and the knee within the resolution", async () => {
  for (const start of [1, 7, 40, 300]) {
    const m = model(12.3, 20);
    const r = await searchCapacity(m.evaluate, { startRate: start, target: 0.9 });
    const pass = r.slo!.pass!, fail = r.slo!.fail!;
    assert(pass !== null && fail !== null, `start ${start}: ${JSON.stringify(r.slo)}`);
    assert(pass <= 12.3 && fail > 12.3, `start ${start}: ${pass}..${fail}`);
    assert(fail / pass <= 1.15, `start ${start}: ${pass}..${fail} too wide`);
    assert(r.knee.pass! <= 20 / 0.9 && r.knee.fail! > 20, `knee ${JSON.stringify(r.knee)}`);
    assert(r.knee.fail! / r.knee.pass! <= 1.3);
    assert.deepEqual(new Set(m.calls).size, m.calls.length, "no rate runs twice");
    assert(m.calls.length <= 16, `${m.calls.length} points`);
  }
});

Deno.test("searchCapacity reports no passing rate when the SLO fails everywhere", async () => {
  const m = model(0, 10);
  const r = await searchCapacity(m.evaluate, { startRate: 5, target: 0.9, maxPoints: 8 });
  assert.deepEqual(r.slo!.pass, null);
  assert(r.slo!.fail !== null && m.calls.length <= 8);
});

Deno.test("searchCapacity without a target finds the knee from a quarter of the start", async () => {
  const m = model(Infinity, 8);
  const r = await searchCapacity(m.evaluate, { startRate: 8, target: null });
  assert.deepEqual(r.slo, null);
  assert(r.knee.pass! <= 8 / 0.9 && r.knee.fail! > 8, JSON.stringify(r.knee));
});

Deno.test("searchCapacity refuses a start rate that is not positive", async () => {
  const m = model(1, 1);
  let msg = "";
  await searchCapacity(m.evaluate, { startRate: 0, target: 0.9 }).catch((e) => msg = e.message);
  assert(msg.includes("startRate 0"), msg);
});

Deno.test("placeRates keeps the search points and spreads new ones around them", async () => {
  const m = model(12.3, 20);
  const r = await searchCapacity(m.evaluate, { startRate: 5, target: 0.9 });
  const rates = placeRates(r, 6);
  for (const s of r.samples) assert(rates.includes(s.rate), `${s.rate} kept`);
  assert(rates[0] <= 12.3 / 3, `lowest ${rates[0]}`);
  assert(rates.at(-1)! >= 20, `highest ${rates.at(-1)}`);
  assert.deepEqual(rates, [...rates].sort((a, b) => a - b));
});
