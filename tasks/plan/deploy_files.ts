/**
 * What `deno task plan` writes to deploy and verify its recommendation: the
 * winner's topology file as the sim ran it (`recommended.yaml`), the same
 * deployment on real vLLM (`recommended_vllm.yaml`), its Kubernetes manifests
 * (`recommended_k8s.yaml`, what `up --set platform=kubernetes` applies), and
 * the commands that bring it up and measure it at 80% and 100% of the
 * predicted capacity on a GPU host and on a cluster (a bench Job), then
 * replay the measurement (`deno task validate`).
 *
 * @module
 */
import { join } from "node:path";
import { parse as parseYaml, stringify } from "yaml";
import { writeFileAtomic } from "../../lib/write_file.ts";
import { shellQuote } from "../../launch/_launch.ts";
import { prepare } from "../../launch/up.ts";
import { clusterObjects } from "../../launch/k8s/cluster.ts";
import { kubernetesPlan, manifestsYaml } from "../../launch/k8s/manifests.ts";
import { applySets, parseSet, type TopologySet } from "../../launch/topology_set.ts";
import { flagArgs } from "../_bench_cmd.ts";
import { roundRate } from "../../lib/slo_search.ts";

/** Commands that deploy and measure the recommendation, by where they run. */
export interface VerifyCommands {
  /** A GPU host: up, bench at 80% and 100% of capacity, validate, down. */
  gpu_host: string[];
  /** A cluster: up with `platform=kubernetes`, a bench Job of `replicas` pods per rate, down. */
  kubernetes: string[];
}

/**
 * The recommended topology for real vLLM on a GPU host: the same sizes and
 * ports with `engine: vllm` (the simulated engine's `sim:` block dropped),
 * then `sets` applied.
 */
export function vllmVersion(
  simYaml: string,
  file: string,
  sets: readonly TopologySet[] = [],
): string {
  const t = applySets(parseYaml(simYaml), sets) as Record<string, unknown>;
  delete t.sim;
  t.engine = "vllm";
  // its runs carry its name: a measurement of real vLLM must not read as a `sim-` topology's
  if (typeof t.name === "string") t.name = t.name.replace(/^sim-/, "vllm-");
  return `# deno task plan's recommendation for real vLLM (from ${file}); add vllm.extra_args as needed\n${
    stringify(t)
  }`;
}

/** The bench flags of a measurement at `rate` (the plan's workload and SLO). */
function benchFlags(
  workload: Record<string, string | number>,
  slo: string,
  rate: number,
): string {
  return flagArgs({ ...workload, rate, slo }).map((a) => shellQuote(a)).join(" ");
}

/** The commands of {@linkcode VerifyCommands} for the files in `out`. */
export function verifyCommands(o: {
  out: string;
  localUrl: string;
  clusterUrl: string;
  name: string;
  gpus: number;
  capacity: number;
  workload: Record<string, string | number>;
  slo: string;
}): VerifyCommands {
  const vllm = shellQuote(join(o.out, "recommended_vllm.yaml"));
  const rates = [0.8, 1].map((s) => roundRate(s * o.capacity));
  const runs = (url: string, extra: string, tag: string) =>
    rates.map((r) =>
      `deno task bench --url ${url}${extra} --topology ${o.name} --gpus ${o.gpus} ${
        benchFlags(o.workload, o.slo, r)
      } --out ${shellQuote(join(o.out, `${tag}-r${r}`))}`
    );
  return {
    gpu_host: [
      `deno task up ${vllm}`,
      ...runs(o.localUrl, "", "gpu"),
      // bench's run directory is <folder>/<YYYYMMDD-HHMMSS>-<name>
      `deno task validate ${shellQuote(o.out)}/*-gpu-r${rates[1]}`,
      `deno task down ${vllm}`,
    ],
    kubernetes: [
      `deno task up ${vllm} --set platform=kubernetes --timeout 1800`,
      ...runs(o.clusterUrl, " --platform kubernetes --replicas 2", "k8s"),
      `deno task down ${vllm} --set platform=kubernetes`,
    ],
  };
}

/**
 * Writes recommended.yaml, recommended_vllm.yaml and recommended_k8s.yaml of
 * the winner's sized topology `topology` into `out`; returns the commands
 * that verify it.
 */
export async function writeDeployment(o: {
  out: string;
  topology: string;
  gpus: number;
  capacity: number;
  workload: Record<string, string | number>;
  slo: string;
}): Promise<VerifyCommands> {
  const text = await Deno.readTextFile(o.topology);
  const vllmFile = join(o.out, "recommended_vllm.yaml");
  await writeFileAtomic(join(o.out, "recommended.yaml"), text);
  await writeFileAtomic(vllmFile, vllmVersion(text, o.topology));
  const local = (await prepare({ file: vllmFile })).plan;
  const { plan } = await prepare({ file: vllmFile, sets: [parseSet("platform=kubernetes")] });
  const manifests = manifestsYaml(await clusterObjects(plan));
  await writeFileAtomic(
    join(o.out, "recommended_k8s.yaml"),
    `# deno task plan's recommendation as Kubernetes objects (deno task up ${vllmFile} --set platform=kubernetes applies them)\n${manifests}`,
  );
  return verifyCommands({
    ...o,
    name: plan.topology.name,
    localUrl: local.router?.url ?? local.instances[0].url,
    clusterUrl: kubernetesPlan(plan).router?.url ?? kubernetesPlan(plan).instances[0].url,
  });
}
