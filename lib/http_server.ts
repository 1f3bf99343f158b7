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
export { clientSignal, rawRequest, rawResponse } from "./_http_conn.ts";
export type { RawRequest } from "./_lean_request.ts";
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
  /**
   * Lean requests for a handler on a hot path that reads them through
   * {@linkcode rawRequest}: the handler gets a `LeanRequest`
   * (lib/_lean_request.ts) typed as a `Request`, with its method, url,
   * headers, signal, body and body readers (`bytes`, `arrayBuffer`, `text`,
   * `json`) and nothing else; a body that came whole with the head is in
   * `rawRequest(req).body` (`req.body` is then null; a longer one streams as
   * `req.body`). Saves ~10-35 µs of CPU and a copy of the body a request, and
   * a `Request` per request (each outlived two scavenges in Deno 2).
   * @default false
   */
  rawRequests?: boolean;
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

/** The per-connection settings every {@linkcode ServerConn} of one server reads. */
function settings(
  o: HttpServeOptions,
  handler: ConnSettings["handler"],
  counts: { gone: number },
  stopping: () => boolean,
): ConnSettings {
  return {
    headerTimeoutMs: positive("headerTimeoutMs", o.headerTimeoutMs ?? 10_000),
    bodyTimeoutMs: positive("bodyTimeoutMs", o.bodyTimeoutMs ?? 60_000),
    idleTimeoutMs: positive("idleTimeoutMs", o.idleTimeoutMs ?? 5_000),
    writeTimeoutMs: positive("writeTimeoutMs", o.writeTimeoutMs ?? 120_000),
    maxHeaderBytes: positive("maxHeaderBytes", o.maxHeaderBytes ?? 65_536),
    handler,
    onError: o.onError ?? ((e) =>
      Response.json({
        error: { message: String(e), type: "InternalServerError", param: null, code: 500 },
      }, { status: 500 })),
    onGone: () => void counts.gone++,
    stopping,
    rawRequests: o.rawRequests ?? false,
  };
}

/** Serves `handler` over HTTP/1.1 on `hostname:port` with the limits of {@linkcode HttpServeOptions}. */
export function serveHttp(
  o: HttpServeOptions,
  handler: (req: Request) => Response | Promise<Response>,
): HttpServer {
  const server = new Server(o, handler);
  queueMicrotask(() => o.onListen?.(server.addr));
  return { addr: server.addr, finished: server.finished, stats: () => server.stats() };
}

/** One listener, its connections, and the accept loop that sheds load. */
class Server {
  readonly addr: Deno.NetAddr;
  readonly finished: Promise<void>;
  readonly #o: HttpServeOptions;
  readonly #max: number;
  readonly #warn: (msg: string) => void;
  readonly #listener: Deno.TcpListener;
  readonly #conns = new Set<ServerConn>();
  readonly #counts = { refused: 0, idleClosed: 0, gone: 0, fdPauses: 0 };
  readonly #s: ConnSettings;
  /** `host:port` as clients name it (IPv6 in brackets). */
  readonly #host: string;
  readonly #sweep: ReturnType<typeof setInterval>;
  #lastWarnMs = -Infinity;
  #lingering = 0;
  #spare: Deno.FsFile | null;
  #stopped = false;

