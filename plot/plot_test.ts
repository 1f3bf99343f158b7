import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { startReady } from "../lib/ready_process.ts";
import { pngSize } from "./raster.ts";
import { MERGED_COLUMNS, mergedCell } from "../lib/merged_schema.ts";

const root = (p: string) => fileURLToPath(new URL(`../${p}`, import.meta.url));
const CHROMIUM = "/usr/bin/chromium";

async function run(args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), { args, stdout: "piped", stderr: "piped" })
    .output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test("deno task plot draws real bench runs against the simulated engine", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "plot_e2e_" });
  const sim = await startReady({
    cmd: Deno.execPath(),
    args: ["run", "-A", root("launch/sim/live/main.ts"), "--port", "0", "--speed", "100"],
    ready: /Starting vLLM API server 0 on (http:\/\/\S+)/,
  });
  try {
    const url = sim.match[1];
    const exp = join(tmp, "exp");
    const benches = [["agg", 10], ["agg", 30], ["pd", 10], ["pd", 30]].map(([topo, rate]) =>
      run([
        "run",
        "-A",
        root("bench/run.ts"),
        "--url",
        url,
        "--rate",
        String(rate),
        "--num-requests",
        "30",
        "--input-len",
        "64",
        "--output-len",
        "16",
        "--topology",
        String(topo),
        "--scrape-metrics",
        `${url}/metrics`,
        "--out",
        join(exp, `${topo}-r${rate}`),
      ])
    );
    for (const b of await Promise.all(benches)) assert.equal(b.code, 0, b.stderr);
    const res = await run(["run", "-A", root("plot/plot.ts"), exp, "--log-y"]);
    assert.equal(res.code, 0, res.stderr);
    const report = res.stdout.trim().split("\n").at(-1)!;
    assert.equal(report, join(exp, "report.html"));
    const wrote = [...res.stdout.matchAll(/^wrote (\S+)/gm)].map((m) => m[1]);
    for (const n of ["latency_ttft", "slo_rate", "ratio_p99_ttft", "cdf_ttft"]) {
      assert.ok(wrote.includes(n), `${n} in ${wrote.join(", ")}`);
      const png = await Deno.readFile(join(exp, "plots", `${n}.png`));
      assert.ok(pngSize(png).width > 600);
    }
    assert.ok(wrote.some((n) => n.startsWith("timeline_server_")), "server timeline from scrape");
    assert.match(res.stdout, /^skipped timeline_gpu: /m);
    const html = await Deno.readTextFile(report);
    for (const n of wrote) assert.ok(html.includes(`<figure id="${n}"`), `${n} in report`);
    assert.equal((html.match(/<svg/g) ?? []).length, wrote.length);
    assert.match(html, /<table>/);
    assert.doesNotMatch(html, /<script src=|<link /, "self-contained");
    if (await Deno.stat(CHROMIUM).then(() => true, () => false)) {
      const dom = await new Deno.Command(CHROMIUM, {
        args: ["--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", `file://${report}`],
        stdout: "piped",
        stderr: "null",
      }).output();
      const text = new TextDecoder().decode(dom.stdout);
      assert.equal((text.match(/<figure /g) ?? []).length, wrote.length);
    } else console.log(`skipped headless Chromium check: ${CHROMIUM} is not installed`);
  } finally {
    await sim.stop();
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("deno task plot names a missing directory, an empty one and a bad --format", async () => {
  const missing = await run(["run", "-A", root("plot/plot.ts"), "/nonexistent/exp"]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /Cannot read \/nonexistent\/exp as a run or experiment directory/);
  const empty = await Deno.makeTempDir({ prefix: "plot_empty_" });
  try {
    const r = await run(["run", "-A", root("plot/plot.ts"), empty]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /has no summary\.json/);
    const bad = await run(["run", "-A", root("plot/plot.ts"), empty, "--format", "gif"]);
    assert.match(bad.stderr, /Cannot use --format as png and\/or svg: current value is "gif"/);
  } finally {
    await Deno.remove(empty, { recursive: true });
  }
});

Deno.test("deno task plot draws TTFT per turn from merged.csv alone (no run directories)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "plot_turns_" });
  try {
    const row = (topology: string, turns: string, rate = 2) =>
      MERGED_COLUMNS.map((c) =>
        mergedCell(
          ({
            experiment: "x",
            topology,
            workload: "multiturn W1 t3",
            model: "m",
            load_point: String(rate),
            rate_target: rate,
            run_index: "mean",
            n_runs: 1,
            source: "topobench",
            simulated: true,
            complete: true,
            rate_achieved: 2,
            request_throughput: 2,
            mean_ttft_ms: 20,
            ttft_by_turn_ms: turns,
          } as Record<string, unknown>)[c],
        )
      ).join(",");
    const csv = [MERGED_COLUMNS.join(","), row("pd", "40;30;35"), row("ppd", "40;12;14")].join(
      "\n",
    );
    await Deno.writeTextFile(join(dir, "merged.csv"), csv + "\n");
    const r = await run([
      ...["run", "-A", root("plot/plot.ts"), join(dir, "merged.csv")],
      ...["--only", "ttft_per_turn", "--format", "svg"],
    ]);
    assert.equal(r.code, 0, r.stderr);
    const svg = await Deno.readTextFile(join(dir, "plots", "ttft_per_turn.svg"));
    assert.match(svg, /Multi-turn: mean TTFT per turn/);
    // rates searched per topology share no load: each one's own lowest and highest are drawn
    const apart = [MERGED_COLUMNS.join(","), row("pd", "40;30;35", 2), row("pd", "90;80;85", 5)]
      .concat([row("ppd", "40;12;14", 3), row("ppd", "70;22;24", 7)]).join("\n");
    await Deno.writeTextFile(join(dir, "merged.csv"), apart + "\n");
    const r2 = await run([
      ...["run", "-A", root("plot/plot.ts"), join(dir, "merged.csv")],
      ...["--only", "ttft_per_turn", "--format", "svg"],
    ]);
    assert.equal(r2.code, 0, r2.stderr);
    const svg2 = await Deno.readTextFile(join(dir, "plots", "ttft_per_turn.svg"));
    assert.match(svg2, /each topology's lowest and highest/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
