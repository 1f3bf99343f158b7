import assert from "node:assert/strict";
import { join } from "node:path";
import { loadTokenizer } from "../../lib/tokenizer.ts";
import { ROOT } from "../_experiment.ts";
import { main } from "../predict.ts";

// its own file: the tokenizer is cached per process, and no other test here may build it
Deno.test("predict: random prompts and multi-turn chats never build the shipped tokenizer", async () => {
  const dir = await Deno.makeTempDir({ prefix: "topobench_predict_notok_" });
  try {
    const common = [
      "--topology",
      join(ROOT, "fixtures/topologies/sim_agg.yaml"),
      "--duration",
      "3",
      "--seed",
      "1",
      "--rate",
      "5",
    ];
    const chat = ["--endpoint", "/v1/chat/completions"];
    const runs = [
      ["--dataset", "random", "--input-len", "200", "--output-len", "16"],
      [
        "--dataset",
        "random",
        "--input-len",
        "200",
        "--output-len",
        "16",
        "--prefix-len",
        "30",
        ...chat,
      ],
      ["--dataset", "multiturn", "--preset", "W1", "--turns", "3", "--think-time", "100", ...chat],
    ];
    for (const [i, args] of runs.entries()) {
      assert.equal(await main([...common, ...args, "--out", join(dir, `r${i}`)]), 0);
    }
    assert.equal((await loadTokenizer()).built, false);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
