import assert from "node:assert/strict";
import { loadTokenizer } from "../../../lib/tokenizer.ts";
import { scrape, startSim } from "./start_sim.ts";

// deno-lint-ignore no-explicit-any
type Obj = any;

const MODEL = "meta-llama/Llama-3.1-8B-Instruct";

/** Reads an SSE response into its JSON events (and whether [DONE] came). */
async function readSse(res: Response): Promise<{ events: Obj[]; done: boolean }> {
  const text = await res.text();
  const events: Obj[] = [];
  let done = false;
  for (const block of text.split("\n\n")) {
    if (!block.trim()) continue;
    assert.ok(block.startsWith("data: "), `bad SSE block ${block}`);
    const data = block.slice(6);
    if (data === "[DONE]") done = true;
    else events.push(JSON.parse(data));
  }
  return { events, done };
}

const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });

const metric = (m: Map<string, number>, name: string) => {
  for (const [k, v] of m) if (k === name || k.startsWith(name + "{")) return v;
  throw new Error(`metric ${name} missing`);
};

Deno.test("sim: OpenAI API as vLLM serves it", async (t) => {
  const tok = await loadTokenizer();
  const sim = await startSim(["--speed", "50", "--seed", "1"]);
  try {
    await t.step("health, models", async () => {
      assert.equal((await fetch(`${sim.url}/health`)).status, 200);
      const models = await (await fetch(`${sim.url}/v1/models`)).json();
      assert.equal(models.data[0].id, MODEL);
      assert.equal(models.data[0].owned_by, "vllm");
      assert.ok(models.data[0].max_model_len > 0);
      assert.equal(models.data[0].root, MODEL);
    });

    await t.step(
      "/tokenize and /detokenize round-trip with the tokenizer, vLLM's shapes",
      async () => {
        const prompt = "Tokenize me, please: 42 apples & one pear.";
        const t1 = await (await post(`${sim.url}/tokenize`, { model: MODEL, prompt })).json();
        assert.deepEqual(t1.tokens, tok.encode(prompt, { addSpecialTokens: true }));
        assert.equal(t1.count, t1.tokens.length);
        assert.ok(t1.max_model_len > 0);
        assert.equal(t1.token_strs, null);
        const bare = await (await post(`${sim.url}/tokenize`, {
          prompt,
          add_special_tokens: false,
          return_token_strs: true,
        })).json();
        assert.deepEqual(bare.tokens, tok.encode(prompt));
        assert.equal(bare.token_strs.length, bare.count);
        const messages = [{ role: "user", content: "Hi there" }];
        const chat = await (await post(`${sim.url}/tokenize`, { messages })).json();
        assert.deepEqual(chat.tokens, tok.encodeChat(messages));
        const de = await (await post(`${sim.url}/detokenize`, { tokens: bare.tokens })).json();
        assert.equal(de.prompt, prompt);
        const bad = await post(`${sim.url}/detokenize`, { tokens: [-1] });
        assert.equal(bad.status, 400);
        assert.match((await bad.json()).error.message, /tokens must be a list of token ids/);
      },
    );

    await t.step("streaming chat: role chunk first, usage chunk, [DONE]", async () => {
      const messages = [{ role: "user", content: "Tell me about the sea." }];
      const res = await post(`${sim.url}/v1/chat/completions`, {
        model: MODEL,
        messages,
        max_tokens: 12,
        ignore_eos: true,
        stream: true,
        stream_options: { include_usage: true },
      }, { "X-Request-Id": "abc123" });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("x-request-id"), "abc123");
      const { events, done } = await readSse(res);
      assert.ok(done);
      assert.deepEqual(events[0].choices[0].delta, { role: "assistant", content: "" });
      assert.equal(events[0].id, "chatcmpl-abc123");
      assert.equal(events[0].object, "chat.completion.chunk");
      const content = events.filter((e) => e.choices.length && e.choices[0].delta.content);
      assert.equal(content.length, 12);
      assert.equal(content.at(-1)!.choices[0].finish_reason, "length");
      const last = events.at(-1)!;
      assert.deepEqual(last.choices, []);
      assert.equal(last.usage.prompt_tokens, tok.encodeChat(messages).length);
      assert.equal(last.usage.completion_tokens, 12);
      assert.equal(last.usage.total_tokens, last.usage.prompt_tokens + 12);
    });

    await t.step("streaming completion: one text chunk per token", async () => {
      const prompt = "The quick brown fox jumps over the lazy dog.";
      const res = await post(`${sim.url}/v1/completions`, {
        model: MODEL,
        prompt,
        max_tokens: 7,
        ignore_eos: true,
        stream: true,
        stream_options: { include_usage: true },
      });
      const { events, done } = await readSse(res);
      assert.ok(done);
      const texts = events.filter((e) => e.choices.length);
      assert.equal(texts.length, 7);
      assert.equal(texts[0].object, "text_completion");
      assert.ok(texts[0].id.startsWith("cmpl-"));
      assert.equal(texts[0].choices[0].text.length > 0, true);
      assert.equal(
        events.at(-1)!.usage.prompt_tokens,
        tok.encode(prompt, { addSpecialTokens: true }).length,
      );
    });

    await t.step("non-streaming both endpoints, exact usage", async () => {
      const prompt = "Once upon a time in a land far away";
      const c = await (await post(`${sim.url}/v1/completions`, {
        model: MODEL,
        prompt,
        max_tokens: 5,
        ignore_eos: true,
      }))
        .json();
      assert.equal(c.object, "text_completion");
      assert.equal(c.usage.prompt_tokens, tok.encode(prompt, { addSpecialTokens: true }).length);
      assert.equal(c.usage.completion_tokens, 5);
      assert.equal(tok.encode(c.choices[0].text).length, 5);
      const messages = [{ role: "system", content: "Be brief." }, { role: "user", content: "Hi!" }];
      const ch = await (await post(`${sim.url}/v1/chat/completions`, {
        messages,
        max_completion_tokens: 9,
        ignore_eos: true,
      })).json();
      assert.equal(ch.object, "chat.completion");
      assert.equal(ch.choices[0].message.role, "assistant");
      assert.equal(ch.usage.prompt_tokens, tok.encodeChat(messages).length);
      assert.equal(ch.usage.completion_tokens, 9);
      assert.equal(ch.choices[0].finish_reason, "length");
    });

    await t.step(
      "without ignore_eos: seeded length capped by max_tokens, min_tokens honoured",
      async () => {
        let stops = 0;
        for (let i = 0; i < 12; i++) {
          const r = await (await post(`${sim.url}/v1/completions`, {
            prompt: `q${i}`,
            max_tokens: 64,
            min_tokens: 3,
          })).json();
          const n = r.usage.completion_tokens;
          assert.ok(n >= 3 && n <= 64, `length ${n}`);
          if (r.choices[0].finish_reason === "stop") stops++;
          else assert.equal(n, 64);
        }
        assert.ok(stops > 0, "some requests should stop on EOS");
      },
    );

    await t.step(
      "prefix cache: repeated prompt reports cached_tokens; reset clears it",
      async () => {
        const prompt = "lorem ipsum dolor sit amet ".repeat(40);
        const body = { prompt, max_tokens: 2, ignore_eos: true };
        const first = await (await post(`${sim.url}/v1/completions`, body)).json();
        assert.equal(first.usage.prompt_tokens_details.cached_tokens, 0);
        const second = await (await post(`${sim.url}/v1/completions`, body)).json();
        const cached = second.usage.prompt_tokens_details.cached_tokens;
        assert.ok(
          cached > 0 && cached % 16 === 0 && cached < second.usage.prompt_tokens,
          `cached ${cached}`,
        );
        const m = await scrape(sim.url);
        assert.ok(metric(m, "vllm:prefix_cache_hits_total") >= cached);
        assert.equal((await post(`${sim.url}/reset_prefix_cache`, {})).status, 200);
        const third = await (await post(`${sim.url}/v1/completions`, body)).json();
        assert.equal(third.usage.prompt_tokens_details.cached_tokens, 0);
      },
    );

    await t.step(
      "bad input gets vLLM's codes and error shape; the engine keeps serving",
      async () => {
        const bad = await fetch(`${sim.url}/v1/completions`, { method: "POST", body: "{not json" });
        assert.equal(bad.status, 400);
        const e = await bad.json();
        assert.equal(e.error.code, 400);
        assert.equal(typeof e.error.message, "string");
        assert.equal((await post(`${sim.url}/v1/completions`, { max_tokens: 3 })).status, 400);
        assert.equal(
          (await (await post(`${sim.url}/v1/chat/completions`, { max_tokens: 3 })).json()).error
            .code,
          400,
        );
        const long = await post(`${sim.url}/v1/completions`, {
          prompt: "word ".repeat(140_000),
          max_tokens: 3,
        });
        assert.equal(long.status, 400);
        assert.match((await long.json()).error.message, /maximum context length is \d+ tokens/);
        // far too long to fit even at 256 characters a token: refused before tokenising
        const small = await startSim(["--max-model-len", "2048", "--speed", "50"]);
        try {
          const huge = await post(`${small.url}/v1/completions`, {
            prompt: "x".repeat(256 * 3000),
            max_tokens: 3,
          });
          assert.equal(huge.status, 400);
          assert.match((await huge.json()).error.message, /request has at least 3000 input tokens/);
        } finally {
          await small.stop();
        }
        // over the body limit: 413, by Content-Length, without reading it
        const big = await fetch(`${sim.url}/v1/completions`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ prompt: "y".repeat(33 * 2 ** 20) }),
        });
        assert.equal(big.status, 413);
        assert.match(
          (await big.json()).error.message,
          /Request body too large: \d+ bytes; the limit is 33554432/,
        );
        const wrong = await post(`${sim.url}/v1/completions`, { model: "nope", prompt: "x" });
        assert.equal(wrong.status, 404);
        assert.match((await wrong.json()).error.message, /The model `nope` does not exist/);
        assert.equal(
          (await post(`${sim.url}/v1/completions`, { prompt: "x", max_tokens: 0 })).status,
          400,
        );
        assert.equal((await post(`${sim.url}/v1/completions`, { prompt: "x", n: 2 })).status, 400);
        const forced = await post(`${sim.url}/v1/completions`, { prompt: "x" }, {
          "X-Return-Error": "503",
        });
        assert.equal(forced.status, 503);
        await forced.body?.cancel();
        const cut = await post(`${sim.url}/v1/completions`, {
          prompt: "x",
          max_tokens: 20,
          ignore_eos: true,
          stream: true,
        }, {
          "X-Return-Error": "midstream",
        });
        await assert.rejects(cut.text());
        const ok = await post(`${sim.url}/v1/completions`, {
          prompt: "still alive?",
          max_tokens: 2,
        });
        assert.equal(ok.status, 200);
        await ok.body?.cancel();
      },
    );

    await t.step("metrics: vLLM names and labels", async () => {
      const m = await scrape(sim.url);
      for (
        const name of [
          "vllm:num_requests_running",
          "vllm:num_requests_waiting",
          "vllm:kv_cache_usage_perc",
          "vllm:prompt_tokens_total",
          "vllm:generation_tokens_total",
          "vllm:prefix_cache_queries_total",
          "vllm:prefix_cache_hits_total",
          "vllm:num_preemptions_total",
          "vllm:time_to_first_token_seconds_count",
          "vllm:inter_token_latency_seconds_count",
          "vllm:e2e_request_latency_seconds_count",
        ]
      ) metric(m, name);
      const key = [...m.keys()].find((k) => k.startsWith("vllm:num_requests_running{"))!;
      assert.match(key, /model_name="meta-llama\/Llama-3.1-8B-Instruct"/);
      assert.match(key, /engine="0"/);
      assert.ok(metric(m, "vllm:generation_tokens_total") > 0);
    });
  } finally {
    await sim.stop();
  }
});

Deno.test("sim: faults on demand and startup delay", async () => {
  const sim = await startSim(["--fail-rate", "1", "--startup-delay", "1"]);
  try {
    const early = await fetch(`${sim.url}/health`);
    assert.equal(early.status, 503);
    let ok = false;
    for (let i = 0; i < 100 && !ok; i++) {
      await new Promise((r) => setTimeout(r, 50));
      ok = (await fetch(`${sim.url}/health`)).status === 200;
    }
    assert.ok(ok, "health turns 200 after the startup delay");
    const r = await post(`${sim.url}/v1/completions`, { prompt: "x", max_tokens: 2 });
    assert.equal(r.status, 500);
    assert.equal((await r.json()).error.code, 500);
  } finally {
    await sim.stop();
  }
});
