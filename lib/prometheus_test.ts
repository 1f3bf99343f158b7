import assert from "node:assert/strict";
import { escapeLabel, Histogram, parsePrometheus, PromText, seriesMap } from "./prometheus.ts";

Deno.test("PromText: families, samples and a cumulative histogram, bounds as Python writes them", () => {
  const h = new Histogram([0.5, 1, 2.5]);
  for (const v of [0.1, 0.5, 0.7, 3]) h.observe(v);
  const text = new PromText()
    .family("x:running", "gauge", "Running.")
    .sample("x:running", 'engine="0"', 2)
    .family("x:seconds", "histogram", "Latency.")
    .histogram("x:seconds", 'engine="0"', h)
    .text();
  assert.equal(
    text,
    [
      "# HELP x:running Running.",
      "# TYPE x:running gauge",
      'x:running{engine="0"} 2',
      "# HELP x:seconds Latency.",
      "# TYPE x:seconds histogram",
      'x:seconds_bucket{engine="0",le="0.5"} 2',
      'x:seconds_bucket{engine="0",le="1.0"} 3',
      'x:seconds_bucket{engine="0",le="2.5"} 3',
      'x:seconds_bucket{engine="0",le="+Inf"} 4',
      'x:seconds_sum{engine="0"} 4.3',
      'x:seconds_count{engine="0"} 4',
      "",
    ].join("\n"),
  );
  // another bound format (the router's), and no labels at all
  const js = new Histogram([1], String);
  js.observe(1);
  assert.deepEqual(js.lines("y", ""), [
    'y_bucket{le="1"} 1',
    'y_bucket{le="+Inf"} 1',
    "y_sum 1",
    "y_count 1",
  ]);
});

Deno.test("parsePrometheus reads what PromText writes, and skips what is not a sample", () => {
  const name = escapeLabel('a "b"\\c\nd');
  assert.equal(name, 'a \\"b\\"\\\\c\\nd');
  const text = new PromText().family("z_total", "counter", "Z.").sample("z_total", `n="${name}"`, 7)
    .text() + "# a comment\n\nbad line\nw NaN\nv x\nu 5 1700000000\n";
  assert.deepEqual(parsePrometheus(text), [
    { metric: "z_total", labels: `n="${name}"`, value: 7 },
    { metric: "w", labels: "", value: NaN },
    { metric: "u", labels: "", value: 5 },
  ]);
  assert.deepEqual([...seriesMap(text)], [[`z_total{n="${name}"}`, 7], ["w", NaN], ["u", 5]]);
});
