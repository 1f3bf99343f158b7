import assert from "node:assert/strict";
import { SummaryRows } from "./summary_rows.ts";
import { type SummaryRow, summaryRow } from "./summary.ts";
import type { RequestRow } from "../lib/result_schema.ts";

/** A request row whose numbers follow from `i`, with the nullable cells null now and then. */
function row(i: number): RequestRow {
  return {
    run_id: "r",
    load_point: "1",
    request_id: `q${i}`,
    conversation_id: `c${i >> 1}`,
    turn: 1 + (i % 3),
    scheduled_ms: i * 10.125,
    sent_ms: i * 10.125 + 0.1 * i,
    first_token_ms: i % 7 === 0 ? null : i * 10 + 1 / 3,
    end_ms: i * 10 + 500.5,
    ttft_ms: i % 7 === 0 ? null : 1 / (i + 1),
    e2e_ms: i % 5 === 0 ? -0 : i * Math.PI,
    tpot_ms: i % 4 === 0 ? null : i === 9 ? NaN : i * 0.01,
    itl_mean_ms: null,
    itl_max_ms: null,
    prompt_tokens: i % 11 === 0 ? null : 1000 + i,
    output_tokens: i % 128,
    cached_tokens: null,
    status: i % 13 === 0 ? 500 : 200,
    error: i % 13 === 0 ? `HTTP 500 (${i})` : "",
    backend: "",
    class: "",
  };
}

Deno.test("summary rows: each row comes back as summaryRow gives it, bit for bit (null, NaN, -0)", () => {
  const rows = new SummaryRows();
  const n = 2 * 1024 + 17; // past two chunks
  for (let i = 0; i < n; i++) rows.push(row(i));
  assert.equal(rows.length, n);
  const back: SummaryRow[] = [...rows];
  assert.equal(back.length, n);
  for (let i = 0; i < n; i++) {
    const want = summaryRow(row(i));
    assert.deepEqual(back[i], want);
    assert.deepEqual(rows.at(i), want);
    assert.ok(Object.is(back[i].e2e_ms, want.e2e_ms), `row ${i}: -0 kept`);
  }
  assert.equal(Object.keys(back[0]).join(), Object.keys(summaryRow(row(0))).join());
});

Deno.test("summary rows: an empty set iterates nothing; a row out of range is a RangeError", () => {
  const rows = new SummaryRows();
  assert.deepEqual([...rows], []);
  rows.push(row(1));
  assert.throws(() => rows.at(1), RangeError);
  assert.throws(() => rows.at(-1), RangeError);
  assert.throws(() => rows.at(0.5), RangeError);
});

Deno.test("summary rows: forEachRow visits each row in order, as iterating gives it (one object, refilled)", () => {
  const rows = new SummaryRows();
  const n = 1024 + 5;
  for (let i = 0; i < n; i++) rows.push(row(i));
  const seen: SummaryRow[] = [];
  let last: SummaryRow | null = null, same = true;
  rows.forEachRow((r) => {
    seen.push({ ...r });
    if (last && last !== r) same = false;
    last = r;
  });
  assert.deepEqual(seen, [...rows]);
  assert.equal(same, true);
  new SummaryRows().forEachRow(() => assert.fail("no rows"));
});
