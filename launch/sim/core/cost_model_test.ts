import assert from "node:assert/strict";
import { CostModel, defaultLinkGBps, LINKS, type SeqWork } from "./cost_model.ts";
import { resolveGpu, resolveModel } from "./profiles.ts";
import { engineParts } from "./engine_parts.ts";
import { CONNECTOR_KV_COSTS, KvLink } from "./kv_link.ts";
import { SIM_FLAGS, simConfig } from "./sim_config.ts";
import { parseFlags } from "../../../lib/args.ts";

const H100 = resolveGpu("h100");
const A100 = resolveGpu("a100");
const LLAMA8B = resolveModel("meta-llama/Llama-3.1-8B-Instruct");

function decodes(n: number, ctx = 1024): SeqWork[] {
  return Array.from({ length: n }, () => ({ newTokens: 1, contextTokens: ctx }));
}

/** Attention's part of a prefill of `batch` from the first principles of the dense roofline. */
function attnMs(c: CostModel, batch: SeqWork[]): number {
  const m = c.model;
  const pairs = batch.reduce((a, w) => a + w.newTokens * (w.contextTokens + w.newTokens / 2), 0);
  const kvFp8 = c.kvDtype === "fp8" && c.gpu.fp8Tflops > 0;
  const peak = (kvFp8 ? c.gpu.fp8Tflops : c.gpu.bf16Tflops) * 1e9 * c.gpu.attnEfficiency;
  return 4 * m.layers * m.numHeads * m.headDim * pairs / c.tp / peak;
}

function near(actual: number, target: number, tol = 0.15): void {
  assert.ok(Math.abs(actual / target - 1) <= tol, `${actual} not within ${tol} of ${target}`);
}

Deno.test("H100 x Llama-3.1-8B matches the published calibration points (../shared/calibration)", () => {
  const c = new CostModel({ gpu: H100, model: LLAMA8B });
  // L-H100: median TPOT 7.56 ms with 10 sequences of a few hundred tokens
  near(c.stepMs(decodes(10, 300)), 7.56);
  // PPD-floor: single-request TTFT 98.6 ms at ~4,116 new tokens, 30.2 ms at ~277
  near(c.frontendMs(4116) + c.stepMs([{ newTokens: 4116, contextTokens: 0 }]), 98.6);
  near(c.frontendMs(277) + c.stepMs([{ newTokens: 277, contextTokens: 0 }]), 30.2);
  // A100 (L-A100): median TPOT 12.01 ms
  near(new CostModel({ gpu: A100, model: LLAMA8B }).stepMs(decodes(10, 300)), 12.01);
  assert.equal(c.kvBytesPerToken, 128 * 1024);
});

Deno.test("breakdown adds up to stepMs: one kind of work is a roofline max, a mixed step a sum", () => {
  const c = new CostModel({ gpu: H100, model: LLAMA8B, tp: 2 });
  const prefill = { newTokens: 512, contextTokens: 1024 };
  const rest = (b: ReturnType<typeof c.breakdown>) => b.kvReadMs + b.commMs + b.overheadMs;
  for (const batch of [decodes(10, 3000), [prefill]]) {
    const b = c.breakdown(batch);
    assert.ok(Math.abs(b.totalMs - (Math.max(b.weightMs, b.computeMs) + rest(b))) < 1e-9);
  }
  const mixed = [...decodes(10, 3000), prefill];
  const b = c.breakdown(mixed);
  const p = c.breakdown([prefill]), d = c.breakdown(decodes(10, 3000));
  // the prefill's compute plus the decodes' weight read: more than either alone
  assert.ok(
    Math.abs(b.totalMs - (p.computeMs + Math.max(d.weightMs, d.computeMs) + rest(b))) < 1e-9,
  );
  assert.ok(b.totalMs > Math.max(p.totalMs, d.totalMs));
  assert.ok(b.commMs > 0 && b.kvReadMs > 0);
  assert.equal(c.stepMs(mixed), c.stepMs(mixed));
  assert.equal(c.stepMs([]), 0);
});

