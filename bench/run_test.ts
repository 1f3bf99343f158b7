/**
 * The bench CLI as a process against the simulated engine (a real process on
 * a free port): rate accuracy, arrival shapes, concurrency, multi-turn,
 * failures, Ctrl-C, token exactness, GPU/metrics sidecars.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { type ReadyProcess, startReady } from "../lib/ready_process.ts";
import { readCsv } from "../lib/csv.ts";
import { cv } from "../lib/stats.ts";
import { parseRequestRow, type RequestRow } from "../lib/result_schema.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const SIM = join(ROOT, "launch/sim/main.ts");
const RUN = join(ROOT, "bench/run.ts");

async function sim(...args: string[]): Promise<ReadyProcess & { url: string }> {
  const p = await startReady({
    cmd: Deno.execPath(),
    args: ["run", "-A", SIM, "--port", "0", "--speed", "100", ...args],
    ready: /Starting vLLM API server 0 on (http:\/\/\S+)/,
  });
  return Object.assign(p, { url: p.match[1] });
}

const tmp = await Deno.makeTempDir({ prefix: "bench_test_" });
const server = await sim();

interface BenchOut {
  code: number;
  dir: string;
  stderr: string;
  rows: RequestRow[];
  // deno-lint-ignore no-explicit-any
  summary: any[];
}

/** `bench` against `url` (the shared engine by default), writing under `outRoot/label`. */
function benchCmd(
  args: string[],
  label = "t",
  { url = server.url, outRoot = join(tmp, "exp") }: { url?: string; outRoot?: string } = {},
): Deno.Command {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", RUN, "--url", url, "--out", join(outRoot, label), ...args],
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
  });
}

async function collect(out: Deno.CommandOutput): Promise<BenchOut> {
  const dir = new TextDecoder().decode(out.stdout).trim().split("\n").at(-1)!;
  const stderr = new TextDecoder().decode(out.stderr);
  if (!dir) throw new Error(`bench printed no run directory:\n${stderr}`);
  const rows = (await readCsv(join(dir, "requests.csv"))).map((r) => parseRequestRow(r));
  const summary = JSON.parse(await Deno.readTextFile(join(dir, "summary.json")));
  return { code: out.code, dir, stderr, rows, summary };
}

const bench = async (...args: string[]) => collect(await benchCmd(args).output());
const gaps = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.slice(1).map((x, i) => x - s[i]);
};

// The 20 s rate run goes in the background while the shorter tests run.
const rateRun = bench(
  "--rate",
  "50",
  "--duration",
  "20",
  "--input-len",
  "64",
  "--output-len",
  "16",
  "--seed",
  "3",
);

Deno.test(
  "achieved rate is within 10% of 50 req/s over 20 s; Poisson gaps have CV near 1",
  async () => {
    const r = await rateRun;
    assert.equal(r.code, 0, r.stderr);
    const s = r.summary[0];
    assert.equal(s.complete, true);
    assert.ok(Math.abs(s.rate_achieved - 50) / 50 < 0.1, `achieved ${s.rate_achieved}`);
    assert.ok(r.rows.length > 800 && r.rows.length === s.sent, `${r.rows.length} rows`);
    assert.equal(s.failed, 0);
    const c = cv(gaps(r.rows.map((x) => x.sent_ms)));
    assert.ok(c > 0.85 && c < 1.15, `sent-gap cv ${c}`);
    for (const f of ["config.json", "itl.jsonl"]) await Deno.stat(join(r.dir, f));
    assert.match(r.stderr, /Serving Benchmark Result/);
    assert.ok(typeof s.p99_ttft_ms === "number" && typeof s.send_lag_p99_ms === "number");
  },
);

Deno.test(
  "constant arrivals have CV near 0, gamma burstiness raises it; same seed, same schedule",
  async () => {
    const common = ["--num-requests", "120", "--input-len", "32", "--output-len", "4"];
    const constant = await bench("--rate", "100", "--arrival", "constant", ...common);
    const bursty = await bench("--rate", "100", "--burstiness", "0.25", "--seed", "5", ...common);
    const again = await bench("--rate", "100", "--burstiness", "0.25", "--seed", "5", ...common);
    const cc = cv(gaps(constant.rows.map((x) => x.scheduled_ms)));
    const cb = cv(gaps(bursty.rows.map((x) => x.scheduled_ms)));
    const sentCb = cv(gaps(bursty.rows.map((x) => x.sent_ms)));
    assert.ok(cc < 0.01, `constant cv ${cc}`);
    assert.ok(cb > 1.5 && sentCb > 1.3, `gamma(0.25) cv ${cb} / sent ${sentCb}`);
    const key = (o: BenchOut) =>
      o.rows.map((x) => `${x.request_id}:${x.scheduled_ms}:${x.prompt_tokens}`).sort().join();
    assert.equal(key(bursty), key(again));
    assert.notEqual(key(bursty), key(constant));
    // token-exact random prompts: the server counts input-len + BOS, and exactly output-len out
    for (const x of constant.rows) {
      assert.equal(x.prompt_tokens, 33);
      assert.equal(x.output_tokens, 4);
    }
  },
);

