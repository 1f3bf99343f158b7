import assert from "node:assert/strict";
import { join } from "node:path";
import { ROOT } from "../_experiment.ts";
import { LIVE_ONLY, main } from "../predict.ts";
import { BENCH_FLAGS } from "../../bench/bench_config.ts";
import { PIPELINE_FLAGS } from "../pipeline.ts";

async function help(): Promise<string> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", join(ROOT, "tasks/predict.ts"), "--help"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0);
  return new TextDecoder().decode(out.stdout);
}

Deno.test("predict --help lists the workload flags of virtual time and no live-only flag", async () => {
  const text = await help();
  const listed = new Set([...text.matchAll(/^ {2}(?:-\w, )?--([a-z-]+)/gm)].map((m) => m[1]));
  const workload = ["topology", "rate", "duration", "num-requests", "dataset", "turns", "slo"];
  for (const f of [...workload, "image-size", "images-per-request"]) {
    assert.ok(listed.has(f), `--${f} is missing from predict --help`);
  }
  for (const f of ["url", "timeout", "platform", "clock", "engine", "stream", "gpu-monitor"]) {
    assert.ok(LIVE_ONLY.has(f), `--${f} should be live-only`);
  }
  for (const f of LIVE_ONLY) assert.ok(!listed.has(f), `predict --help lists live-only --${f}`);
  assert.match(text, /random-mm/, "images run in virtual time");
});

Deno.test("predict refuses every live-only flag by name and says it belongs to deno task bench", async () => {
  const topo = join(ROOT, "fixtures/topologies/sim_agg.yaml");
  const flags = { ...PIPELINE_FLAGS, ...BENCH_FLAGS } as Record<string, { type: string }>;
  for (const f of LIVE_ONLY) {
    const value = flags[f]?.type === "boolean" ? [] : ["1"];
    await assert.rejects(
      () => main(["--topology", topo, "--rate", "1", "--duration", "1", `--${f}`, ...value]),
      new RegExp(`Cannot use --${f} with deno task predict.*applies to live runs.*deno task bench`),
      `--${f}`,
    );
  }
});

Deno.test("predict with an experiment file refuses bench workload flags instead of ignoring them", async () => {
  const exp = join(ROOT, "tasks/experiments/demo.yaml");
  await assert.rejects(
    () => main([exp, "--rate", "5"]),
    /Cannot use --rate with an experiment file: current value is "5"; the file sets it \(sweep\.rates/,
  );
  await assert.rejects(
    () => main([exp, "--duration", "5"]),
    /Cannot use --duration with an experiment file.*workload: \{ duration: … \}/,
  );
});
