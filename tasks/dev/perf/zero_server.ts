/**
 * A zero-delay OpenAI-style streaming server for load-generator benchmarks:
 * every POST gets the same answer at once (16 content chunks, a usage chunk and
 * `[DONE]`, written as one body), so what a client measures is its own cost.
 * `GET /v1/models` names one model, `GET /health` answers 200, `GET /version`
 * answers as vLLM's does (so bench expects `usage` and loads no tokenizer), `POST /tokenize`
 * counts the words of a text (its answers' tokens). It prints `listening on URL` when ready.
 *
 *     deno run -A tasks/dev/perf/zero_server.ts [--port 0] [--chunks 16]
 *
 * @module
 */
import { numberFlag, parseFlags, runMain } from "../../../lib/args.ts";
import { type ReadyProcess, startReady } from "../../../lib/ready_process.ts";

/** The model the server names. */
export const ZERO_MODEL = "zero";

/** The SSE body every completion request gets: `chunks` one-token chunks, usage, `[DONE]`. */
export function zeroBody(chunks: number, promptTokens = 512): Uint8Array<ArrayBuffer> {
  let s = "";
  for (let i = 0; i < chunks; i++) {
    s += `data: {"id":"cmpl-0","object":"text_completion","created":0,"model":"${ZERO_MODEL}",` +
      `"choices":[{"index":0,"text":" tok${i}","logprobs":null,"finish_reason":${
        i === chunks - 1 ? '"length"' : "null"
      }}],"usage":null}\n\n`;
  }
  s += `data: {"id":"cmpl-0","object":"text_completion","created":0,"model":"${ZERO_MODEL}",` +
    `"choices":[],"usage":{"prompt_tokens":${promptTokens},"total_tokens":${
      promptTokens + chunks
    },"completion_tokens":${chunks}}}\n\ndata: [DONE]\n\n`;
  return new TextEncoder().encode(s);
}

const FLAGS = {
  port: { type: "string" as const, default: "0", help: "Port (0: a free one)" },
  chunks: { type: "string" as const, default: "16", help: "Content chunks per answer" },
};

/** Runs the server until the process is stopped. */
export async function main(args: string[]): Promise<number> {
  const { values } = parseFlags(args, FLAGS);
  const port = numberFlag(values, "port", { min: 0, max: 65535, integer: true })!;
  const chunks = numberFlag(values, "chunks", { min: 1, max: 10000, integer: true })!;
  const body = zeroBody(chunks);
  const models = JSON.stringify({ object: "list", data: [{ id: ZERO_MODEL, object: "model" }] });
  const sse = { "content-type": "text/event-stream", "cache-control": "no-cache" };
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port,
    onListen: (a) => console.error(`listening on http://127.0.0.1:${a.port}`),
  }, async (req) => {
    if (req.method === "POST") {
      if (new URL(req.url).pathname === "/tokenize") {
        // like vLLM's /tokenize for its own answers: one token per " tokN" word
        const { prompt } = await req.json();
        const count = String(prompt ?? "").split(" ").filter(Boolean).length;
        return Response.json({ count, max_model_len: 131072, tokens: [], token_strs: null });
      }
      await req.arrayBuffer();
      return new Response(body, { headers: sse });
    }
    const path = new URL(req.url).pathname;
    if (path === "/health") return new Response(null, { status: 200 });
    if (path === "/version") return Response.json({ version: "zero-server" });
    if (path === "/v1/models") {
      return new Response(models, { headers: { "content-type": "application/json" } });
    }
    return new Response("not found", { status: 404 });
  });
  await server.finished;
  return 0;
}

/** Starts the server as its own process on a free port. */
export async function startZeroServer(chunks = 16): Promise<ReadyProcess & { url: string }> {
  const p = await startReady({
    cmd: Deno.execPath(),
    args: ["run", "-A", import.meta.filename!, "--chunks", String(chunks)],
    ready: /^listening on (http:\/\/\S+)/,
  });
  return Object.assign(p, { url: p.match[1] });
}

if (import.meta.main) await runMain(main);
