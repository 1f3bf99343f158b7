/**
 * The bench CLI as a process against the simulated engine (a real process on
 * a free port): the live schedule, arrival shapes, concurrency, multi-turn,
 * failures, Ctrl-C, token exactness, GPU/metrics sidecars.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { readCsv } from "../lib/csv.ts";
import { cv, minOf, percentileSorted } from "../lib/stats.ts";
import { parseRequestRow } from "../lib/result_schema.ts";
import { type BenchOut, benchSetup, benchWork, collect, offsetsOf, sim } from "./_test_harness.ts";

const { tmp, server, benchCmd, bench } = await benchSetup("bench_test_");
const gaps = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.slice(1).map((x, i) => x - s[i]);
};

// The live path of the schedule (its rate and gaps are checked on the virtual clock in
// load_driver_test.ts): a short rate run, started before the other tests.
const RATE_ARGS = ["--rate", "50", "--duration", "4.5", "--seed", "3"];
const rateRun = bench(...RATE_ARGS, "--input-len", "64", "--output-len", "16");

Deno.test(
  "the HTTP sender on the wall clock sends what was scheduled: on time, every job, the same gaps",
  async () => {
    const r = await rateRun;
    assert.equal(r.code, 0, r.stderr);
    const s = r.summary[0];
    assert.equal(s.complete, true);
    assert.equal(s.failed, 0);
    const planned = offsetsOf((await benchWork(...RATE_ARGS)).work);
    assert.ok(r.rows.length === s.sent && s.sent === planned.length, `${r.rows.length} rows`);
    const scheduled = r.rows.map((x) => x.scheduled_ms).sort((a, b) => a - b);
    assert.ok(scheduled.every((ms, i) => Math.abs(ms - planned[i]) < 0.01), "not the plan");
    const lags = r.rows.map((x) => x.sent_ms - x.scheduled_ms).sort((a, b) => a - b);
    const [p50, p99] = [percentileSorted(lags, 50), percentileSorted(lags, 99)];
    assert.ok(lags[0] >= 0 && p50 < 5 && p99 < 50, `send lag p50 ${p50} ms, p99 ${p99} ms`);
    const plannedRps = (planned.length - 1) / ((planned.at(-1)! - planned[0]) / 1000);
    assert.ok(Math.abs(s.rate_achieved - plannedRps) / plannedRps < 0.1, `${s.rate_achieved}`);
    const planCv = cv(gaps(scheduled));
    const sentCv = cv(gaps(r.rows.map((x) => x.sent_ms)));
    assert.ok(Math.abs(sentCv - planCv) < 0.15, `sent-gap cv ${sentCv}, scheduled ${planCv}`);
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
    // token-exact random prompts: the server counts input-len with BOS (as vLLM's random
    // dataset counts), and exactly output-len out
    for (const x of constant.rows) {
      assert.equal(x.prompt_tokens, 32);
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
      assert.ok(minOf(kept.map((r) => r.sent_ms)) < 1000, "first send late");
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
      assert.match(f.stderr, /every request failed \(5\); the first: /);
      assert.ok(f.stderr.includes(f.rows[0].error as string), "it quotes a row's error");
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
