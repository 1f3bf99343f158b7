/**
 * Ports and health: pick a free loopback port, check one, wait for a server's
 * health endpoint, and an abortable sleep.
 *
 * @module
 */
import { errorMessage, fieldError } from "./errors.ts";

function checkPort(port: number): void {
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw fieldError({ field: "port", value: port, expected: "an integer port in [0, 65535]" });
  }
}

/**
 * A port that was free a moment ago on `host`, drawn from 20000-31999: below
 * Linux's ephemeral range (32768+), where outgoing connections and port-0
 * listeners take theirs, so it is far less likely to be taken before the
 * caller binds it. Falls back to the OS's pick (port 0).
 */
export function freePort(host = "127.0.0.1"): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const port = 20000 + Math.floor(Math.random() * 12000);
    try {
      Deno.listen({ hostname: host, port, transport: "tcp" }).close();
      return Promise.resolve(port);
    } catch (e) {
      if (!(e instanceof Deno.errors.AddrInUse)) return Promise.reject(e);
    }
  }
  const l = Deno.listen({ hostname: host, port: 0, transport: "tcp" });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return Promise.resolve(port);
}

/**
 * A first port with `span` free ports after it on `host` (0.0.0.0, as `up`
 * checks, by default). Bases are drawn below Linux's ephemeral range (32768+),
 * where outgoing connections and their TIME-WAIT sockets do not crowd the range.
 * @default span 40, host "0.0.0.0", tries 200
 */
export async function freePortBase(span = 40, host = "0.0.0.0", tries = 200): Promise<number> {
  for (let i = 0; i < tries; i++) {
    const p = 20000 + Math.floor(Math.random() * (32000 - span - 20000));
    let ok = true;
    for (let q = p; q < p + span && ok; q++) ok = await isPortFree(q, host);
    if (ok) return p;
  }
  throw new RangeError(
    `Cannot find ${span} free ports in a row in 20000-32000 as --port-base: current value is none after ${tries} tries; pass --port-base N with ports N..N+${span} free`,
  );
}

/** Whether `port` can be bound on `host` now; errors other than "in use" are thrown. */
export function isPortFree(port: number, host = "127.0.0.1"): Promise<boolean> {
  checkPort(port);
  try {
    Deno.listen({ hostname: host, port, transport: "tcp" }).close();
    return Promise.resolve(true);
  } catch (e) {
    if (e instanceof Deno.errors.AddrInUse) return Promise.resolve(false);
    return Promise.reject(e);
  }
}

function abortError(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException("The operation was aborted", "AbortError");
}

/** Resolves after `ms`; rejects with the signal's reason as soon as `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (!(ms >= 0)) throw fieldError({ field: "ms", value: ms, expected: "a duration >= 0 ms" });
  if (signal?.aborted) return Promise.reject(abortError(signal));
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortError(signal!));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** Options of {@linkcode waitForHealth}. */
export interface WaitForHealthOptions {
  /** Give up after this long. @default 60000 */
  timeoutMs?: number;
  /** Pause between attempts. @default 200 */
  intervalMs?: number;
  /** Stops waiting (rejects with its reason). */
  signal?: AbortSignal;
  /** Checked before each attempt; `false` (the server's process died) stops the wait early. */
  alive?: () => boolean | Promise<boolean>;
}

/**
 * Polls `GET url` until it answers 200. Throws an Error naming the last status or
 * network error on timeout, and `process exited` when `alive()` says so.
 */
export async function waitForHealth(url: string, opts: WaitForHealthOptions = {}): Promise<void> {
  if (!URL.canParse(url)) {
    throw fieldError({ field: "health url", value: url, expected: "a URL", kind: "type" });
  }
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const intervalMs = opts.intervalMs ?? 200;
  if (!(timeoutMs >= 0)) {
    throw fieldError({ field: "timeoutMs", value: timeoutMs, expected: "a duration >= 0 ms" });
  }
  if (!(intervalMs >= 0) || intervalMs === Infinity) {
    throw fieldError({
      field: "intervalMs",
      value: intervalMs,
      expected: "a finite duration >= 0 ms",
    });
  }
  const deadline = performance.now() + timeoutMs;
  let last = "no attempt yet";
  while (true) {
    if (opts.signal?.aborted) throw abortError(opts.signal);
    if (opts.alive && !(await opts.alive())) {
      throw new Error(`Cannot reach ${url}: process exited before it was healthy (last: ${last})`);
    }
    const leftMs = deadline - performance.now();
    const attempt = AbortSignal.timeout(Math.max(1, Math.min(leftMs, 5_000)));
    const signal = opts.signal ? AbortSignal.any([opts.signal, attempt]) : attempt;
    try {
      const res = await fetch(url, { signal });
      await res.body?.cancel();
      if (res.status === 200) return;
      last = `HTTP ${res.status}`;
    } catch (e) {
      if (opts.signal?.aborted) throw abortError(opts.signal);
      // an attempt cut short by the overall deadline keeps the answer before it
      const cut = attempt.aborted && leftMs < 5_000 && last !== "no attempt yet";
      if (!cut) last = attempt.aborted ? "request timed out" : errorMessage(e);
    }
    const restMs = deadline - performance.now();
    if (restMs <= 0) break;
    await sleep(Math.min(intervalMs, restMs), opts.signal);
  }
  throw new Error(
    `Cannot reach ${url} as a healthy server within ${timeoutMs} ms: last result was ${last}`,
  );
}
