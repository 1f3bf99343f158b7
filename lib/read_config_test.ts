/**
 * Configuration inputs over 16 MiB are refused at once, naming the file, its
 * size and the limit: `up` (a topology), `bench --config` (a workload) and the
 * pipeline (an experiment) as processes, and the reader on a device that never ends.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { CONFIG_MAX_BYTES, readConfigText } from "./read_config.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

/** `head` followed by YAML comment lines up to 17 MiB: valid YAML, too big. */
async function bigYaml(path: string, head: string): Promise<void> {
  const line = "#" + "x".repeat(1023) + "\n";
  await Deno.writeTextFile(path, head + line.repeat(17 * 1024));
}

async function run(args: string[], cwd = ROOT) {
  const o = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", ...args],
    cwd,
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: o.code, err: new TextDecoder().decode(o.stderr) };
}

const SIZE = /current value is 17\.0 MiB \(\d+ bytes\); allowed: at most 16 MiB/;

Deno.test("up, bench --config and the pipeline refuse a 17 MiB config file by its size", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "read_config_" });
  try {
    const topo = join(tmp, "big_topology.yaml");
    await bigYaml(topo, await Deno.readTextFile(join(ROOT, "fixtures/topologies/sim_agg.yaml")));
    const up = await run([
      "launch/up.ts",
      topo,
      "--dry-run",
      "--state-dir",
      join(tmp, "state"),
    ]);
    assert.equal(up.code, 1, up.err);
    assert.match(
      up.err,
      new RegExp(`Cannot read .*big_topology\\.yaml as a topology file: ${SIZE.source}`),
    );
    const work = join(tmp, "big_workload.yaml");
    await bigYaml(work, "num-requests: 1\n");
    const bench = await run([
      "bench/run.ts",
      ...["--url", "http://127.0.0.1:9", "--config", work, "--out", join(tmp, "b")],
    ]);
    assert.equal(bench.code, 1, bench.err);
    assert.match(
      bench.err,
      new RegExp(`Cannot read .*big_workload\\.yaml as a workload file: ${SIZE.source}`),
    );
    const exp = join(tmp, "big_exp.yaml");
    await bigYaml(exp, "name: big\n");
    const pipe = await run(["tasks/pipeline.ts", exp, "--out", join(tmp, "r"), "--no-plot"]);
    assert.equal(pipe.code, 1, pipe.err);
    assert.match(
      pipe.err,
      new RegExp(`Cannot read .*big_exp\\.yaml as an experiment file: ${SIZE.source}`),
    );
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("readConfigText: a file that never ends stops at the limit", async () => {
  await assert.rejects(
    () => readConfigText("/dev/zero", "a topology file", 1024 * 1024),
    /Cannot read \/dev\/zero as a topology file: current value is over 1 MiB/,
  );
  assert.equal(CONFIG_MAX_BYTES, 16 * 1024 * 1024);
});
