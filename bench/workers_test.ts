/**
 * `--workers local,local`: two real bench subprocesses split the rate against
 * the simulated engine; the coordinator's requests.csv holds every worker row
 * and the merged arrivals are Poisson at the target rate.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { startReady } from "../lib/ready_process.ts";
import { readCsv } from "../lib/csv.ts";
import { cv } from "../lib/stats.ts";
import { parseRequestRow } from "../lib/result_schema.ts";
import { workerArgs } from "./_workers.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const SIM = join(ROOT, "launch/sim/live/main.ts");
const RUN = join(ROOT, "bench/run.ts");

Deno.test("workerArgs splits rate and request count and gives each worker its own seed", () => {
  const v = { url: "http://h:1", "num-requests": "7", "no-itl": true, "no-ignore-eos": false };
  const o = { count: 2, rateRps: 9, seed: 3, out: "/o" };
  const a = workerArgs(v, { ...o, index: 0 });
  const b = workerArgs(v, { ...o, index: 1 });
  const get = (xs: string[], k: string) => xs[xs.indexOf(k) + 1];
  assert.equal(get(a, "--rate"), "4.5");
  assert.equal(Number(get(a, "--num-requests")) + Number(get(b, "--num-requests")), 7);
  assert.notEqual(get(a, "--seed"), get(b, "--seed"));
  assert.equal(get(a, "--start-at"), "stdin");
  assert.ok(a.includes("--no-itl") && !a.includes("--no-ignore-eos"));
});

Deno.test("two local workers: merged rows are all there at the target rate", async () => {
  const sim = await startReady({
    cmd: Deno.execPath(),
    args: ["run", "-A", SIM, "--port", "0", "--speed", "20"],
    ready: /Starting vLLM API server 0 on (http:\/\/\S+)/,
  });
  const tmp = await Deno.makeTempDir({ prefix: "bench_workers_test_" });
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        ...["run", "-A", RUN, "--url", sim.match[1], "--workers", "local,local"],
        ...["--time-scale", "20", "--rate", "10", "--duration", "40", "--seed", "11"],
        ...["--input-len", "32", "--output-len", "8", "--out", join(tmp, "exp", "w")],
      ],
      stdout: "piped",
      stderr: "piped",
      stdin: "null",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, stderr);
    const dir = new TextDecoder().decode(out.stdout).trim().split("\n").at(-1)!;
    const rows = (await readCsv(join(dir, "requests.csv"))).map((r) => parseRequestRow(r));
    const s = JSON.parse(await Deno.readTextFile(join(dir, "summary.json")))[0];
    // every worker row is in the merged file, ids made unique per worker
    let workerRows = 0;
    for await (const e of Deno.readDir(join(dir, "workers"))) {
      workerRows += (await readCsv(join(dir, "workers", e.name, "requests.csv"))).length;
    }
    assert.equal(rows.length, workerRows);
    // labelled with the run's load point, not each worker's share of the rate
    assert.ok(rows.every((r) => r.load_point === s.load_point), "rows carry the run's load point");
    assert.equal(new Set(rows.map((r) => r.request_id)).size, rows.length);
    const w0 = rows.filter((r) => r.request_id.startsWith("w0-")).length;
    const w1 = rows.filter((r) => r.request_id.startsWith("w1-")).length;
    assert.equal(w0 + w1, rows.length);
    assert.ok(w0 > 100 && w1 > 100, `worker rows ${w0} / ${w1}`);
    assert.equal(s.sent, rows.length);
    assert.equal(s.failed, 0);
    assert.equal(s.complete, true);
    assert.ok(Math.abs(s.rate_achieved - 10) / 10 < 0.15, `achieved ${s.rate_achieved} req/s`);
    // both streams on one clock: the merged schedule looks Poisson (gap CV near 1); the
    // schedule, not the send times, so that a stalled host (sends catching up) cannot fail it
    const sched = rows.map((r) => r.scheduled_ms).sort((a, b) => a - b);
    const c = cv(sched.slice(1).map((x, i) => x - sched[i]));
    assert.ok(c > 0.8 && c < 1.2, `merged gap cv ${c}`);
    const sent = rows.map((r) => r.sent_ms).sort((a, b) => a - b);
    assert.ok(sent[0] < 2000, `first send at ${sent[0]} server ms`);
  } finally {
    await sim.stop();
    await Deno.remove(tmp, { recursive: true });
  }
});
