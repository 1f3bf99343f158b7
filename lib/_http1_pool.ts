/**
 * The keep-alive pool of {@linkcode http1}: connections with their read
 * buffers, kept per host while idle. An idle connection has a read pending,
 * so a server's close is seen at once and the connection dropped; it expires
 * after the server's `Keep-Alive: timeout=` (less a margin) or
 * {@linkcode DEFAULT_IDLE_MS}.
 *
 * @module
 */
import { ReadBuffer } from "./_read_buffer.ts";
import { Deque } from "./deque.ts";

const idle = new Map<string, Reader[]>();
/** Idle connections kept per host. */
const MAX_IDLE = 1024;
/**
 * How long an idle connection is reused when the server names no
 * `Keep-Alive: timeout=`: below uvicorn's 5 s, the shortest common server default.
 */
export const DEFAULT_IDLE_MS = 4000;
/** Margin taken off a server's `Keep-Alive: timeout=` (its clock starts before ours). */
const IDLE_MARGIN_MS = 1000;

/**
 * A client connection's first read buffer (bytes): a streamed answer comes a
 * few small events a read, and a load generator may hold thousands of
 * connections at once (16 KiB each was 300 MB at 20,000).
 */
const READ_BYTES = 4096;

/** A connection with its read buffer (kept with it in the pool). */
export class Reader extends ReadBuffer {
  constructor(conn: Deno.TcpConn) {
    super(conn, READ_BYTES);
  }

  /** While pooled: not to be reused after this `performance.now()`. */
  expiresMs = Infinity;
  /** Pooled, waiting for a request. */
  idle = false;
  /** Responses read on it so far (0: a new connection). */
  served = 0;

  /**
   * Pools the connection: a read starts at once, so a server that closes it
   * (or sends stray bytes) is seen while it is idle and `onDead` drops it.
   */
  park(idleMs: number, onDead: (r: Reader) => void): void {
    this.start = this.end = 0;
    this.idle = true;
    this.expiresMs = performance.now() + idleMs;
    const p = this.readAhead();
    const dead = () => {
      if (this.idle) onDead(this);
    };
    p.then(dead, dead);
    this.conn.unref();
  }

  /** Takes the connection out of the pool for a request. */
  unpark(): void {
    this.idle = false;
    this.conn.ref();
  }
}

/** The newest pooled connection of `key` that has not expired, or null. */
export function takeIdle(key: string): Reader | null {
  const pool = idle.get(key);
  if (!pool) return null;
  const nowMs = performance.now();
  for (let r = pool.pop(); r; r = pool.pop()) {
    r.unpark();
    if (nowMs < r.expiresMs) return r;
    r.conn.close();
  }
  return null;
}

/**
 * Connection attempts in progress to one host from one thread, at most. A
 * burst past it (thousands of requests a second meeting a pause, each finding
 * no idle connection) once opened hundreds at once: the server's accept queue
 * (511 for Deno, 2048 for uvicorn) overflowed, dropped handshakes were
 * retried by the kernel after 1 s, and every request behind them read a
 * 1–2 s TTFT (bench at 5,000 req/s, `nstat` ListenOverflows). A request past
 * the limit waits for whichever comes first: a connection a finished request
 * gives back, or a free attempt. At ~0.1 ms a loopback connect, 64 attempts
 * open far more connections a second than any rate here needs.
 */
export const MAX_CONNECTING = 64;

/** A request waiting for a connection: given one, or `null` (its own attempt may start). */
interface Waiter {
  give: (r: Reader | null) => void;
  /** Cancelled while waiting: skipped. */
  gone: boolean;
}

/** Attempts in progress and requests waiting, per host. */
interface Gate {
  connecting: number;
  waiting: Deque<Waiter>;
}
const gates = new Map<string, Gate>();

function gateOf(key: string): Gate {
  let g = gates.get(key);
  if (!g) gates.set(key, g = { connecting: 0, waiting: new Deque() });
  return g;
}