Deno.test("fp8 weights halve weight bytes and use the FP8 peak, KV stays BF16 unless kvDtype fp8; A100 has no FP8", () => {
  const bf = new CostModel({ gpu: H100, model: LLAMA8B });
  const f8 = new CostModel({ gpu: H100, model: LLAMA8B, dtype: "fp8" });
  // vLLM keeps the KV cache in the model's dtype unless --kv-cache-dtype says fp8
  assert.equal(f8.kvBytesPerToken, bf.kvBytesPerToken);
  near(f8.breakdown(decodes(1)).weightMs, bf.breakdown(decodes(1)).weightMs / 2, 1e-9);
  const big = [{ newTokens: 4096, contextTokens: 0 }];
  // the GEMMs at the FP8 peak (1,979 vs 2 x 989), attention at BF16's: it multiplies the BF16 KV
  const linear = (c: CostModel) => c.breakdown(big).computeMs - attnMs(c, big);
  near(linear(f8), linear(bf) / 2, 1e-3);
  near(attnMs(f8, big), attnMs(bf, big), 1e-9);
  // FP8 weights free half the weight memory for KV; an FP8 KV cache halves each block
  assert.ok(f8.numGpuBlocks(0.9, 16) > bf.numGpuBlocks(0.9, 16));
  const kv8 = new CostModel({ gpu: H100, model: LLAMA8B, dtype: "fp8", kvDtype: "fp8" });
  assert.equal(kv8.kvBytesPerToken, bf.kvBytesPerToken / 2);
  assert.ok(kv8.numGpuBlocks(0.9, 16) > 2 * bf.numGpuBlocks(0.9, 16));
  near(kv8.breakdown(decodes(8, 4096)).kvReadMs, bf.breakdown(decodes(8, 4096)).kvReadMs / 2, 1e-9);
  near(attnMs(kv8, big), attnMs(bf, big) / 2, 1e-3); // attention on an FP8 KV cache: FP8 peak
  // an FP8 KV cache needs no FP8 tensor cores (vLLM converts it on Ampere)
  assert.equal(new CostModel({ gpu: A100, model: LLAMA8B, kvDtype: "fp8" }).kvDtype, "fp8");
  assert.throws(
    () => new CostModel({ gpu: A100, model: LLAMA8B, dtype: "fp8" }),
    /Cannot use dtype fp8 on a100/,
  );
});

Deno.test("frontend floor: a fixed part plus tokenisation per prompt token", () => {
  const c = new CostModel({ gpu: H100, model: LLAMA8B, requestFloorMs: 10, tokenizeUsPerToken: 2 });
  assert.equal(c.frontendMs(0), 10);
  assert.equal(c.frontendMs(1000), 12);
  assert.throws(() => new CostModel({ gpu: H100, model: LLAMA8B, requestFloorMs: -1 }), RangeError);
});

Deno.test("step time grows with batch size, context and prefill tokens", () => {
  const c = new CostModel({ gpu: H100, model: LLAMA8B });
  let prev = 0;
  for (const n of [1, 2, 4, 8, 16, 32, 64, 128, 256]) {
    const ms = c.stepMs(decodes(n));
    assert.ok(ms > prev, `batch ${n}: ${ms} <= ${prev}`);
    prev = ms;
  }
  prev = 0;
  for (const ctx of [0, 512, 2048, 8192, 32768]) {
    const ms = c.stepMs(decodes(32, ctx));
    assert.ok(ms > prev, `ctx ${ctx}: ${ms} <= ${prev}`);
    prev = ms;
  }
  prev = 0;
  for (const n of [16, 256, 1024, 2048, 4096, 8192]) {
    const ms = c.stepMs([...decodes(8), { newTokens: n, contextTokens: 0 }]);
    assert.ok(ms > prev, `prefill ${n}: ${ms} <= ${prev}`);
    prev = ms;
  }
  // A later chunk of the same prompt costs more than the first (it attends to more).
  assert.ok(
    c.stepMs([{ newTokens: 2048, contextTokens: 6144 }]) >
      c.stepMs([{ newTokens: 2048, contextTokens: 0 }]),
  );
});

