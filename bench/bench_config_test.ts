import { parseSlo } from "../lib/metrics.ts";
import assert from "node:assert/strict";
import { parseFlags } from "../lib/args.ts";
import { flagsWithoutDefaults, resolveBenchConfig, valuesFromFile } from "./bench_config.ts";

const parse = (args: string[]) => parseFlags(args, flagsWithoutDefaults()).values;

Deno.test("vLLM spellings are aliases and defaults apply", () => {
  const c = resolveBenchConfig(parse([
    "--base-url",
    "http://h:8000/",
    "--request-rate",
    "7.5",
    "--num-prompts",
    "10",
    "--random-input-len",
    "100",
    "--random-output-len",
    "20",
    "--max-concurrency",
    "3",
    "--burstiness",
    "0.5",
  ]));
  assert.equal(c.url, "http://h:8000");
  assert.equal(c.rateRps, 7.5);
  assert.equal(c.numRequests, 10);
  assert.equal(c.dataset.inputLen, 100);
  assert.equal(c.dataset.outputLen, 20);
  assert.equal(c.concurrency, 3);
  assert.equal(c.arrival, "gamma");
  assert.equal(c.endpoint, "/v1/completions");
  assert.equal(c.timeoutS, 300);
});

Deno.test("the workload file is overridden by flags; unknown keys are refused", () => {
  const file = valuesFromFile(
    { url: "http://f:1", rate: 5, duration: 10, input_len: 64, dataset: "multiturn", preset: "W2" },
    "w.yaml",
  );
  const c = resolveBenchConfig(parse(["--rate", "9"]), file);
  assert.equal(c.url, "http://f:1");
  assert.equal(c.rateRps, 9);
  assert.equal(c.durationS, 10);
  assert.equal(c.dataset.inputLen, 64);
  assert.equal(c.dataset.outputLen, 128);
  assert.throws(() => valuesFromFile({ rtae: 5 }, "w.yaml"), /Cannot use rtae in w.yaml/);
});

Deno.test("bad combinations and values fail with the flag named", () => {
  const base = ["--url", "http://h:1"];
  assert.throws(() => resolveBenchConfig(parse(["--rate", "5"])), /--url/);
  assert.throws(() => resolveBenchConfig(parse([...base, "--rate", "5"])), /--duration/);
  assert.throws(() => resolveBenchConfig(parse([...base, "--duration", "5"])), /--rate/);
  assert.throws(
    () => resolveBenchConfig(parse([...base, "--num-requests", "2.5"])),
    /--num-requests as an integer/,
  );
  assert.throws(
    () => resolveBenchConfig(parse([...base, "--num-requests", "5", "--dataset", "sharegpt"])),
    /--dataset-path/,
  );
  assert.throws(
    () => resolveBenchConfig(parse([...base, "--num-requests", "5", "--ramp", "linear"])),
    /--ramp-to/,
  );
  assert.throws(() => parse([...base, "--rate", "1", "--request-rate", "2"]), /given once/);
  assert.deepEqual(parseSlo("ttft:200,tpot:20"), { ttftMs: 200, tpotMs: 20 });
  assert.throws(() => parseSlo("ttft=200"), /--slo/);
});

Deno.test("predecessor suites' spellings: --sample-prompts-file, --outdir, --prompt-dist, --warmup 30s", () => {
  const c = resolveBenchConfig(parse([
    ...["--url", "http://h:1", "--num-prompts", "5"],
    ...["--sample-prompts-file", "prompts.txt", "--outdir", "results/x/y", "--warmup", "30s"],
  ]));
  assert.deepEqual([c.dataset.name, c.dataset.path, c.out], [
    "prompts-file",
    "prompts.txt",
    "results/x/y",
  ]);
  assert.deepEqual([c.warmup, c.warmupS], [0, 30]);
  const d = resolveBenchConfig(parse([
    ...["--url", "http://h:1", "--num-prompts", "5"],
    ...["--prompt-dist", "uniform", "--min-tokens", "32", "--max-tokens", "128"],
  ]));
  assert.deepEqual(d.dataset.inputDist, { kind: "uniform", min: 32, max: 128 });
  assert.throws(
    () =>
      resolveBenchConfig(parse([
        ...["--url", "http://h:1", "--num-prompts", "5", "--dataset", "sharegpt"],
        ...["--sample-prompts-file", "p.txt"],
      ])),
    /--sample-prompts-file.*absent with a --dataset other than prompts-file/,
  );
});

