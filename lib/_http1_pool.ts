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

export function release(key: string, r: Reader, idleMs: number): void {
  r.served++;
  let pool = idle.get(key);
  if (!pool) idle.set(key, pool = []);
  if (pool.length < MAX_IDLE && r.start === r.end && idleMs > 0) {
    pool.push(r);
    r.park(idleMs, drop(key));
  } else r.conn.close();
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
