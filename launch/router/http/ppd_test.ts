/**
 * ppd through the router CLI: turn 2+ of a conversation goes straight to the
 * decode instance that served it (prefix cache hit, no prefill leg); pd mode
 * sends every turn through prefill; runtime mode switching and clearing.
 */
import assert from "node:assert/strict";
import { chat, post, readStream, scrape, startNixlPd, stopAll, sumOf } from "./_harness.ts";

Deno.test("router ppd: turn 2 hits the decode prefix cache without prefill; pd mode does not skip it", async () => {
  const { p, d, r } = await startNixlPd("ppd-1p1d", "ppd");
  try {
    const prefills = async () => sumOf(await scrape(p.url), "vllm:request_success_total");
    const messages: { role: string; content: string }[] = [];
    const turn = async (n: number, headers: Record<string, string> = {}) => {
      messages.push({
        role: "user",
        content: `turn ${n}: ` + "tell me more about the red fox and the brown dog ".repeat(8),
      });
      const body = chat("", { messages, max_tokens: 12, ignore_eos: true });
      if (!headers["X-Session-Id"]) body.conversation_id = "conv-1";
      const res = await post(`${r.url}/v1/chat/completions`, body, headers);
      assert.equal(res.status, 200);
      const s = await readStream(res);
      messages.push({ role: "assistant", content: s.text });
      return { res, s };
    };

    assert.deepEqual(await (await fetch(`${r.url}/mode`)).json(), { mode: "ppd" });
    const t1 = await turn(1);
    assert.ok(Number(t1.res.headers.get("x-topobench-prefill-ms")) > 0, "turn 1 goes P->D");
    assert.equal(t1.res.headers.get("x-topobench-route"), "pd");
    const afterT1 = await prefills();
    assert.equal(afterT1, 1);

    const t2 = await turn(2);
    assert.equal(t2.res.headers.get("x-topobench-prefill-ms"), null, "turn 2 skips prefill");
    assert.equal(t2.res.headers.get("x-topobench-route"), "ppd-direct");
    assert.equal(t2.res.headers.get("x-backend"), "decode-0");
    const cached2 = Number(t2.s.usage!.prompt_tokens_details!.cached_tokens);
    assert.ok(cached2 > 0 && cached2 < Number(t2.s.usage!.prompt_tokens), `cached ${cached2}`);
    assert.equal(await prefills(), afterT1, "prefill engine saw no turn-2 request");

    assert.deepEqual(await (await post(`${r.url}/mode/pd`, {})).json(), { mode: "pd" });
    assert.deepEqual(await (await fetch(`${r.url}/mode`)).json(), { mode: "pd" });
    const t3 = await turn(3);
    assert.ok(Number(t3.res.headers.get("x-topobench-prefill-ms")) > 0, "pd turn 3 goes P->D");
    assert.ok(Number(t3.res.headers.get("x-topobench-transfer-ms")) > 0);
    assert.equal(await prefills(), afterT1 + 1);

    assert.deepEqual(await (await post(`${r.url}/mode/ppd`, {})).json(), { mode: "ppd" });
    const cleared = await (await post(`${r.url}/conversations/clear`, {})).json();
    assert.equal(cleared.cleared, 1);
    const t4 = await turn(4);
    assert.ok(Number(t4.res.headers.get("x-topobench-prefill-ms")) > 0, "unknown again: P->D");
    assert.equal(await prefills(), afterT1 + 2);

    // X-Session-Id keys a conversation as well.
    messages.length = 0;
    await turn(1, { "X-Session-Id": "sess-9" });
    const h2 = await turn(2, { "X-Session-Id": "sess-9" });
    assert.equal(h2.res.headers.get("x-topobench-route"), "ppd-direct");
    assert.equal(await prefills(), afterT1 + 3);
    const st = await (await fetch(`${r.url}/status`)).json();
    assert.equal(st.mode, "ppd");
    assert.equal(st.conversations, 2);
  } finally {
    await stopAll([r, p, d]);
  }
});