Deno.test("tp=2 runs a large prefill faster per step than tp=1", () => {
  const one = new CostModel({ gpu: H100, model: LLAMA8B });
  const two = new CostModel({ gpu: H100, model: LLAMA8B, tp: 2 });
  for (const n of [2048, 8192]) {
    const batch = [{ newTokens: n, contextTokens: 0 }];
    assert.ok(two.stepMs(batch) < one.stepMs(batch));
    assert.ok(two.breakdown(batch).commMs > 0);
  }
  // Over PCIe only (L40S) all-reduces cost more than over NVLink.
  const l40s = new CostModel({ gpu: resolveGpu("l40s"), model: LLAMA8B, tp: 2 });
  const batch = [{ newTokens: 2048, contextTokens: 0 }];
  assert.ok(l40s.breakdown(batch).commMs > two.breakdown(batch).commMs);
});

Deno.test("A100 is slower than H100, H200 faster, TinyLlama faster than Llama-8B", () => {
  const h100 = new CostModel({ gpu: H100, model: LLAMA8B });
  const a100 = new CostModel({ gpu: A100, model: LLAMA8B });
  const h200 = new CostModel({ gpu: resolveGpu("h200"), model: LLAMA8B });
  const tiny = new CostModel({ gpu: H100, model: resolveModel("tinyllama-1.1b") });
  for (const batch of [decodes(1), decodes(64), [{ newTokens: 2048, contextTokens: 0 }]]) {
    assert.ok(a100.stepMs(batch) > h100.stepMs(batch));
    assert.ok(tiny.stepMs(batch) < h100.stepMs(batch));
  }
  assert.ok(h200.stepMs(decodes(64)) < h100.stepMs(decodes(64)));
});

Deno.test("numGpuBlocks is plausible for H100 x Llama-3.1-8B and scales", () => {
  const c = new CostModel({ gpu: H100, model: LLAMA8B });
  const blocks = c.numGpuBlocks(0.9, 16);
  assert.ok(blocks >= 25_000 && blocks <= 32_000, String(blocks));
  assert.ok(c.numGpuBlocks(0.95, 16) > blocks);
  assert.ok(Math.abs(c.numGpuBlocks(0.9, 32) - blocks / 2) <= 1);
  const tp2 = new CostModel({ gpu: H100, model: LLAMA8B, tp: 2 });
  assert.ok(tp2.numGpuBlocks(0.9, 16) > 2 * blocks);
  const a40 = new CostModel({ gpu: resolveGpu("a100-40gb"), model: LLAMA8B });
  assert.ok(a40.numGpuBlocks(0.9, 16) < blocks);
  assert.throws(() => c.numGpuBlocks(0.2, 16), RangeError);
  assert.throws(() => c.numGpuBlocks(1.2, 16), RangeError);
  assert.throws(() => c.numGpuBlocks(0.9, 0), RangeError);
});

Deno.test("KV heads are replicated when tp exceeds them", () => {
  const vl = resolveModel("qwen2.5-vl-3b");
  const c = new CostModel({ gpu: H100, model: vl, tp: 4 });
  assert.equal(c.kvBytesPerTokenPerRank, vl.kvBytesPerToken / vl.numKvHeads);
  assert.throws(() => new CostModel({ gpu: H100, model: LLAMA8B, tp: 3 }), RangeError);
  assert.throws(() => new CostModel({ gpu: H100, model: LLAMA8B, tp: 0 }), RangeError);
});

Deno.test("encoder cost grows with image tokens and is 0 without vision", () => {
  const vl = new CostModel({ gpu: H100, model: resolveModel("qwen2.5-vl-3b") });
  const v = vl.model.vision!;
  let prev = 0;
  for (const px of [224, 448, 896, 1344]) {
    const ms = vl.encoderMs([v.tokensPerImage(px, px)]);
    assert.ok(ms > prev, `${px}px: ${ms} <= ${prev}`);
    prev = ms;
  }
  assert.ok(vl.encoderMs([1024, 1024]) > vl.encoderMs([1024]));
  assert.equal(vl.encoderMs([]), 0);
  const text = new CostModel({ gpu: H100, model: LLAMA8B });
  assert.equal(text.encoderMs([1024]), 0);
  assert.throws(() => vl.encoderMs([-1]), RangeError);
});