  constructor(o: HttpServeOptions, handler: (req: Request) => Response | Promise<Response>) {
    this.#o = o;
    this.#max = positive("maxConnections", o.maxConnections ?? defaultMaxConnections());
    this.#warn = o.warn ?? ((m: string) => console.warn(m));
    this.#listener = Deno.listen({ hostname: o.hostname, port: o.port, transport: "tcp" });
    this.addr = this.#listener.addr as Deno.NetAddr;
    this.#s = settings(o, handler, this.#counts, () => this.#stopped);
    const hostName = this.addr.hostname.includes(":")
      ? `[${this.addr.hostname}]`
      : this.addr.hostname;
    this.#host = `${hostName}:${this.addr.port}`;
    // the sweep: every phase deadline (head, body, idle, write) is enforced here, not by a timer each
    this.#sweep = setInterval(() => {
      const nowMs = performance.now();
      for (const c of this.#conns) if (c.deadlineMs < nowMs) c.close();
    }, 250);
    Deno.unrefTimer(this.#sweep);
    this.#spare = openSpare();
    if (o.signal?.aborted) this.#stop();
    o.signal?.addEventListener("abort", this.#stop, { once: true });
    this.finished = this.#accept().then(() => this.#closed());
  }

  stats(): ReturnType<HttpServer["stats"]> {
    return { open: this.#conns.size, ...this.#counts };
  }

  /** Stops accepting, closes idle connections, and cuts the rest after `drainMs`. */
  readonly #stop = () => {
    this.#stopped = true;
    try {
      this.#listener.close();
    } catch { /* closed */ }
    for (const c of this.#conns) if (c.idle) c.close();
    const drain = setTimeout(
      () => this.#conns.forEach((c) => c.close()),
      this.#o.drainMs ?? 10_000,
    );
    Deno.unrefTimer(drain);
  };

  async #accept(): Promise<void> {
    let backoffMs = 10;
    while (!this.#stopped) {
      let conn: Deno.TcpConn;
      try {
        conn = await this.#listener.accept();
        backoffMs = 10;
      } catch (e) {
        if (this.#stopped) break;
        if (!FD_EXHAUSTED.test(String(e))) continue; // an aborted handshake, say: go on
        await this.#outOfDescriptors(backoffMs);
        backoffMs = Math.min(backoffMs * 2, 1000);
        continue;
      }
      this.#admit(conn);
    }
  }

  /** Out of descriptors: answers one waiting client with the spare, then waits for some to free. */
  async #outOfDescriptors(backoffMs: number): Promise<void> {
    this.#counts.fdPauses++;
    this.#warnSome(
      `Out of file descriptors (${this.#conns.size} connections open): accepting paused, retrying in ${backoffMs} ms`,
    );
    if (this.#spare) {
      this.#spare.close();
      this.#spare = null;
      try {
        this.#refuse(await this.#listener.accept(), "Out of file descriptors; try again later");
      } catch { /* none waiting */ }
    }
    await new Promise((r) => setTimeout(r, backoffMs));
    this.#spare ??= openSpare();
  }

  /** Serves a new connection, or at the cap (no idle one to close) answers it 503. */
  #admit(conn: Deno.TcpConn): void {
    const conns = this.#conns;
    if (conns.size >= this.#max && !closeOldestIdle(conns, this.#counts)) {
      this.#warnSome(
        `Connection cap reached (${this.#max} open): answering 503 to new connections`,
      );
      this.#refuse(conn, `Too many connections (${this.#max} open); try again later`);
      return;
    }
    try {
      conn.setNoDelay(true);
    } catch { /* closed */ }
    const c = new ServerConn(conn, this.#s, this.#host);
    conns.add(c);
    c.run().finally(() => conns.delete(c));
  }

  #refuse(conn: Deno.TcpConn, why: string): void {
    this.#counts.refused++;
    // a client may be sending its request: the 503 must not be lost to a reset, but a
    // lingering close holds a descriptor, so only a few linger at once (a flood is cut)
    const linger = this.#lingering < MAX_LINGERING;
    if (linger) this.#lingering++;
    answerAndClose(conn, errorAnswer(503, why, "ServiceUnavailableError"), linger)
      .finally(() => linger && this.#lingering--);
  }

  /** A warning at most every 5 s. */
  #warnSome(msg: string): void {
    const t = performance.now();
    if (t - this.#lastWarnMs < 5000) return;
    this.#lastWarnMs = t;
    this.#warn(msg);
  }

  /** After the accept loop: waits until every connection is closed, then frees the rest. */
  async #closed(): Promise<void> {
    while (this.#conns.size > 0) await new Promise((r) => setTimeout(r, 50));
    clearInterval(this.#sweep);
    this.#spare?.close();
    this.#o.signal?.removeEventListener("abort", this.#stop);
  }
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
