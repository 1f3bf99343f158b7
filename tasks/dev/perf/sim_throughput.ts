/**
 * Perf entry `sim`: streaming requests per second one simulated-engine process
 * sustains at `--speed 100` (closed loop, 64 concurrent streams of 16 tokens),
 * and the engine process's CPU per request: a short chat prompt, then random
 * prompts of 128 and 512 tokens (each request different, as bench's `random`
 * dataset draws them and bench sends them) on chat and completions.
 *
 * @module
 */
import { startSim } from "../../../launch/sim/live/start_sim.ts";
import type { PerfResult } from "../perf.ts";
import { closeIdle, http1 } from "../../../lib/http1.ts";
import { loadTokenizer } from "../../../lib/tokenizer.ts";
import { randomRequests } from "../../../bench/workload/random.ts";
import type { EndpointKind } from "../../../bench/workload/_spec.ts";
import { openaiBody } from "../../../bench/request_body.ts";
import { cpuSeconds, loadNote } from "./_proc_cpu.ts";

const enc = new TextEncoder();
const CONCURRENCY = 64;
const OUTPUT_TOKENS = 16;
/** Requests before this are JIT and pool warm-up, not measured. */
const WARMUP_MS = 1000;

/** One measured workload: the short chat prompt (`inputLen` 0) or random prompts. */
interface SimCase {
  endpoint: EndpointKind;
  inputLen: number;
}

const CASES: SimCase[] = [
  { endpoint: "chat", inputLen: 0 },
  { endpoint: "chat", inputLen: 128 },
  { endpoint: "completions", inputLen: 128 },
  { endpoint: "chat", inputLen: 512 },
  { endpoint: "completions", inputLen: 512 },
];

/** Request bodies of `c`, one per call, each different. */
async function bodies(c: SimCase, model: string): Promise<() => Uint8Array> {
  if (c.inputLen === 0) {
    let i = 0;
    return () =>
      enc.encode(JSON.stringify({
        messages: [{ role: "user", content: `request ${i++}: tell me a short story.` }],
        max_tokens: OUTPUT_TOKENS,
        ignore_eos: true,
        stream: true,
      }));
  }
  const tok = await loadTokenizer(undefined, { buildOnUse: true });
  const specs = randomRequests(tok, {
    count: Infinity,
    seed: 1,
    endpoint: c.endpoint,
    inputLen: c.inputLen,
    outputLen: OUTPUT_TOKENS,
  });
  return () => enc.encode(openaiBody(specs.next().value!, model));
}

/** Completed requests, failures and the engine's CPU seconds over the measured window. */
interface Measured {
  done: number;
  failed: number;
  seconds: number;
  cpuS: number;
}

/** Runs 64 closed-loop streams for `seconds` after the warm-up. */
async function closedLoop(
  url: URL,
  pid: number,
  next: () => Uint8Array,
  seconds: number,
): Promise<Measured> {
  const dec = new TextDecoder();
  let done = 0, failed = 0;
  let mark: { t: number; done: number; failed: number; cpuS: number } | null = null;
  const t0 = performance.now();
  const deadline = t0 + WARMUP_MS + seconds * 1000;
  const marking = new Promise<void>((resolve) =>
    setTimeout(async () => {
      const cpuS = await cpuSeconds(pid);
      mark = { t: performance.now(), done, failed, cpuS };
      resolve();
    }, WARMUP_MS)
  );
  const worker = async () => {
    while (performance.now() < deadline) {
      let status = 0;
      let tail = "";
      await http1({
        url,
        headers: { "content-type": "application/json" },
        body: next(),
        onHead: (s) => (status = s),
        onData: (b) => (tail = (tail + dec.decode(b)).slice(-32)),
      }).catch(() => (status = 0));
      if (status === 200 && tail.endsWith("data: [DONE]\n\n")) done++;
      else failed++;
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  await marking;
  const cpuS = await cpuSeconds(pid);
  const m = mark!;
  return {
    done: done - m.done,
    failed: failed - m.failed,
    seconds: (performance.now() - m.t) / 1000,
    cpuS: cpuS - m.cpuS,
  };
}

/** One case on a fresh engine process: its req/s and CPU ms per request rows. */
async function measureCase(c: SimCase, seconds: number): Promise<PerfResult[]> {
  const sim = await startSim(["--speed", "100", "--log-interval", "1000"]);
  let m: Measured;
  try {
    const models = await (await fetch(`${sim.url}/v1/models`)).json();
    const path = c.endpoint === "chat" ? "/v1/chat/completions" : "/v1/completions";
    const next = await bodies(c, models.data[0].id);
    m = await closedLoop(new URL(`${sim.url}${path}`), sim.child.pid, next, seconds);
  } finally {
    closeIdle();
    await sim.stop();
  }
  const what = c.inputLen === 0 ? "short chat" : `${c.endpoint} ${c.inputLen}-token`;
  const note = `speed 100, ${CONCURRENCY} streams x ${OUTPUT_TOKENS} tokens, ${m.failed} failed, ${
    m.seconds.toFixed(1)
  } s, ${await loadNote()}`;
  return [
    {
      entry: "sim",
      metric: `${what}: streaming req/s (one process)`,
      value: m.done / m.seconds,
      unit: "req/s",
      note,
    },
    {
      entry: "sim",
      metric: `${what}: engine CPU per request`,
      value: (m.cpuS * 1000) / m.done,
      unit: "ms",
      note: `${(m.cpuS / m.seconds * 100).toFixed(0)}% of a core; ${note}`,
    },
  ];
}

/** Each case's completed streaming requests/s and the engine's CPU ms per request. */
export async function simThroughput(seconds: number): Promise<PerfResult[]> {
  const out: PerfResult[] = [];
  for (const c of CASES) out.push(...await measureCase(c, seconds));
  return out;
}
