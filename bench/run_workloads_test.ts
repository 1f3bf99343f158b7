/**
 * The bench CLI's workload features as processes against the simulated engine
 * (or a server written in the test): request bodies, length distributions, any
 * endpoint, whole answers, warmup, traces and sessions, classes, multi-turn
 * ShareGPT.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { readCsv } from "../lib/csv.ts";
import { parseRequestRow } from "../lib/result_schema.ts";
import { benchSetup, collect, ROOT, sim } from "./_test_harness.ts";

const { tmp, server, benchCmd, bench } = await benchSetup("bench_wl_test_");

Deno.test.afterAll(async () => {
  await server.stop();
  await Deno.remove(tmp, { recursive: true });
});

Deno.test("bodies as today's vllm bench serve: chat asks max_completion_tokens, no sampling fields unless given", async () => {
  const enc = new TextEncoder();
  const bodies: Record<string, unknown>[] = [];
  await using capture = Deno.serve(
    { port: 0, hostname: "127.0.0.1", onListen() {} },
    async (req) => {
      if (req.method !== "POST") return Response.json({ data: [{ id: "m" }] });
      // generation requests only (bench may also ask /tokenize at the end)
      if (!new URL(req.url).pathname.endsWith("completions")) {
        return new Response("not found", { status: 404 });
      }
      bodies.push(await req.json());
      const chunk = (o: unknown) => `data: ${JSON.stringify(o)}\n\n`;
      const body = chunk({ choices: [{ delta: { content: " a" }, text: " a" }] }) +
        chunk({ choices: [], usage: { prompt_tokens: 9, completion_tokens: 1 } }) +
        "data: [DONE]\n\n";
      return new Response(enc.encode(body), { headers: { "content-type": "text/event-stream" } });
    },
  );
  const url = `http://127.0.0.1:${capture.addr.port}`;
  const common = ["--rate", "50", "--num-requests", "2", "--input-len", "8", "--output-len", "5"];
  const chat = await collect(
    await benchCmd([...common, "--endpoint", "/v1/chat/completions"], "chat", { url }).output(),
  );
  assert.equal(chat.code, 0, chat.stderr);
  for (const b of bodies.splice(0)) {
    assert.equal(b.max_completion_tokens, 5);
    for (const k of ["max_tokens", "temperature", "top_p"]) assert.ok(!(k in b), `${k} sent`);
    assert.equal(b.stream, true);
  }
  const asked = await collect(
    await benchCmd(
      [
        ...common,
        ...["--temperature", "0.7", "--top-p", "0.9"],
        ...["--extra-body", '{"seed": 1, "max_tokens": 3}'],
      ],
      "asked",
      { url },
    ).output(),
  );
  assert.equal(asked.code, 0, asked.stderr);
  for (const b of bodies.splice(0)) {
    assert.deepEqual([b.prompt !== undefined, b.temperature, b.top_p], [true, 0.7, 0.9]);
    assert.deepEqual([b.seed, b.max_tokens], [1, 3]); // --extra-body wins
  }
  const bad = await benchCmd([...common, "--extra-body", "[1]"], "bad", { url }).output();
  assert.equal(bad.code, 1);
  assert.match(new TextDecoder().decode(bad.stderr), /--extra-body.*a JSON object/);
});

Deno.test("--input-dist choices(32,64,128) gives exactly those token counts", async () => {
  const r = await bench(
    ...["--rate", "200", "--num-requests", "60", "--output-len", "2"],
    ...["--input-dist", "choices(32,64,128)", "--output-dist", "uniform(2,4)"],
  );
  assert.equal(r.code, 0, r.stderr);
  // completions add BOS: 33, 65, 129
  assert.deepEqual(
    [...new Set(r.rows.map((x) => x.prompt_tokens))].sort((a, b) => a! - b!),
    [33, 65, 129],
  );
  assert.ok(r.rows.every((x) => x.output_tokens >= 2 && x.output_tokens <= 4));
  assert.equal(r.summary[0].workload, "random choices(32,64,128)/uniform(2,4)");
});

Deno.test("any endpoint: a non-streaming /v1/generate server through an inline template, text and tokens by path", async () => {
  const bodies: Record<string, unknown>[] = [];
  await using gen = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, async (req) => {
    if (new URL(req.url).pathname !== "/v1/generate") return new Response("no", { status: 404 });
    const b = await req.json();
    bodies.push(b);
    await new Promise((r) => setTimeout(r, 30));
    return Response.json({
      generated_text: "word ".repeat(b.max_new_tokens).trim(),
      details: { generated_tokens: b.max_new_tokens },
    });
  });
  const out = await benchCmd(
    [
      ...["--endpoint", "/v1/generate", "--rate", "40", "--num-requests", "8"],
      ...["--input-len", "16", "--output-len", "5"],
      ...["--request-body-template", '{"input": "{prompt}", "max_new_tokens": {max_tokens}}'],
      ...[
        "--response-text-path",
        "generated_text",
        "--response-tokens-path",
        "details.generated_tokens",
      ],
    ],
    "generate",
    { url: `http://127.0.0.1:${gen.addr.port}` },
  ).output();
  const r = await collect(out);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(bodies.length, 8);
  for (const b of bodies) {
    assert.equal(typeof b.input, "string");
    assert.equal(b.max_new_tokens, 5); // a number, as the template placed it
  }
  for (const x of r.rows) {
    assert.equal(x.error, "");
    assert.equal(x.output_tokens, 5);
    assert.ok(
      x.ttft_ms! >= 29 && Math.abs(x.ttft_ms! - x.e2e_ms) < 1e-6,
      `${x.ttft_ms} ${x.e2e_ms}`,
    );
  }
  assert.equal(r.summary[0].streamed, false);
  assert.match(r.stderr, /came whole \(not streamed\): TTFT = E2E/);
});

Deno.test("--stream false: whole OpenAI answers, tokens from usage, TTFT = E2E", async () => {
  const r = await bench(
    ...["--rate", "50", "--num-requests", "5", "--input-len", "16", "--output-len", "4"],
    ...["--stream", "false"],
  );
  assert.equal(r.code, 0, r.stderr);
  assert.ok(r.rows.every((x) => x.error === "" && x.output_tokens === 4 && x.ttft_ms === x.e2e_ms));
  assert.equal(r.summary[0].streamed, false);
});

Deno.test("--warmup 2s: the run's own load first, its rows apart in warmup.csv, not in the summary", async () => {
  const r = await bench(
    ...["--rate", "20", "--num-requests", "10", "--input-len", "16", "--output-len", "2"],
    ...["--warmup", "2s"],
  );
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.rows.length, 10);
  assert.equal(r.summary[0].completed, 10);
  const warm = (await readCsv(join(r.dir, "warmup.csv"))).map((x) => parseRequestRow(x));
  assert.ok(
    warm.length >= 25 && warm.length <= 60,
    `${warm.length} warmup rows at 20 req/s for 2 s`,
  );
  assert.ok(warm.every((x) => x.run_id.endsWith("-warmup") && x.load_point === "warmup"));
  const bad = await benchCmd(["--rate", "5", "--num-requests", "2", "--warmup", "soon"], "w")
    .output();
  assert.equal(bad.code, 1);
  assert.match(new TextDecoder().decode(bad.stderr), /--warmup.*a duration such as 30s/);
});

Deno.test("mooncake trace: shared hash_ids become shared prompt blocks, the sim's prefix cache hits in proportion", async () => {
  const dir = await Deno.makeTempDir({ prefix: "trace_" });
  // 12 requests of 5 blocks (2,560 tokens): four shared blocks and one of their own; a control
  // trace with the same lengths and no sharing
  const write = async (name: string, shared: boolean) => {
    const lines = Array.from({ length: 12 }, (_, i) =>
      JSON.stringify({
        timestamp: 1000 + i * 200,
        input_length: 5 * 512,
        output_length: 2,
        hash_ids: shared ? [0, 1, 2, 3, 100 + i] : [0, 1, 2, 3, 4].map((k) => 500 + 10 * i + k),
      }));
    await Deno.writeTextFile(join(dir, name), lines.join("\n") + "\n");
    return join(dir, name);
  };
  // one engine: the hit ratio of each trace from the counters' growth over its run
  const s = await sim();
  const counters = async () => {
    const m = await (await fetch(`${s.url}/metrics`)).text();
    const v = (k: string) => Number(new RegExp(`^${k}\\S* (\\S+)$`, "m").exec(m)![1]);
    return [v("vllm:prefix_cache_hits_total"), v("vllm:prefix_cache_queries_total")];
  };
  const ratio = async (file: string) => {
    const [h0, q0] = await counters();
    const r = await collect(
      await benchCmd(
        ["--dataset", "mooncake", "--dataset-path", file, "--trace-speedup", "4"],
        "t",
        {
          url: s.url,
        },
      ).output(),
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.rows.length, 12);
    assert.ok(r.rows.every((x) => x.prompt_tokens === 2561)); // + BOS
    // the schedule is the trace's, 4x faster: 50 ms apart
    const sent = r.rows.map((x) => x.scheduled_ms).sort((a, b) => a - b);
    assert.ok(Math.abs(sent[11] - sent[0] - 550) < 1, `${sent[11] - sent[0]}`);
    const [h1, q1] = await counters();
    return (h1 - h0) / (q1 - q0);
  };
  try {
    // 11 of 12 requests find BOS + 2,048 shared tokens: 128 full blocks of 16 cached
    const expected = (11 * 2048) / (12 * 2561);
    const shared = await ratio(await write("shared.jsonl", true));
    assert.ok(Math.abs(shared - expected) < 0.03, `hit ratio ${shared} vs ${expected}`);
    assert.ok((await ratio(await write("alone.jsonl", false))) < 0.01);
  } finally {
    await s.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("request classes at 30 and 20 req/s: one schedule, every row carries its class, a summary per class and the total", async () => {
  const r = await bench(
    ...["--duration", "4", "--arrival", "constant"],
    ...["--class", "text:rate=30,input-len=32,output-len=2"],
    ...["--class", "long:rate=20,input-len=256,output-len=4"],
  );
  assert.equal(r.code, 0, r.stderr);
  const by = (c: string) => r.rows.filter((x) => x.class === c);
  assert.ok(by("text").every((x) => x.prompt_tokens === 32 && x.request_id.startsWith("text-")));
  assert.ok(by("long").every((x) => x.prompt_tokens === 256 && x.request_id.startsWith("long-")));
  assert.equal(by("text").length + by("long").length, r.rows.length);
  const [total, text, long] = r.summary;
  assert.deepEqual([total.class, text.class, long.class], ["", "text", "long"]);
  assert.equal(total.rate_target, 50);
  for (const [s, rate] of [[text, 30], [long, 20]] as const) {
    assert.ok(Math.abs(s.rate_achieved - rate) / rate < 0.1, `${s.class}: ${s.rate_achieved}`);
    assert.equal(s.completed, by(s.class).length);
  }
  assert.equal(total.completed, text.completed + long.completed);
  assert.match(total.workload, /^classes text=random 32\/2@30 \+ long=random 256\/4@20$/);
  // merge keeps the classes apart (a class column) and gives the total
  const out = join(r.dir, "merged.csv");
  const m = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", join(ROOT, "tasks/merge/merge.ts"), r.dir, "--out", out],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(m.code, 0, new TextDecoder().decode(m.stderr));
  const merged = (await readCsv(out)).filter((x) => x.run_index === "1");
  assert.deepEqual(
    merged.map((x) => [x.class, Number(x.completed)]).sort(),
    [["", total.completed], ["long", long.completed], ["text", text.completed]].sort(),
  );
});

Deno.test("request classes: an image class after a text class loads the tokenizer its dataset needs (no crash)", async () => {
  const r = await bench(
    ...["--endpoint", "/v1/chat/completions", "--duration", "2", "--arrival", "constant"],
    ...["--class", "text:rate=4,input-len=32,output-len=2"],
    ...["--class", "mm:rate=2,dataset=random-mm,images-per-request=1,output-len=2"],
  );
  assert.equal(r.code, 0, r.stderr);
  // the image requests were built and sent (the test's text-only model refuses them, as vLLM
  // would); the text ones are served
  const mm = r.rows.filter((x) => x.class === "mm");
  assert.ok(mm.length >= 3, `${mm.length} mm rows`);
  assert.ok(mm.every((x) => /does not support image input/.test(x.error)), mm[0]?.error);
  const text = r.rows.filter((x) => x.class === "text");
  assert.ok(text.length >= 6 && text.every((x) => x.status === 200 && !x.error));
});

Deno.test("ShareGPT multi-turn: whole conversations turn by turn, the model's answers re-sent as context", async () => {
  const file = join(tmp, "sharegpt_turns.json");
  const conv = (k: number) => ({
    id: `x${k}`,
    conversations: [1, 2, 3].flatMap((t) => [
      {
        from: "human",
        value: `Question ${t} of chat ${k}: tell me about rivers and mountains, please.`,
      },
      { from: "gpt", value: "Rivers run down from the mountains to the sea, mostly." },
    ]),
  });
  await Deno.writeTextFile(file, JSON.stringify([conv(1), conv(2), conv(3)]));
  const r = await bench(
    ...["--endpoint", "/v1/chat/completions", "--dataset", "sharegpt-multiturn"],
    ...["--dataset-path", file, "--turns", "3", "--num-requests", "4", "--rate", "10"],
    ...[
      "--think-time",
      "0",
      "--scrape-metrics",
      `${server.url}/metrics`,
      "--scrape-interval",
      "20",
    ],
  );
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.rows.length, 12);
  const byConv = Map.groupBy(r.rows, (x) => x.conversation_id);
  for (const rows of byConv.values()) {
    const t = rows.sort((a, b) => a.turn - b.turn);
    assert.deepEqual(t.map((x) => x.turn), [1, 2, 3]);
    // each turn re-sends the history: prompts grow, and later turns hit the prefix cache
    assert.ok(
      t[1].prompt_tokens! > t[0].prompt_tokens! && t[2].prompt_tokens! > t[1].prompt_tokens!,
    );
    assert.ok(t[2].cached_tokens! > 0, `turn 3 cached ${t[2].cached_tokens}`);
  }
  assert.match(r.summary[0].workload, /^sharegpt-multiturn sharegpt_turns\.json t3$/);
  // KV-cache usage sampled while each turn was in flight
  const kv = String(r.summary[0].kv_usage_by_turn).split(";");
  assert.equal(kv.length, 3, r.summary[0].kv_usage_by_turn);
  assert.ok(kv.every((x) => x === "" || (Number(x) >= 0 && Number(x) <= 1)));
});

Deno.test("trace sessions: a session's next request goes only after the one before it has ended", async () => {
  const file = join(tmp, "sessions.jsonl");
  const lines = [0, 1, 2].flatMap((k) =>
    ["s1", "s2"].map((session_id) =>
      JSON.stringify({ timestamp: k, input_length: 64, output_length: 8, session_id })
    )
  );
  await Deno.writeTextFile(file, lines.join("\n") + "\n");
  const r = await bench("--dataset", "trace", "--dataset-path", file);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.rows.length, 6);
  for (const s of ["s1", "s2"]) {
    const rows = r.rows.filter((x) => x.conversation_id === s).sort((a, b) =>
      a.sent_ms - b.sent_ms
    );
    assert.equal(rows.length, 3);
    for (let i = 1; i < rows.length; i++) {
      assert.ok(
        rows[i].sent_ms >= rows[i - 1].end_ms,
        `${s}: ${rows[i].sent_ms} < ${rows[i - 1].end_ms}`,
      );
    }
  }
  // the two sessions still run side by side
  const firsts = r.rows.filter((x) => x.request_id.endsWith("0") || x.request_id.endsWith("1"));
  assert.ok(Math.abs(firsts[0].sent_ms - firsts[1].sent_ms) < 50);
});