Deno.test("kvTransferMs follows bytes over bandwidth plus latency", () => {
  const c = new CostModel({ gpu: H100, model: LLAMA8B });
  const rdma = defaultLinkGBps("rdma");
  const ms = c.kvTransferMs(4096, rdma, 0);
  assert.ok(Math.abs(ms - (4096 * c.kvBytesPerToken) / (rdma * 1e6)) < 1e-9);
  assert.ok(c.kvTransferMs(8192, rdma) > c.kvTransferMs(4096, rdma));
  assert.ok(c.kvTransferMs(4096, defaultLinkGBps("nvlink")) < c.kvTransferMs(4096, rdma));
  assert.equal(c.kvTransferMs(4096, rdma, 2) - c.kvTransferMs(4096, rdma, 0), 2);
  assert.equal(c.kvTransferMs(0, rdma), 0);
  assert.throws(() => c.kvTransferMs(10, 0), RangeError);
  for (const l of Object.values(LINKS)) assert.ok(l.effectiveGBps <= l.peakGBps);
  assert.throws(() => defaultLinkGBps("smoke" as "rdma"), RangeError);
});

Deno.test("bad inputs are rejected", () => {
  const c = new CostModel({ gpu: H100, model: LLAMA8B });
  assert.throws(() => c.stepMs([{ newTokens: 0, contextTokens: 0 }]), RangeError);
  assert.throws(() => c.stepMs([{ newTokens: 1, contextTokens: -1 }]), RangeError);
  assert.throws(() => c.stepMs([{ newTokens: 1.5, contextTokens: 0 }]), RangeError);
  assert.throws(() => new CostModel({ gpu: H100, model: LLAMA8B, memEfficiency: 0 }), RangeError);
  assert.throws(() => new CostModel({ gpu: H100, model: LLAMA8B, stepOverheadMs: -1 }), RangeError);
});

Deno.test("sim flags: --quantization fp8, --kv-cache-dtype and --request-floor-ms reach the cost model", () => {
  const parts = (args: string[]) => engineParts(simConfig(parseFlags(args, SIM_FLAGS).values));
  const p = parts(["--quantization", "fp8", "--request-floor-ms", "5"]);
  assert.equal(p.cost.dtype, "fp8");
  assert.equal(p.cost.frontendMs(0), 5);
  assert.equal(parts([]).cost.dtype, "bf16");
  assert.throws(() => parts(["--quantization", "int3"]), /--quantization.*one of fp8/);
  assert.equal(p.cost.kvDtype, "bf16"); // --kv-cache-dtype auto: BF16 also for FP8 weights
  assert.equal(parts(["--kv-cache-dtype", "fp8_e4m3"]).cost.kvDtype, "fp8");
  assert.throws(() => parts(["--kv-cache-dtype", "int4"]), /--kv-cache-dtype.*one of auto/);
  assert.throws(
    () => parts(["--quantization", "fp8", "--gpu", "a100"]),
    /Cannot use dtype fp8 on a100/,
  );
});

Deno.test("KV transfer costs per connector: link, latency and per-block cost, flags override", () => {
  const cfg = (args: string[]) => simConfig(parseFlags(args, SIM_FLAGS).values);
  const conn = (name: string) => ["--kv-transfer-config", JSON.stringify({ kv_connector: name })];
  const nixl = cfg(conn("NixlConnector"));
  assert.deepEqual([nixl.kvLinkGBps, nixl.kvLatencyMs, nixl.kvPerBlockUs], [
    defaultLinkGBps("nvlink"),
    CONNECTOR_KV_COSTS.NixlConnector.latencyMs,
    CONNECTOR_KV_COSTS.NixlConnector.perBlockUs,
  ]);
  const lm = cfg(conn("LMCacheConnectorV1"));
  assert.equal(lm.kvLinkGBps, defaultLinkGBps("pcie"));
  const tcp = cfg([...conn("P2pNcclConnector"), "--kv-link", "tcp", "--kv-latency-ms", "9"]);
  assert.deepEqual([tcp.kvLinkGBps, tcp.kvLatencyMs], [defaultLinkGBps("tcp"), 9]);
  // per-block cost: 1,000 tokens = 63 blocks of 16
  const link = new KvLink(new CostModel({ gpu: H100, model: LLAMA8B }), 10, 1, 20);
  const wire = link.cost.kvTransferMs(1000, 10, 0);
  assert.ok(Math.abs(link.aloneMs(1000) - (wire + 1 + 63 * 0.02)) < 1e-9);
  assert.ok(Math.abs(link.book(0, 1000) - link.aloneMs(1000)) < 1e-9);
});