/** The next waiter not cancelled, taken from the queue, or undefined. */
function nextWaiter(g: Gate): Waiter | undefined {
  for (let w = g.waiting.shift(); w; w = g.waiting.shift()) if (!w.gone) return w;
  return undefined;
}

/**
 * A connection for a request to `key` that found none idle: `null` once it may
 * open its own (call {@linkcode endConnect} when that attempt ends), or a
 * connection a finished request gave back. `onCancel` is handed a function that
 * withdraws the request from the queue (rejecting with its argument).
 */
export function connectTurn(
  key: string,
  onCancel: (withdraw: ((why: unknown) => void) | null) => void,
): null | Promise<Reader | null> {
  const g = gateOf(key);
  if (g.connecting < MAX_CONNECTING) {
    g.connecting++;
    return null;
  }
  return new Promise((resolve, reject) => {
    const w: Waiter = {
      gone: false,
      give: (r) => {
        onCancel(null);
        if (r === null) g.connecting++;
        resolve(r);
      },
    };
    onCancel((why) => {
      w.gone = true;
      reject(why);
    });
    g.waiting.push(w);
  });
}

/** A connection attempt to `key` ended: the next waiter may start its own. */
export function endConnect(key: string): void {
  const g = gateOf(key);
  g.connecting--;
  nextWaiter(g)?.give(null);
}

/**
 * A response read whole on `r`: the connection goes to a request waiting for
 * one, else to the pool for `idleMs`, else (the server closes it, stray bytes)
 * it is closed.
 */
export function release(key: string, r: Reader, idleMs: number): void {
  r.served++;
  const reusable = r.start === r.end && idleMs > 0;
  const w = reusable ? nextWaiter(gateOf(key)) : undefined;
  if (w) return w.give(r);
  let pool = idle.get(key);
  if (!pool) idle.set(key, pool = []);
  expireOldest(pool);
  if (pool.length < MAX_IDLE && reusable) {
    pool.push(r);
    r.park(idleMs, drop(key));
  } else r.conn.close();
}

/**
 * Closes the pool's expired connections. The newest is taken first, so the
 * oldest (at the bottom) are the ones a burst opened and nothing reused since:
 * without this they waited, each with its read pending, until the server
 * closed them (a server with no idle timeout never does).
 */
function expireOldest(pool: Reader[]): void {
  const nowMs = performance.now();
  if (!pool.length || pool[0].expiresMs > nowMs) return;
  let k = 0;
  while (k < pool.length && pool[k].expiresMs <= nowMs) k++;
  for (const r of pool.splice(0, k)) {
    r.idle = false;
    r.conn.close();
  }
}

/** Removes a pooled connection that the server closed (or wrote to) while it was idle. */
function drop(key: string): (r: Reader) => void {
  return (r) => {
    const pool = idle.get(key);
    const i = pool ? pool.indexOf(r) : -1;
    if (i >= 0) pool!.splice(i, 1);
    r.idle = false;
    try {
      r.conn.close();
    } catch { /* closed */ }
  };
}

/** Closes every pooled idle connection (tests, shutdown). */
export function closeIdle(): void {
  for (const pool of idle.values()) {
    for (const r of pool.splice(0)) {
      r.idle = false;
      r.conn.close();
    }
  }
}

/** Idle connections pooled now, all hosts (tests). */
export function idleCount(): number {
  let n = 0;
  for (const pool of idle.values()) n += pool.length;
  return n;
}

/**
 * How long a connection may sit idle after a response with these headers: 0
 * when the server closes it, else the server's `Keep-Alive: timeout=` less a
 * margin, else {@linkcode DEFAULT_IDLE_MS}.
 */
export function idleMsOf(headers: Map<string, string>): number {
  if (/close/i.test(headers.get("connection") ?? "")) return 0;
  const m = /timeout\s*=\s*(\d+(?:\.\d+)?)/i.exec(headers.get("keep-alive") ?? "");
  if (!m) return DEFAULT_IDLE_MS;
  return Math.max(0, Math.min(Number(m[1]) * 1000 - IDLE_MARGIN_MS, DEFAULT_IDLE_MS * 15));
}
