/**
 * An HTTP/1.1 server for the router and the simulated engine that sheds load
 * instead of dying: a cap on open connections (503 and close beyond it), a
 * deadline for each request head, body, idle keep-alive wait and write (a
 * slow-loris client is cut), and "too many open files" on accept taken as
 * back-pressure (the accept loop pauses and retries; one spare descriptor lets
 * it answer 503 to a waiting client meanwhile). `Deno.serve` has none of these
 * hooks: its accept loop ends on EMFILE and nothing times out a slow client.
 *
 * @module
 */
import { type ConnSettings, ServerConn } from "./_http_conn.ts";
import { answerAndClose, errorAnswer } from "./_http_wire.ts";

/** Options of {@linkcode serveHttp}. */
export interface HttpServeOptions {
  hostname: string;
  /** 0: a free port. */
  port: number;
  /** Aborting stops accepting, closes idle connections and lets answers in progress end. */
  signal?: AbortSignal;
  onListen?: (addr: Deno.NetAddr) => void;
  /** The answer when the handler throws. @default a 500 JSON error */
  onError?: (e: unknown) => Response;
  /** Warnings (the cap reached, descriptors exhausted), rate-limited. @default console.warn */
  warn?: (msg: string) => void;
  /**
   * Connections served at once; beyond, the oldest idle kept-alive one is
   * closed, or when none is idle a 503 and close.
   * @default {@linkcode defaultMaxConnections} with 1 descriptor per connection
   */
  maxConnections?: number;
  /** A request head must be whole this long after its first byte (or the connection's start). @default 10000 */
  headerTimeoutMs?: number;
  /** A request body must be whole this long after its head. @default 60000 */
  bodyTimeoutMs?: number;
  /** A kept-alive connection waits this long for its next request. @default 5000 */
  idleTimeoutMs?: number;
  /** One write to a client that does not read may take this long. @default 120000 */
  writeTimeoutMs?: number;
  /** Largest request head. @default 65536 */
  maxHeaderBytes?: number;
  /** An answer in progress when the server stops gets this long before it is cut. @default 10000 */
  drainMs?: number;
}

/** A running server. */
export interface HttpServer {
  addr: Deno.NetAddr;
  /** Resolves once the server has stopped and every connection is closed. */
  finished: Promise<void>;
  /**
   * Counters: connections open, refused by the cap, idle ones closed to make room
   * at the cap, clients gone before their answer, pauses for lack of descriptors.
   */
  stats(): { open: number; refused: number; idleClosed: number; gone: number; fdPauses: number };
}

/** The process's soft limit of open files (Linux `/proc/self/limits`), or null if unknown. */
export function openFilesLimit(): number | null {
  try {
    const line = Deno.readTextFileSync("/proc/self/limits").split("\n")
      .find((l) => l.startsWith("Max open files"));
    const soft = line?.split(/\s{2,}/)[1];
    return soft && /^\d+$/.test(soft) ? Number(soft) : null;
  } catch {
    return null;
  }
}

/**
 * A connection cap that keeps descriptors in reserve: (open-files limit − 64)
 * / `fdsPerConnection` (a router holds 2: the client's and a backend's),
 * at least 16; 10,000 when the limit is unknown.
 */
export function defaultMaxConnections(fdsPerConnection = 1): number {
  const limit = openFilesLimit();
  if (limit === null) return 10_000;
  return Math.max(16, Math.floor((limit - 64) / fdsPerConnection));
}

/** Refused connections closed gently at once (each holds a descriptor up to 1 s). */
const MAX_LINGERING = 16;
const FD_EXHAUSTED = /too many open files|os error 2[34]\b/i;

function positive(name: string, v: number): number {
  if (!Number.isFinite(v) || v <= 0) {
    throw new RangeError(
      `Cannot use ${name} as an HttpServeOptions field (lib/http_server.ts): current value is ${v}; a number > 0 is allowed`,
    );
  }
  return v;
}

function settings(o: HttpServeOptions, conns: Set<ServerConn>, stats: { gone: number }) {
  let stopping = false;
  const s: ConnSettings = {
    headerTimeoutMs: positive("headerTimeoutMs", o.headerTimeoutMs ?? 10_000),
    bodyTimeoutMs: positive("bodyTimeoutMs", o.bodyTimeoutMs ?? 60_000),
    idleTimeoutMs: positive("idleTimeoutMs", o.idleTimeoutMs ?? 5_000),
    writeTimeoutMs: positive("writeTimeoutMs", o.writeTimeoutMs ?? 120_000),
    maxHeaderBytes: positive("maxHeaderBytes", o.maxHeaderBytes ?? 65_536),
    handler: () => new Response(null),
    onError: o.onError ?? ((e) =>
      Response.json({
        error: { message: String(e), type: "InternalServerError", param: null, code: 500 },
      }, { status: 500 })),
    onGone: () => void stats.gone++,
    stopping: () => stopping,
  };
  const stop = () => {
    stopping = true;
    for (const c of conns) if (c.idle) c.close();
  };
  return { s, stop };
}

