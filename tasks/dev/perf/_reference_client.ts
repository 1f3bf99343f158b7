/**
 * Runs `reference_client.py` (an asyncio + aiohttp client in the style of
 * `vllm bench serve`, ours) for the `peers` perf entry: finds a Python with
 * aiohttp, runs one open-loop point, returns the JSON it prints.
 *
 * @module
 */
import { fileURLToPath } from "node:url";

const SCRIPT = fileURLToPath(new URL("./reference_client.py", import.meta.url));

/** What one point of the reference client reports (its JSON). */
export interface ReferencePoint {
  rate_target: number;
  sent: number;
  completed: number;
  failed: number;
  rate_achieved: number;
  send_lag_p99_ms: number;
  ttft_p50_ms: number | null;
  ttft_p99_ms: number | null;
  cpu_s: number;
  cpu_ms_per_request: number;
}

/**
 * A Python that can import aiohttp: the system one first (`apt-get install
 * python3-aiohttp`; a pyenv `python3` on the PATH often lacks it), then the
 * PATH's; null when neither can.
 */
export async function pythonWithAiohttp(): Promise<string | null> {
  for (const python of ["/usr/bin/python3", "python3"]) {
    try {
      const { success } = await new Deno.Command(python, {
        args: ["-c", "import aiohttp"],
        stdout: "null",
        stderr: "null",
      }).output();
      if (success) return python;
    } catch { /* not installed */ }
  }
  return null;
}

/** One open-loop point of `rateRps` for `seconds` against `url` (512-word prompts, 16 tokens). */
export async function referencePoint(
  python: string,
  url: string,
  rateRps: number,
  seconds: number,
): Promise<ReferencePoint> {
  const out = await new Deno.Command(python, {
    args: [
      SCRIPT,
      ...["--url", url, "--rate", String(rateRps), "--duration", String(seconds)],
      ...["--input-words", "512", "--output-len", "16", "--seed", "1", "--warmup", "1"],
    ],
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
  }).output();
  const text = new TextDecoder().decode(out.stdout).trim();
  if (!out.success) {
    const err = new TextDecoder().decode(out.stderr).slice(-500);
    throw new Error(`reference_client.py exited ${out.code}: ${err}`);
  }
  return JSON.parse(text.split("\n").at(-1)!) as ReferencePoint;
}
