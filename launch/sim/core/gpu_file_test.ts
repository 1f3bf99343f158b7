import assert from "node:assert/strict";
import { EFFICIENCY_DEFAULTS, gpuFromYaml, PCIE_DEFAULT_GBPS } from "./gpu_file.ts";
import { loadGpu, loadModel } from "./profile_files.ts";
import { resolveGpu } from "./profiles.ts";

const FILE = "fixtures/gpus/b200.yaml";

Deno.test("the GPU YAML fixture loads with the built-in b200's figures", () => {
  const g = loadGpu(FILE);
  assert.equal(g.id, "b200-file");
  assert.equal(g.name, "NVIDIA B200 (from a file)");
  const b200 = resolveGpu("b200");
  for (
    const k of [
      "memGiB",
      "memBwGBps",
      "bf16Tflops",
      "fp8Tflops",
      "fp4Tflops",
      "gemmEfficiency",
      "attnEfficiency",
      "memEfficiency",
      "nvlinkGBps",
      "pcieGBps",
      "tdpW",
    ] as const
  ) assert.equal(g[k], b200[k], k);
  assert.match(g.source!, /_gpus_2025\.ts/);
  // an id still resolves as before
  assert.equal(loadGpu("h100"), resolveGpu("h100"));
});

Deno.test("a GPU file without efficiencies gets the documented defaults", () => {
  const g = gpuFromYaml(
    "name: My GPU\nmemory_gib: 48\nmemory_gbps: 960\nbf16_tflops: 181\n",
    "my.yaml",
  );
  assert.equal(g.id, "my.yaml");
  assert.equal(g.gemmEfficiency, EFFICIENCY_DEFAULTS.gemmEfficiency);
  assert.equal(g.attnEfficiency, EFFICIENCY_DEFAULTS.attnEfficiency);
  assert.equal(g.memEfficiency, EFFICIENCY_DEFAULTS.memEfficiency);
  assert.equal(g.pcieGBps, PCIE_DEFAULT_GBPS);
  assert.equal(g.fp8Tflops, 0);
  assert.equal(g.nvlinkGBps, 0);
  assert.equal(g.fp4Tflops, undefined);
});

Deno.test("a bad GPU file names the file and the field", () => {
  const base = "name: X\nmemory_gib: 48\nmemory_gbps: 960\nbf16_tflops: 181\n";
  assert.throws(() => gpuFromYaml(base.replace("960", "fast"), "g.yaml"), {
    name: "TypeError",
    message:
      'Cannot use memory_gbps in g.yaml as a number in (0, 1000000]: current value is "fast"',
  });
  assert.throws(
    () => gpuFromYaml(base + "hbm_gb: 48\n", "g.yaml"),
    /^RangeError: Cannot use hbm_gb in g\.yaml as a known key \(one of id, name, .*mem_efficiency\): current value is 48$/,
  );
  assert.throws(
    () => gpuFromYaml(base.replace("bf16_tflops: 181\n", ""), "g.yaml"),
    /Cannot use bf16_tflops in g\.yaml as a number in \(0, 1000000\]: current value is undefined/,
  );
  assert.throws(
    () => gpuFromYaml(base + "gemm_efficiency: 1.5\n", "g.yaml"),
    /^RangeError: Cannot use gemm_efficiency in g\.yaml as a number in \(0, 1\]: current value is 1\.5$/,
  );
  assert.throws(
    () => gpuFromYaml("name: [", "g.yaml"),
    /^SyntaxError: Cannot parse g\.yaml as YAML/,
  );
  assert.throws(
    () => gpuFromYaml("- 1\n", "g.yaml"),
    /^TypeError: Cannot use \(top level\) in g\.yaml/,
  );
  assert.throws(
    () => loadGpu("fixtures/gpus/none.yaml"),
    /^TypeError: Cannot read fixtures\/gpus\/none\.yaml as --gpu \(a GPU YAML file\): .*no such file/,
  );
  assert.throws(
    () => loadModel("fixtures/model_configs/none.json"),
    /^TypeError: Cannot read fixtures\/model_configs\/none\.json as --model-profile/,
  );
});