/** Serves `handler` over HTTP/1.1 on `hostname:port` with the limits of {@linkcode HttpServeOptions}. */
export function serveHttp(
  o: HttpServeOptions,
  handler: (req: Request) => Response | Promise<Response>,
): HttpServer {
  const max = positive("maxConnections", o.maxConnections ?? defaultMaxConnections());
  const warn = o.warn ?? ((m: string) => console.warn(m));
  const listener = Deno.listen({ hostname: o.hostname, port: o.port, transport: "tcp" });
  const addr = listener.addr as Deno.NetAddr;
  const conns = new Set<ServerConn>();
  const counts = { refused: 0, idleClosed: 0, gone: 0, fdPauses: 0 };
  const { s, stop } = settings(o, conns, counts);
  s.handler = handler;
  const hostName = addr.hostname.includes(":") ? `[${addr.hostname}]` : addr.hostname;
  const host = `${hostName}:${addr.port}`;
  // the sweep: every phase deadline (head, body, idle, write) is enforced here, not by a timer each
  const sweep = setInterval(() => {
    const nowMs = performance.now();
    for (const c of conns) if (c.deadlineMs < nowMs) c.close();
  }, 250);
  Deno.unrefTimer(sweep);
  let lastWarnMs = -Infinity;
  const warnSome = (msg: string) => {
    const t = performance.now();
    if (t - lastWarnMs < 5000) return;
    lastWarnMs = t;
    warn(msg);
  };
  let lingering = 0;
  const refuse = (conn: Deno.TcpConn, why: string) => {
    counts.refused++;
    // a client may be sending its request: the 503 must not be lost to a reset, but a
    // lingering close holds a descriptor, so only a few linger at once (a flood is cut)
    const linger = lingering < MAX_LINGERING;
    if (linger) lingering++;
    answerAndClose(conn, errorAnswer(503, why, "ServiceUnavailableError"), linger)
      .finally(() => linger && lingering--);
  };
  let spare: Deno.FsFile | null = openSpare();
  let stopped = false;
  const onAbort = () => {
    stopped = true;
    try {
      listener.close();
    } catch { /* closed */ }
    stop();
    const drain = setTimeout(() => conns.forEach((c) => c.close()), o.drainMs ?? 10_000);
    Deno.unrefTimer(drain);
  };
  if (o.signal?.aborted) onAbort();
  o.signal?.addEventListener("abort", onAbort, { once: true });
  const accepting = (async () => {
    let backoffMs = 10;
    while (!stopped) {
      let conn: Deno.TcpConn;
      try {
        conn = await listener.accept();
        backoffMs = 10;
      } catch (e) {
        if (stopped) break;
        if (!FD_EXHAUSTED.test(String(e))) continue; // an aborted handshake, say: go on
        // out of descriptors: answer one waiting client with the spare, then wait for some to free
        counts.fdPauses++;
        warnSome(
          `Out of file descriptors (${conns.size} connections open): accepting paused, retrying in ${backoffMs} ms`,
        );
        if (spare) {
          spare.close();
          spare = null;
          try {
            refuse(await listener.accept(), "Out of file descriptors; try again later");
          } catch { /* none waiting */ }
        }
        await new Promise((r) => setTimeout(r, backoffMs));
        backoffMs = Math.min(backoffMs * 2, 1000);
        spare ??= openSpare();
        continue;
      }
      if (conns.size >= max && !closeOldestIdle(conns, counts)) {
        warnSome(`Connection cap reached (${max} open): answering 503 to new connections`);
        refuse(conn, `Too many connections (${max} open); try again later`);
        continue;
      }
      try {
        conn.setNoDelay(true);
      } catch { /* closed */ }
      const c = new ServerConn(conn, s, host);
      conns.add(c);
      c.run().finally(() => conns.delete(c));
    }
  })();
  queueMicrotask(() => o.onListen?.(addr));
  const finished = accepting.then(async () => {
    while (conns.size > 0) await new Promise((r) => setTimeout(r, 50));
    clearInterval(sweep);
    spare?.close();
    o.signal?.removeEventListener("abort", onAbort);
  });
  return { addr, finished, stats: () => ({ open: conns.size, ...counts }) };
}

/**
 * Closes the oldest kept-alive connection waiting for its next request (none
 * of its bytes unread) to make room at the cap; false when there is none.
 */
function closeOldestIdle(conns: Set<ServerConn>, counts: { idleClosed: number }): boolean {
  for (const c of conns) {
    if (c.idle && c.served > 0 && c.end === c.start && !c.closed) {
      c.close();
      conns.delete(c);
      counts.idleClosed++;
      return true;
    }
  }
  return false;
}

function openSpare(): Deno.FsFile | null {
  try {
    return Deno.openSync("/dev/null");
  } catch {
    return null;
  }
}
