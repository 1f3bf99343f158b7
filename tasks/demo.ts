/**
 * `deno task demo`: the pipeline that exists so far, on the embedded simulated
 * engine: start one engine, drive it with Poisson streaming load through
 * `deno task bench`, print the result block and where the run directory is.
 * (The full topology comparison arrives with the launcher, plots and pipeline.)
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import { parseFlags, runMain, usage } from "../lib/args.ts";
import { startReady } from "../lib/ready_process.ts";

const root = (p: string) => fileURLToPath(new URL(`../${p}`, import.meta.url));

const FLAGS = {
  speed: { type: "string" as const, default: "1", help: "Simulated engine speed-up" },
  rate: { type: "string" as const, default: "4", help: "Request rate (req/s, simulated time)" },
  "num-requests": { type: "string" as const, default: "60", help: "Requests to send" },
  out: { type: "string" as const, default: "results/demo", help: "Experiment folder" },
};

/** Runs the demo; returns bench's exit code. */
export async function main(args: string[]): Promise<number> {
  const { values } = parseFlags(args, FLAGS);
  if (values.help) {
    console.log(usage("deno task demo", "Simulated engine + streaming load, end to end.", FLAGS));
    return 0;
  }
  const speed = Number(values.speed);
  console.error(
    `Starting the simulated engine (H100 x Llama-3.1-8B profile, SIMULATED, ${speed}x real time)...`,
  );
  const sim = await startReady({
    cmd: Deno.execPath(),
    args: ["run", "-A", root("launch/sim/main.ts"), "--port", "0", "--speed", String(speed)],
    ready: /Starting vLLM API server 0 on (http:\/\/\S+)/,
  });
  try {
    // The engine runs `speed` times faster, so the client's rate is scaled to match.
    const rate = Number(values.rate) * speed;
    const bench = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        root("bench/run.ts"),
        "--url",
        sim.match[1],
        "--endpoint",
        "/v1/chat/completions",
        "--dataset",
        "random",
        "--input-len",
        "512",
        "--output-len",
        "128",
        "--rate",
        String(rate),
        "--num-requests",
        String(values["num-requests"]),
        "--out",
        `${values.out}/agg-sim`,
      ],
      stdin: "null",
      stdout: "inherit",
      stderr: "inherit",
    }).spawn();
    const st = await bench.status;
    if (speed !== 1) {
      console.error(
        `\nNote: the engine ran ${speed}x faster than real time; latencies above are ${speed}x shorter.`,
      );
    }
    return st.code;
  } finally {
    await sim.stop();
  }
}

if (import.meta.main) await runMain(main);