Deno.test("closed-loop concurrency is never exceeded", async () => {
  const cases = [["--concurrency", "4"], ["--rate", "400", "--max-concurrency", "2"]];
  const common = ["--num-prompts", "60", "--random-input-len", "32", "--random-output-len", "64"];
  const runs = await Promise.all(cases.map((args) => bench(...common, ...args)));
  for (const [k, args] of cases.entries()) {
    const r = runs[k];
    const cap = Number(args.at(-1));
    const ev = r.rows.flatMap((x) => [[x.sent_ms, 1], [x.end_ms, -1]]).sort((a, b) =>
      a[0] - b[0] || a[1] - b[1]
    );
    let cur = 0;
    let max = 0;
    for (const [, d] of ev) max = Math.max(max, cur += d);
    assert.equal(r.rows.length, 60);
    assert.ok(max <= cap && r.summary[0].max_concurrent_requests <= cap, `${max} > ${cap}`);
    assert.equal(r.summary[0].max_concurrent_requests, cap);
  }
});

Deno.test(
  "multi-turn: turn t+1 starts after turn t ends and prompts grow with the answers",
  async () => {
    const r = await bench(
      "--endpoint",
      "/v1/chat/completions",
      "--dataset",
      "multiturn",
      "--turns",
      "3",
      "--num-requests",
      "4",
      "--rate",
      "20",
      "--think-time",
      "30",
      "--input-len",
      "40",
      "--output-len",
      "8",
      "--slo",
      "ttft:1000,tpot:100",
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.rows.length, 12);
    const byConv = Map.groupBy(r.rows, (x) => x.conversation_id);
    assert.equal(byConv.size, 4);
    for (const turns of byConv.values()) {
      turns.sort((a, b) => a.turn - b.turn);
      assert.deepEqual(turns.map((x) => x.turn), [1, 2, 3]);
      for (let t = 1; t < 3; t++) {
        assert.ok(turns[t].sent_ms >= turns[t - 1].end_ms, "turn sent before the previous ended");
        assert.ok(turns[t].scheduled_ms >= turns[t - 1].end_ms);
        assert.ok(turns[t].prompt_tokens! >= turns[t - 1].prompt_tokens! + 40 + 8);
      }
    }
    const s = r.summary[0];
    assert.deepEqual(Object.keys(s.ttft_by_turn), ["1", "2", "3"]);
    assert.equal(s.slo_attainment, 1);
  },
);

Deno.test("--fail-rate failures are recorded with status and error text", async () => {
  const failing = await sim("--fail-rate", "0.3", "--seed", "1");
  try {
    const out = await benchCmd(
      [
        ...["--num-requests", "50", "--input-len", "16", "--output-len", "4"],
        ...["--slo", "ttft:10000"],
      ],
      "fail",
      { url: failing.url },
    ).output();
    const r = await collect(out);
    assert.equal(r.rows.length, 50);
    const failed = r.rows.filter((x) => x.error);
    assert.ok(failed.length >= 5 && failed.length <= 30, `${failed.length} failed`);
    for (const x of failed) {
      assert.equal(x.status, 500);
      assert.match(x.error, /Injected failure/);
    }
    assert.equal(r.summary[0].failed, failed.length);
    assert.equal(r.summary[0].slo_attainment, (50 - failed.length) / 50);
  } finally {
    await failing.stop();
  }
});

Deno.test(
  "a schedule of 50 billion requests is drawn as sent: it starts at once, holds its memory, stops on SIGINT",
  async () => {
    const child = benchCmd([
      ...["--rate", "400", "--duration", "125000000", "--grace", "0.5"],
      ...["--input-len", "16", "--output-len", "4"],
    ], "huge").spawn();
    const stdout = new Response(child.stdout).text();
    const stderr = new Response(child.stderr).text();
    try {
      let dir = "";
      for (let i = 0; i < 200 && !dir; i++) {
        await new Promise((r) => setTimeout(r, 50));
        dir = (await peek(child, stderr, "huge")).replace("run directory ", "");
      }
      assert.ok(dir, "no run directory");
      let rows = 0;
      for (let i = 0; i < 300 && rows < 200; i++) {
        await new Promise((r) => setTimeout(r, 50));
        rows = (await Deno.readTextFile(join(dir, "requests.csv")).catch(() => "")).split("\n")
          .length - 2;
      }
      assert.ok(rows >= 200, `${rows} rows after 15 s`);
      // the old schedule was an array of every arrival: gigabytes before the first send
      const rss = Number(
        /VmRSS:\s+(\d+) kB/.exec(
          await Deno.readTextFile(`/proc/${child.pid}/status`),
        )![1],
      ) / 1024;
      assert.ok(rss < 600, `bench RSS ${rss.toFixed(0)} MB`);
      child.kill("SIGINT");
      const st = await child.status;
      await stdout;
      const err = await stderr;
      assert.equal(st.code, 130, err);
      assert.match(err, /arrivals \(drawn as sent\)/);
      const kept = (await readCsv(join(dir, "requests.csv"))).map((r) => parseRequestRow(r));
      const s = JSON.parse(await Deno.readTextFile(join(dir, "summary.json")))[0];
      assert.equal(s.complete, false);
      assert.equal(kept.length, s.sent);
      assert.ok(Math.min(...kept.map((r) => r.sent_ms)) < 1000, "first send late");
    } finally {
      try {
        child.kill("SIGKILL");
      } catch { /* exited */ }
      await child.status;
    }
  },
);

