/**
 * Test and perf harness: starts simulated engines (by path, as the launcher
 * does; the router never imports the engine) and the router CLI as real
 * processes, and reads their answers.
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import { seriesMap } from "../../../lib/prometheus.ts";
import { type ReadyProcess, startReady } from "../../../lib/ready_process.ts";
import { sseEvents } from "../../../lib/sse.ts";

/** Path of the router's entry point. */
export const ROUTER_MAIN = fileURLToPath(new URL("./main.ts", import.meta.url));
/** Path of the simulated engine's entry point (started as a process, never imported). */
export const SIM_MAIN = fileURLToPath(new URL("../../sim/live/main.ts", import.meta.url));

/** A running server process. */
export interface Server extends ReadyProcess {
  /** Base URL, e.g. `http://127.0.0.1:40123`. */
  url: string;
}

/** Starts a simulated engine with `args` (e.g. `--speed 20`) on `port` (0: a free one). */
export async function startSim(args: string[], port = 0): Promise<Server> {
  const p = await startReady({
    cmd: Deno.execPath(),
    args: ["run", "-A", SIM_MAIN, "--port", String(port), "--log-interval", "1000", ...args],
    ready: /Starting vLLM API server 0 on (http:\/\/\S+)/,
  });
  return Object.assign(p, { url: p.match[1] });
}

/** Writes `config` to a temporary router.json and starts the router CLI on a free port. */
export async function startRouter(config: unknown, extra: string[] = []): Promise<Server> {
  const dir = await Deno.makeTempDir({ prefix: "router_" });
  const file = `${dir}/router.json`;
  await Deno.writeTextFile(file, JSON.stringify(config, null, 2));
  const p = await startReady({
    cmd: Deno.execPath(),
    args: ["run", "-A", ROUTER_MAIN, "--config", file, "--port", "0", ...extra],
    ready: /^Router listening on (http:\/\/\S+)$/,
    timeoutMs: 30_000,
  });
  const stop = p.stop;
  return Object.assign(p, {
    url: p.match[1],
    stop: async (graceMs?: number) => {
      const st = await stop(graceMs);
      await Deno.remove(dir, { recursive: true }).catch(() => {});
      return st;
    },
  });
}

/** POSTs JSON. */
export function post(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
  signal?: AbortSignal,
): Promise<Response> {
  return fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
    signal,
  });
}

/** What a streamed answer held. */
export interface Streamed {
  /** Concatenated content (chat `delta.content` or completion `text`). */
  text: string;
  /** The `usage` object of the last chunk that had one. */
  usage: Record<string, unknown> & { prompt_tokens_details?: { cached_tokens?: number } } | null;
  /** Every event's data. */
  events: string[];
}

/** Reads a streamed chat or completion answer to its end. */
export async function readStream(res: Response): Promise<Streamed> {
  const out: Streamed = { text: "", usage: null, events: [] };
  for await (const d of sseEvents(res.body!)) {
    out.events.push(d);
    if (d === "[DONE]") continue;
    const j = JSON.parse(d);
    const c = j.choices?.[0];
    out.text += c?.delta?.content ?? c?.text ?? "";
    if (j.usage) out.usage = j.usage;
  }
  return out;
}

/** Parses Prometheus text into `name{labels}` -> value. */
export async function scrape(url: string): Promise<Map<string, number>> {
  return seriesMap(await (await fetch(`${url}/metrics`)).text());
}

/** Sum of the metric samples whose key starts with `prefix`. */
export function sumOf(m: Map<string, number>, prefix: string): number {
  let s = 0;
  for (const [k, v] of m) if (k.startsWith(prefix)) s += v;
  return s;
}

/** A chat request body with a long-ish user message. */
export function chat(text: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    messages: [{ role: "user", content: text }],
    max_tokens: 8,
    stream: true,
    stream_options: { include_usage: true },
    ...extra,
  };
}

/** Stops every server, ignoring ones already gone. */
export async function stopAll(servers: (Server | undefined)[]): Promise<void> {
  await Promise.all(servers.map((s) => s?.stop(2000).catch(() => {})));
}

/** vLLM's NixlConnector `--kv-transfer-config` (kv_both). */
export const NIXL = JSON.stringify({ kv_connector: "NixlConnector", kv_role: "kv_both" });

/** A NIXL-enabled simulated engine with a fixed engine id, at 20x. */
export function nixlSim(id: string): Promise<Server> {
  return startSim(["--speed", "20", "--kv-transfer-config", NIXL, "--engine-id", id]);
}

/** The `prefill` and `decode` lists of a router config over one prefill `p` and one decode `d`. */
export function onePd(p: Server, d: Server): Record<string, unknown> {
  return {
    prefill: [{ name: "prefill-0", url: p.url }],
    decode: [{ name: "decode-0", url: d.url }],
  };
}

/** The `backends` list of a router config over `sims` (`engine-0`, `engine-1`, ...). */
export function enginesOf(sims: Server[]): { name: string; url: string }[] {
  return sims.map((s, i) => ({ name: `engine-${i}`, url: s.url }));
}

/** A NIXL 1P1D topology: its engines and the router over them. */
export interface NixlPd {
  p: Server;
  d: Server;
  r: Server;
}

/**
 * Starts a NIXL prefill (`prefill-0`) and decode (`decode-0`) engine and a
 * `kind` router named `name` over them (`config` adds to its router.json,
 * `args` to its command line); stops the engines when the router fails to start.
 */
export async function startNixlPd(
  name: string,
  kind: "pd" | "ppd",
  config: Record<string, unknown> = {},
  args: string[] = [],
): Promise<NixlPd> {
  const [p, d] = await Promise.all([nixlSim("prefill-0"), nixlSim("decode-0")]);
  try {
    const r = await startRouter({ name, kind, connector: "nixl", ...onePd(p, d), ...config }, args);
    return { p, d, r };
  } catch (e) {
    await stopAll([p, d]);
    throw e;
  }
}