Deno.test("classes: from the workload file or --class; a class's own options over the shared ones", () => {
  const file = valuesFromFile({
    url: "http://h:1",
    duration: 10,
    "output-len": 64,
    classes: [
      { name: "text", rate: 30, "input-len": 256 },
      { name: "mm", rate: 20, dataset: "random-mm", "images-per-request": 2 },
    ],
  }, "w.yaml");
  const c = resolveBenchConfig(parse(["--endpoint", "/v1/chat/completions"]), file);
  assert.deepEqual(c.classes.map((x) => [x.name, x.cfg.rateRps, x.cfg.dataset.name]), [
    ["text", 30, "random"],
    ["mm", 20, "random-mm"],
  ]);
  assert.equal(c.rateRps, 50);
  assert.equal(c.classes[1].cfg.dataset.outputLen, 64); // shared
  assert.throws(
    () =>
      resolveBenchConfig(
        parse(["--url", "http://h:1", "--duration", "5", "--class", "a:rate=5,url=x"]),
      ),
    /--class a.*flag=value with a flag of rate/,
  );
  assert.throws(
    () =>
      resolveBenchConfig(
        parse(["--url", "http://h:1", "--duration", "5", "--class", "a:input-len=5"]),
      ),
    /In --class a: Cannot use --rate as a finite rate/,
  );
});

Deno.test("--platform kubernetes: replicas, namespace, image; the combinations it cannot run are refused", () => {
  const base = ["--url", "http://r.llm.svc.cluster.local:10001", "--duration", "5"];
  const c = resolveBenchConfig(parse([
    ...base,
    ...["--rate", "8", "--platform", "kubernetes", "--replicas", "4", "--namespace", "load"],
  ]));
  assert.deepEqual(c.kubernetes, {
    replicas: 4,
    namespace: "load",
    image: "denoland/deno:2.9.6",
  });
  assert.equal(resolveBenchConfig(parse([...base, "--rate", "8"])).kubernetes, undefined);
  const k8s = [...base, "--platform", "kubernetes"];
  assert.throws(
    () => resolveBenchConfig(parse([...base, "--rate", "8", "--replicas", "2"])),
    /--replicas.*given only with --platform kubernetes/,
  );
  assert.throws(
    () => resolveBenchConfig(parse([...base, "--rate", "8", "--namespace", "load"])),
    /--namespace.*given only with --platform kubernetes/,
  );
  assert.throws(
    () => resolveBenchConfig(parse([...k8s, "--rate", "inf", "--num-requests", "9"])),
    /--rate as a finite rate with --platform kubernetes/,
  );
  assert.throws(
    () => resolveBenchConfig(parse([...k8s, "--rate", "8", "--concurrency", "4"])),
    /--concurrency as absent with --platform kubernetes/,
  );
  assert.throws(
    () => resolveBenchConfig(parse([...k8s, "--rate", "8", "--workers", "local"])),
    /--workers/,
  );
  assert.throws(
    () => resolveBenchConfig(parse([...k8s, "--rate", "8", "--gpu-monitor"])),
    /--gpu-monitor/,
  );
  assert.throws(
    () => resolveBenchConfig(parse([...k8s, "--rate", "8", "--replicas", "0"])),
    /--replicas/,
  );
  assert.throws(
    () => resolveBenchConfig(parse([...base, "--rate", "8", "--platform", "k8s"])),
    /--platform/,
  );
  // this machine's files go to the pods with the bench (bench/_k8s_job.ts podFiles)
  const files = resolveBenchConfig(parse([
    ...k8s,
    ...["--rate", "8", "--dataset", "sharegpt", "--dataset-path", "/data/sg.json"],
  ]));
  assert.equal(files.kubernetes?.replicas, 1);
});

Deno.test("--out must end in a plain name: it names the run directory", () => {
  const base = ["--url", "http://h:1", "--num-requests", "5"];
  for (const out of ["results/exp/..", "results/.hidden", "results/exp/a b"]) {
    assert.throws(
      () => resolveBenchConfig(parse([...base, "--out", out])),
      /Cannot use ".*" as a run label \(field --out, its last part\): .*allowed: letters, digits, \. _ -/,
      out,
    );
  }
  assert.equal(
    resolveBenchConfig(parse([...base, "--out", "results/exp/agg-r1.5"])).out,
    "results/exp/agg-r1.5",
  );
});