Deno.test(
  "SIGINT stops sending, keeps every finished row, writes complete:false, exits 130",
  async () => {
    const child = benchCmd([
      "--rate",
      "40",
      "--duration",
      "30",
      "--input-len",
      "16",
      "--output-len",
      "1000",
      "--grace",
      "0.2",
    ], "sigint").spawn();
    const stdout = new Response(child.stdout).text();
    const stderr = new Response(child.stderr).text();
    let dir = "";
    for (let i = 0; i < 200 && !dir; i++) {
      await new Promise((r) => setTimeout(r, 50));
      const m = /run directory (\S+)/.exec(await peek(child, stderr));
      if (m) dir = m[1];
    }
    let before = 0;
    for (let i = 0; i < 200 && before < 5; i++) {
      await new Promise((r) => setTimeout(r, 50));
      before = (await Deno.readTextFile(join(dir, "requests.csv")).catch(() => "")).split("\n")
        .length - 2;
    }
    child.kill("SIGINT");
    const st = await child.status;
    await stdout;
    const err = await stderr;
    assert.equal(st.code, 130, err);
    const rows = (await readCsv(join(dir, "requests.csv"))).map((r) => parseRequestRow(r));
    const s = JSON.parse(await Deno.readTextFile(join(dir, "summary.json")))[0];
    assert.equal(s.complete, false);
    assert.ok(
      rows.length >= before && rows.length === s.sent,
      `${rows.length} rows, sent ${s.sent}`,
    );
    assert.equal(new Set(rows.map((x) => x.request_id)).size, rows.length);
    assert.ok(rows.length < 1000, "kept sending after SIGINT");
  },
);

/** The stderr text so far is not readable before exit, so the run directory comes from disk. */
async function peek(
  _child: Deno.ChildProcess,
  _stderr: Promise<string>,
  label = "sigint",
): Promise<string> {
  await Deno.mkdir(join(tmp, "exp"), { recursive: true });
  for await (const e of Deno.readDir(join(tmp, "exp"))) {
    if (e.isDirectory && e.name.endsWith(`-${label}`)) {
      const d = join(tmp, "exp", e.name);
      try {
        const cfg = JSON.parse(await Deno.readTextFile(join(d, "config.json")));
        if (cfg.argv) return `run directory ${d}`;
      } catch { /* not yet */ }
    }
  }
  return "";
}

Deno.test(
  "--gpu-monitor says once that there is no GPU; --scrape-metrics writes server_metrics.csv",
  async () => {
    const r = await bench(
      "--num-requests",
      "20",
      "--rate",
      "50",
      "--input-len",
      "16",
      "--output-len",
      "4",
      "--gpu-monitor",
      "--scrape-metrics",
      `${server.url}/metrics`,
      "--scrape-interval",
      "100",
    );
    assert.equal(r.code, 0, r.stderr);
    let hasSmi = true;
    try {
      await new Deno.Command("nvidia-smi", { stdout: "null", stderr: "null" }).output();
    } catch {
      hasSmi = false;
    }
    if (!hasSmi) {
      assert.equal(r.stderr.match(/No GPU found/g)?.length, 1, r.stderr);
      await assert.rejects(Deno.stat(join(r.dir, "gpu.csv")));
    }
    const m = await readCsv(join(r.dir, "server_metrics.csv"));
    assert.ok(m.some((x) => x.metric.startsWith("vllm:")), "no vllm: metrics scraped");
    assert.deepEqual(Object.keys(m[0]), ["t_ms", "metric", "labels", "value"]);
  },
);

