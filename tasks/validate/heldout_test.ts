import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { ROOT } from "../_experiment.ts";
import { runDeno } from "../_run_deno.ts";
import type { Validation } from "./validation.ts";

/** A held-out recorded run (not in ../shared): fixtures/validate/heldout/README.md. */
const RTX4090 = join(ROOT, "fixtures/validate/heldout/RTX4090_Llama-3.1-8B");

/** `deno task validate ARGS` from the checkout, as a user runs it. */
const validate = (...args: string[]) => runDeno(["task", "-q", "validate", ...args]);

Deno.test("validate: the held-out RTX 4090 run replays on its own GPU profile with its recorded KV cache", async () => {
  const dir = await Deno.makeTempDir({ prefix: "topobench_heldout_" });
  try {
    const r = await validate(RTX4090, "--out", dir);
    assert.equal(r.code, 0, r.stderr);
    // the folder name's RTX4090 has a profile: simulated on it, not on the a100 fallback
    assert.match(r.stdout, /--gpu rtx-4090\)/);
    assert.match(r.stdout, /note: same GPU: NVIDIA GeForce RTX 4090/);
    assert.match(
      r.stdout,
      /KV cache as recorded \(meta\.json kv_cache\): 2588 blocks of 16 tokens/,
    );
    const topology = await Deno.readTextFile(join(dir, "topology.yaml"));
    assert.match(
      topology,
      /- --block-size\n\s+- "16"\n\s+- --num-gpu-blocks-override\n\s+- "2588"/,
    );

    const v: Validation = JSON.parse(await Deno.readTextFile(join(dir, "validation.json")));
    assert.equal(v.hardwareDiffers, false);
    assert.equal(v.recorded.maxNumSeqs, 256);
    assert.equal(v.simulated.requests, 300);
    assert.equal(v.simulated.failed, 0);
    // the real column agrees with LLMServingSim's own vLLM column for this run
    // (bench/examples/RTX4090/Llama-3.1-8B/validation/summary.txt @5daddb2)
    const real = (m: keyof Validation["metrics"], q: "mean" | "p50" | "p90") =>
      Math.round(v.metrics[m].real[q]! * 10) / 10;
    assert.deepEqual([real("ttftMs", "mean"), real("ttftMs", "p50"), real("ttftMs", "p90")], [
      65456.6,
      60110.9,
      121121.7,
    ]);
    assert.deepEqual([real("tpotMs", "mean"), real("e2eMs", "mean"), real("e2eMs", "p90")], [
      32.4,
      86578.3,
      141600.9,
    ]);
    for (const m of ["ttftMs", "tpotMs", "e2eMs"] as const) {
      assert.ok(Number.isFinite(v.metrics[m].errorPct.mean), m);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("validate --model-profile: the held-out DeepSeek-V3.2 run replays from its config.json with its recorded FP8 and KV cache", async () => {
  const folder = join(ROOT, "fixtures/validate/heldout/RTXPRO6000_DeepSeek-V3.2-Exp-16L64E");
  const config = join(folder, "deepseek-ai__DeepSeek-V3.2-Exp-16L64E.json");
  const dir = await Deno.makeTempDir({ prefix: "topobench_heldout_" });
  try {
    const r = await validate(folder, "--model-profile", config, "--out", dir);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /--gpu rtx-pro-6000\), model profile .*DeepSeek-V3\.2-Exp-16L64E\.json/);
    assert.match(r.stdout, /note: weights quantized as recorded: fp8/);
    const topology = await Deno.readTextFile(join(dir, "topology.yaml"));
    assert.match(topology, /- --quantization\n\s+- fp8/);
    // kv_cache_dtype auto: the KV cache stays BF16 beside the FP8 weights, as in vLLM
    assert.doesNotMatch(topology, /--kv-cache-dtype/);
    assert.match(topology, /- --num-gpu-blocks-override\n\s+- "49181"/);
    assert.match(topology, new RegExp(`model_profile: ${config.replace(/[.]/g, "\\.")}`));
    const v: Validation = JSON.parse(await Deno.readTextFile(join(dir, "validation.json")));
    assert.equal(v.simulated.requests, 300);
    assert.equal(v.simulated.failed, 0);
    // the real TPOT column agrees with LLMServingSim's summary.txt for this run (@0d3de68)
    assert.equal(Math.round(v.metrics.tpotMs.real.mean! * 10) / 10, 55.7);
    assert.equal(Math.round(v.metrics.tpotMs.real.p90! * 10) / 10, 71.1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("validate: a held-out A40 client request log replays with --model, --tp and --vllm-version", async () => {
  const log = join(
    ROOT,
    "fixtures/validate/heldout/A40_Llama-3.1-8B-TP2-NVLink/vllm_a40_tp2_nvlink_results.jsonl",
  );
  const dir = await Deno.makeTempDir({ prefix: "topobench_heldout_" });
  try {
    // its folder, which holds the one log: validate takes the log
    const r = await validate(
      dirname(log),
      ...["--model", "meta-llama/Llama-3.1-8B", "--tp", "2", "--gpu", "a40"],
      ...["--real-gpu", "A40", "--vllm-version", "0.8.4", "--out", dir],
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      /vllm_a40_tp2_nvlink_results\.jsonl \[client-jsonl\] \(meta-llama\/Llama-3\.1-8B, vLLM 0\.8\.4, TP 2,/,
    );
    assert.match(r.stdout, /note: same GPU: NVIDIA A40/);
    assert.match(r.stdout, /note: vLLM version from the command line: 0\.8\.4/);
    // vLLM 0.8.4 predates async scheduling (0.12): the replay schedules synchronously
    const topology = await Deno.readTextFile(join(dir, "topology.yaml"));
    assert.doesNotMatch(topology, /--async-scheduling/);
    assert.match(topology, /gpus:\n\s+- - 0\n\s+- 1\n/);
    const v: Validation = JSON.parse(await Deno.readTextFile(join(dir, "validation.json")));
    assert.equal(v.recorded.format, "client-jsonl");
    assert.equal(v.simulated.requests, 100);
    assert.equal(v.simulated.failed, 0);
    // the real column agrees with the run's own report (ai-computing/LLMServingSim
    // validation/HETEROGENEOUS_NETWORK_REPORT_KO.md section 4.6: TTFT p50 49.7, TPOT p50 22.60)
    assert.equal(Math.round(v.metrics.tpotMs.real.p50!), 23);
    assert.ok(Math.abs(v.metrics.ttftMs.real.p50! - 49.7) < 0.5);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
