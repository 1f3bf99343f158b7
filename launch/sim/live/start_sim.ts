/**
 * Starts the simulated engine as a real process on a free port (tests, perf).
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import { seriesMap } from "../../../lib/prometheus.ts";
import { type ReadyProcess, startReady } from "../../../lib/ready_process.ts";

/** Path of the engine's entry point. */
export const SIM_MAIN = fileURLToPath(new URL("./main.ts", import.meta.url));

/** A running engine process. */
export interface SimProcess extends ReadyProcess {
  /** Base URL, e.g. `http://127.0.0.1:40123`. */
  url: string;
}

/** Starts `deno task sim --port 0 ...args` and waits until it listens. */
export async function startSim(
  args: string[] = [],
  env?: Record<string, string>,
): Promise<SimProcess> {
  const p = await startReady({
    cmd: Deno.execPath(),
    args: ["run", "-A", SIM_MAIN, "--port", "0", ...args],
    ready: /Starting vLLM API server 0 on (http:\/\/\S+)/,
    env,
  });
  return Object.assign(p, { url: p.match[1] });
}

/** Parses Prometheus text into `name{labels}` -> value. */
export async function scrape(url: string): Promise<Map<string, number>> {
  return seriesMap(await (await fetch(`${url}/metrics`)).text());
}