Deno.test(
  "a run whose every request failed exits 1 and says so; its rows are kept",
  async () => {
    const r = await collect(
      await benchCmd([
        "--num-requests",
        "4",
        "--rate",
        "50",
        "--input-len",
        "16",
        "--output-len",
        "4",
      ])
        .output(),
    );
    assert.equal(r.code, 0, r.stderr);
    const dead = await sim("--fail-rate", "1");
    try {
      const out = await benchCmd(
        ["--num-requests", "5", "--rate", "50", "--input-len", "16", "--output-len", "4"],
        "allfail",
        { url: dead.url },
      ).output();
      const f = await collect(out);
      assert.equal(f.code, 1, f.stderr);
      assert.match(f.stderr, /every request failed \(5\)/);
      assert.equal(f.rows.length, 5);
      assert.ok(f.rows.every((x) => x.error !== ""));
    } finally {
      await dead.stop();
    }
  },
);

/** A 64 KiB tmpfs (root only), or null where mounting is not allowed. */
async function tinyDisk(): Promise<string | null> {
  const dir = await Deno.makeTempDir({ prefix: "bench_full_" });
  const out = await new Deno.Command("mount", {
    args: ["-t", "tmpfs", "-o", "size=64k", "tmpfs", dir],
    stdout: "null",
    stderr: "null",
  }).output().catch(() => null);
  if (out?.code === 0) return dir;
  await Deno.remove(dir).catch(() => {});
  return null;
}

Deno.test("a full disk stops the run with one line, keeps whole rows, exits 1", async (t) => {
  const disk = await tinyDisk();
  if (!disk) {
    await t.step({ name: "needs root to mount a 64 KiB tmpfs", ignore: true, fn: () => {} });
    return;
  }
  try {
    const out = await benchCmd(
      ["--num-requests", "3000", "--rate", "400", "--input-len", "16", "--output-len", "32"],
      "full",
      { outRoot: join(disk, "exp") },
    ).output();
    const err = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 1, err);
    const last = err.trim().split("\n").at(-1)!;
    assert.match(
      last,
      /^error: Cannot write .*(requests\.csv|itl\.jsonl).*No space left on device/,
    );
    assert.doesNotMatch(err, /\n\s+at /, "no stack trace");
    const [run] = [...Deno.readDirSync(join(disk, "exp"))].map((e) => join(disk, "exp", e.name));
    const text = await Deno.readTextFile(join(run, "requests.csv"));
    assert.ok(text.endsWith("\n"), "no torn last row");
    const rows = (await readCsv(join(run, "requests.csv"))).map((r) => parseRequestRow(r));
    assert.ok(rows.length > 10 && rows.length < 3000, `${rows.length} rows`);
  } finally {
    await new Deno.Command("umount", { args: [disk] }).output();
    await Deno.remove(disk, { recursive: true }).catch(() => {});
  }
});

Deno.test.afterAll(async () => {
  await rateRun.catch(() => {});
  await server.stop();
  await Deno.remove(tmp, { recursive: true });
});

Deno.test("a server that sends no usage: the tokenizer is loaded once and counts the output", async () => {
  const enc = new TextEncoder();
  const words = [" alpha", " beta", " gamma"];
  await using noUsage = Deno.serve(
    { port: 0, hostname: "127.0.0.1", onListen() {} },
    async (req) => {
      if (req.method !== "POST") return Response.json({ data: [{ id: "m" }] });
      await req.arrayBuffer();
      const body = words.map((w) => `data: ${JSON.stringify({ choices: [{ text: w }] })}\n\n`)
        .join("") + "data: [DONE]\n\n";
      return new Response(enc.encode(body), { headers: { "content-type": "text/event-stream" } });
    },
  );
  const out = await benchCmd(
    ["--rate", "20", "--num-requests", "6", "--input-len", "8", "--output-len", "3"],
    "nousage",
    { url: `http://127.0.0.1:${noUsage.addr.port}` },
  ).output();
  const r = await collect(out);
  assert.equal(r.code, 0, r.stderr);
  assert.equal((r.stderr.match(/sent no usage/g) ?? []).length, 1, `one warning: ${r.stderr}`);
  assert.equal(r.rows.length, 6);
  assert.ok(r.rows.every((x) => x.output_tokens === 3 && x.error === ""));
  assert.equal(r.summary[0].output_token_mismatches, 0);
});

Deno.test("bodies as today's vllm bench serve: chat asks max_completion_tokens, no sampling fields unless given", async () => {
  const enc = new TextEncoder();
  const bodies: Record<string, unknown>[] = [];
  await using capture = Deno.serve(
    { port: 0, hostname: "127.0.0.1", onListen() {} },
    async (req) => {
      if (req.method !== "POST") return Response.json({ data: [{ id: "m" }] });
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
  assert.ok(by("text").every((x) => x.prompt_tokens === 33 && x.request_id.startsWith("text-")));
  assert.ok(by("long").every((x) => x.prompt_tokens === 257 && x.request_id.startsWith("long-")));
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
