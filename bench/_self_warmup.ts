/**
 * Bench's own code compiled before a fast load point's clock starts: without
 * it, the first ~100 ms of a run at thousands of requests a second were sent
 * by functions compiled on their first call (at 2,000 req/s about 160 of the
 * first 200 sends over 5 ms late; after the first second the p99 is 3.6–4.9
 * ms). A few requests of the run's own dataset and endpoint go, through the
 * same client and recording code, to a responder inside this process on a
 * loopback port that answers each at once in the endpoint's streaming format;
 * their rows are dropped. The target sees nothing of it. At 2,000 req/s, six
 * runs alternated with and without it (2026-12-07, load ~1.5): whole-run
 * send-lag p99 median 4.1 against 7.9 ms, lower in each pair.
 *
 * @module
 */
import { serveHttp } from "../lib/http_server.ts";
import { requestRow } from "./record.ts";
import { buildWorkload } from "./workload/datasets.ts";
import { burst } from "./work_source.ts";
import { sendLoad } from "./_executor.ts";
import type { RunSession } from "./_session.ts";

/** Real requests/s from which a point compiles its own code first. */
export const SELF_WARMUP_FROM_RPS = 500;
/** Requests sent to the in-process responder. */
export const SELF_WARMUP_REQUESTS = 24;
const enc = new TextEncoder();

/** An answer of `chunks` one-token chunks, usage and `[DONE]` in `endpoint`'s streaming format. */
export function warmupAnswer(endpoint: "completions" | "chat", chunks = 16): Uint8Array {
  const chat = endpoint === "chat";
  const object = chat ? "chat.completion.chunk" : "text_completion";
  const end = (i: number) => (i === chunks - 1 ? '"length"' : "null");
  const choice = (i: number) =>
    chat
      ? `{"index":0,"delta":{"content":" w${i}"},"finish_reason":${end(i)}}`
      : `{"index":0,"text":" w${i}","finish_reason":${end(i)}}`;
  const head = `data: {"id":"warm","object":"${object}","created":0,"model":"warm","choices":`;
  let s = "";
  for (let i = 0; i < chunks; i++) s += `${head}[${choice(i)}]}\n\n`;
  s += `${head}[],"usage":{"prompt_tokens":1,"completion_tokens":${chunks},"total_tokens":${
    chunks + 1
  }}}\n\ndata: [DONE]\n\n`;
  return enc.encode(s);
}

/** Whether a load point compiles bench's code first: a streaming open loop at a high real rate. */
export function selfWarmupDue(s: RunSession, closedLoop: boolean): boolean {
  const { cfg } = s;
  return s.target.streamAsked === true && !closedLoop && cfg.concurrency === undefined &&
    cfg.rateRps / cfg.timeScale >= SELF_WARMUP_FROM_RPS;
}

/** Sends {@linkcode SELF_WARMUP_REQUESTS} of the run's dataset to an in-process responder. */
export async function selfWarmUp(s: RunSession, k: number, seed: number): Promise<void> {
  const { cfg } = s;
  s.log.info(
    `compiling bench's own code: ${SELF_WARMUP_REQUESTS} requests to a responder in this process (the target sees none)`,
  );
  const answer = warmupAnswer(cfg.dataset.endpoint);
  const ac = new AbortController();
  const server = serveHttp(
    { hostname: "127.0.0.1", port: 0, signal: ac.signal },
    () =>
      new Response(answer.slice(), {
        headers: { "content-type": "text/event-stream; charset=utf-8" },
      }),
  );
  try {
    const multiturn = cfg.dataset.name === "multiturn" || cfg.dataset.name === "sharegpt-multiturn";
    const w = await buildWorkload(s.target.tok, {
      ...cfg.dataset,
      name: multiturn ? "random" : cfg.dataset.name,
      seed: seed + 2_000_003,
    }, SELF_WARMUP_REQUESTS);
    await sendLoad(s, {
      jobs: burst(w.requests.map((r) => ({ ...r, requestId: `self-warmup-${k}-${r.requestId}` }))),
      closedLoop: true,
      concurrency: 2,
      originMs: performance.now(),
      onResult: (f) => void requestRow(f, "self-warmup", "warmup", cfg.timeScale),
      url: `http://127.0.0.1:${server.addr.port}${new URL(s.target.url).pathname}`,
    });
  } finally {
    ac.abort();
    await server.finished;
  }
}
