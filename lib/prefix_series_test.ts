import assert from "node:assert/strict";
import { Rng } from "./rng.ts";
import { PrefixSeries } from "./_prefix_series.ts";

/** The fit of pairs [a, n) from plain prefix sums, as the series computed it before it let rows go. */
function plainFit(xs: number[], ys: number[], a: number) {
  const s = [[0, 0, 0, 0, 0]];
  for (let i = 0; i < xs.length; i++) {
    const p = s[i], x = xs[i], y = ys[i];
    s.push([p[0] + x, p[1] + x * x, p[2] + y, p[3] + y * y, p[4] + x * y]);
  }
  const e = xs.length, n = e - a, d = (k: number) => s[e][k] - s[a][k];
  const sx = d(0), sy = d(2);
  const sxx = d(1) - sx * sx / n, sxy = d(4) - sx * sy / n, syy = d(3) - sy * sy / n;
  const b = sxy / sxx;
  return { n, meanY: sy / n, sxx, sxy, syy, b };
}

Deno.test("prefix series: fits over a window that moves on are the same bits with rows let go", () => {
  const rng = new Rng(7);
  const series = new PrefixSeries();
  const xs: number[] = [], ys: number[] = [];
  let lo = 0;
  for (let i = 0; i < 5000; i++) {
    const x = i * 0.1 + rng.next() * 0.05, y = rng.next() * 100 + i * 0.01;
    series.push(x, y, i);
    xs.push(x);
    ys.push(y);
    if (i % 97 !== 0 || i < 10) continue;
    const a = series.from(x / 2);
    assert.ok(a >= lo);
    lo = a;
    series.letGoBefore(a);
    const f = series.fit(a), want = plainFit(xs, ys, a);
    assert.equal(f.n, want.n);
    assert.ok(Object.is(f.meanY, want.meanY));
    assert.ok(Object.is(f.b, want.b));
    assert.equal(series.tag(a), a);
    assert.equal(series.x(series.length - 1), x);
  }
  assert.equal(series.length, 5000);
});

Deno.test("prefix series: reading a row that was let go is a RangeError", () => {
  const series = new PrefixSeries();
  for (let i = 0; i < 1000; i++) series.push(i, i);
  series.letGoBefore(900);
  for (let i = 1000; i < 1200; i++) series.push(i, i); // makes room: the rows before 900 go
  assert.throws(() => series.fit(10), RangeError);
  assert.equal(series.fit(900).n, 300);
  assert.equal(series.from(950), 950);
});
