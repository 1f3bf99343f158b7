/**
 * The part of ZMQ that P2P-NCCL discovery uses, on the wire: ZMTP 3.0 with the
 * NULL mechanism (rfc.zeromq.org/spec/23), a DEALER that connects (and
 * reconnects) and a ROUTER that binds and hands each message over with the
 * sender's identity first, as libzmq does. Written here because the npm
 * `zeromq` binding, though it loads under Deno, crashed the Deno process
 * (SIGSEGV) in about one run in three of the registration test.
 *
 * @module
 */

const FLAG_MORE = 0x01;
const FLAG_LONG = 0x02;
const FLAG_COMMAND = 0x04;
const te = new TextEncoder();
const td = new TextDecoder();

/** The 64-byte greeting: signature, version 3.0, mechanism NULL, as-server 0. */
export function greeting(): Uint8Array {
  const g = new Uint8Array(64);
  g[0] = 0xff;
  g[9] = 0x7f;
  g[10] = 3;
  g[11] = 0;
  g.set(te.encode("NULL"), 12);
  return g;
}

/** One frame: flags, a 1- or 8-byte size, the body. */
export function frameBytes(body: Uint8Array, flags: number): Uint8Array {
  const long = body.length > 255;
  const head = long ? 9 : 2;
  const out = new Uint8Array(head + body.length);
  out[0] = flags | (long ? FLAG_LONG : 0);
  if (long) new DataView(out.buffer).setBigUint64(1, BigInt(body.length));
  else out[1] = body.length;
  out.set(body, head);
  return out;
}

/** A READY command with its properties (`Socket-Type`, `Identity`). */
export function readyCommand(props: Record<string, Uint8Array>): Uint8Array {
  const parts: number[] = [5, ...te.encode("READY")];
  for (const [k, v] of Object.entries(props)) {
    const name = te.encode(k);
    parts.push(name.length, ...name, (v.length >>> 24) & 255, (v.length >>> 16) & 255);
    parts.push((v.length >>> 8) & 255, v.length & 255, ...v);
  }
  return frameBytes(new Uint8Array(parts), FLAG_COMMAND);
}

/** Reads a command body into its name and properties. */
function parseCommand(body: Uint8Array): { name: string; props: Map<string, Uint8Array> } {
  const n = body[0];
  const name = td.decode(body.subarray(1, 1 + n));
  const props = new Map<string, Uint8Array>();
  if (name !== "READY") return { name, props };
  let at = 1 + n;
  while (at < body.length) {
    const kl = body[at];
    const k = td.decode(body.subarray(at + 1, at + 1 + kl)).toLowerCase();
    at += 1 + kl;
    const vl = new DataView(body.buffer, body.byteOffset + at, 4).getUint32(0);
    props.set(k, body.subarray(at + 4, at + 4 + vl));
    at += 4 + vl;
  }
  return { name, props };
}

/** Limits of one connection. */
export interface PeerLimits {
  /** A frame declaring more than this closes the connection. @default MAX_FRAME_BYTES */
  maxFrameBytes?: number;
  /** A message of more bytes or frames than these closes the connection. @default MAX_FRAME_BYTES, 64 */
  maxMessageBytes?: number;
  maxMessageFrames?: number;
  /** No byte for this long closes the connection (0: never). @default 0 */
  idleTimeoutMs?: number;
}

/** Largest frame a peer may declare: registrations are under 200 bytes. */
export const MAX_FRAME_BYTES = 65536;

/** Why a connection was closed by us (a limit), as opposed to by the peer. */
export class PeerRefused extends Error {}

/** One ZMTP connection after the greeting and READY exchange. */
class Peer {
  // received bytes live in #buf[#start, #end): appended in place, compacted or
  // doubled only when full, so reading n bytes costs O(n), not O(n²)
  #buf = new Uint8Array(512);
  #start = 0;
  #end = 0;
  identity: Uint8Array = new Uint8Array(0);
  closed = false;
  /** Set when a limit closed the connection. */
  why: PeerRefused | null = null;
  readonly #maxFrame: number;
  readonly #maxMessage: number;
  readonly #maxFrames: number;

  constructor(
    readonly conn: Deno.Conn,
    readonly socketType: "DEALER" | "ROUTER",
    readonly limits: PeerLimits = {},
  ) {
    this.#maxFrame = limits.maxFrameBytes ?? MAX_FRAME_BYTES;
    this.#maxMessage = limits.maxMessageBytes ?? this.#maxFrame;
    this.#maxFrames = limits.maxMessageFrames ?? 64;
  }

  /** Closes the connection for a reason (a limit); the pending read then ends. */
  refuse(why: string): void {
    this.why ??= new PeerRefused(why);
    this.close();
  }

  async #fill(): Promise<boolean> {
    if (this.#end === this.#buf.length) {
      const live = this.#end - this.#start;
      if (live * 2 > this.#buf.length) {
        const next = new Uint8Array(this.#buf.length * 2);
        next.set(this.#buf.subarray(this.#start, this.#end));
        this.#buf = next;
      } else this.#buf.copyWithin(0, this.#start, this.#end);
      this.#start = 0;
      this.#end = live;
    }
    const idleMs = this.limits.idleTimeoutMs ?? 0;
    const timer = idleMs > 0
      ? setTimeout(() => this.refuse(`no byte for ${idleMs / 1000} s (idle timeout)`), idleMs)
      : undefined;
    try {
      const n = await this.conn.read(this.#buf.subarray(this.#end));
      if (n === null) return false;
      this.#end += n;
      return true;
    } catch (e) {
      if (this.why) return false;
      throw e;
    } finally {
      clearTimeout(timer);
    }
  }

  async #take(n: number): Promise<Uint8Array | null> {
    while (this.#end - this.#start < n) if (!(await this.#fill())) return null;
    const out = this.#buf.slice(this.#start, this.#start + n);
    this.#start += n;
    return out;
  }

  async #frame(): Promise<{ flags: number; body: Uint8Array } | null> {
    const h = await this.#take(1);
    if (!h) return null;
    const flags = h[0];
    let size: number;
    if (flags & FLAG_LONG) {
      const s = await this.#take(8);
      if (!s) return null;
      const big = new DataView(s.buffer).getBigUint64(0);
      size = big > BigInt(this.#maxFrame) ? Infinity : Number(big);
      if (size === Infinity) {
        this.refuse(`a frame of ${big} bytes (the limit is ${this.#maxFrame})`);
        return null;
      }
    } else {
      const s = await this.#take(1);
      if (!s) return null;
      size = s[0];
    }
    if (size > this.#maxFrame) {
      this.refuse(`a frame of ${size} bytes (the limit is ${this.#maxFrame})`);
      return null;
    }
    const body = await this.#take(size);
    return body ? { flags, body } : null;
  }

  /** Greeting and READY, both ways; throws on a peer that is not ZMTP 3 NULL. */
  async handshake(identity?: Uint8Array): Promise<void> {
    const props: Record<string, Uint8Array> = { "Socket-Type": te.encode(this.socketType) };
    if (identity) props.Identity = identity;
    await this.write([greeting(), readyCommand(props)]);
    const g = await this.#take(64);
    if (!g || g[0] !== 0xff || g[9] !== 0x7f || g[10] < 3) {
      throw new Error("the peer is not a ZMTP 3 socket");
    }
    const mech = td.decode(g.subarray(12, 32)).replace(/\0+$/, "");
    if (mech !== "NULL") throw new Error(`the peer wants mechanism ${mech}, not NULL`);
    const f = await this.#frame();
    if (!f || !(f.flags & FLAG_COMMAND)) throw new Error("the peer sent no READY");
    const { name, props: theirs } = parseCommand(f.body);
    if (name !== "READY") throw new Error(`the peer sent ${name}, not READY`);
    this.identity = theirs.get("identity") ?? new Uint8Array(0);
  }

  /** The next message (its frames), or null once the connection ends. */
  async message(): Promise<Uint8Array[] | null> {
    const parts: Uint8Array[] = [];
    let bytes = 0;
    for (;;) {
      const f = await this.#frame();
      if (!f) return null;
      if (f.flags & FLAG_COMMAND) {
        const n = f.body[0];
        if (td.decode(f.body.subarray(1, 1 + n)) === "PING") {
          // PONG carries the PING's context (after its 2-byte TTL)
          const ctx = f.body.subarray(1 + n + 2);
          const pong = new Uint8Array([4, ...te.encode("PONG"), ...ctx]);
          await this.write([frameBytes(pong, FLAG_COMMAND)]).catch(() => {});
        }
        continue;
      }
      parts.push(f.body);
      bytes += f.body.length;
      if (bytes > this.#maxMessage || parts.length > this.#maxFrames) {
        this.refuse(
          `a message of over ${this.#maxMessage} bytes or ${this.#maxFrames} frames`,
        );
        return null;
      }
      if (!(f.flags & FLAG_MORE)) return parts;
    }
  }

  async write(chunks: Uint8Array[]): Promise<void> {
    const n = chunks.reduce((a, c) => a + c.length, 0);
    const all = new Uint8Array(n);
    let at = 0;
    for (const c of chunks) all.set(c, (at += c.length) - c.length);
    for (let off = 0; off < all.length;) off += await this.conn.write(all.subarray(off));
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.conn.close();
    } catch { /* closed */ }
  }
}

/** Frames of one message, MORE set on all but the last. */
function messageFrames(frames: Uint8Array[]): Uint8Array[] {
  return frames.map((f, i) => frameBytes(f, i < frames.length - 1 ? FLAG_MORE : 0));
}

/**
 * A DEALER: connects to `host:port`, reconnects every `reconnectMs` while the
 * peer is away; a message sent while not connected is dropped (as with a send
 * high-water mark of zero).
 */
export class Dealer {
  #peer: Peer | null = null;
  #closed = false;
  #timer: ReturnType<typeof setTimeout> | undefined;

  /**
   * @param onConnect called after each handshake (the first connection and
   * every reconnection)
   */
  constructor(
    readonly host: string,
    readonly port: number,
    readonly identity: Uint8Array,
    readonly reconnectMs = 1000,
    readonly onConnect: () => void = () => {},
  ) {
    this.#connect();
  }

  #connect(): void {
    if (this.#closed) return;
    (async () => {
      const conn = await Deno.connect({ hostname: this.host, port: this.port });
      const peer = new Peer(conn, "DEALER");
      if (this.#closed) return peer.close();
      const hs = setTimeout(() => peer.refuse("no handshake within 10 s"), 10_000);
      await peer.handshake(this.identity).finally(() => clearTimeout(hs));
      this.#peer = peer;
      this.onConnect();
      // read until the connection ends (a ROUTER may send nothing)
      while (await peer.message()) { /* DEALER replies are not used */ }
      throw new Error("closed by the peer");
    })().catch(() => {
      this.#peer?.close();
      this.#peer = null;
      if (!this.#closed) this.#timer = setTimeout(() => this.#connect(), this.reconnectMs);
    });
  }

  /** Whether the handshake is done and a send goes out. */
  get connected(): boolean {
    return this.#peer !== null;
  }

  /** Sends one message of one or more frames; false when not connected (dropped). */
  async send(...frames: Uint8Array[]): Promise<boolean> {
    const p = this.#peer;
    if (!p) return false;
    try {
      await p.write(messageFrames(frames));
      return true;
    } catch {
      return false;
    }
  }

  /** Closes the connection and stops reconnecting. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#peer?.close();
    this.#peer = null;
  }
}

/** Limits of a {@linkcode RouterSocket}. */
export interface RouterLimits extends PeerLimits {
  /** A connection without greeting and READY after this long is closed. @default 5000 */
  handshakeTimeoutMs?: number;
  /** Connections beyond this many are closed at once. @default 256 */
  maxConnections?: number;
  /** Called when a limit closes a connection (for a log line). */
  onRefuse?: (why: string, remote: string) => void;
}

const remoteOf = (c: Deno.Conn) => {
  const a = c.remoteAddr as Deno.NetAddr;
  return a.hostname.includes(":") ? `[${a.hostname}]:${a.port}` : `${a.hostname}:${a.port}`;
};

/** A ROUTER: binds, and hands each message over as `[identity, ...frames]`. */
export class RouterSocket {
  readonly #listener: Deno.TcpListener;
  readonly #peers = new Set<Peer>();
  readonly #serving = new Set<Promise<void>>();
  #accepting: Promise<void>;
  #closed = false;

  /**
   * Binds `host:port` (0: a free port) and calls `onMessage` for each message.
   * By default a connection idle for 60 s is closed (vLLM pings every 3 s).
   */
  constructor(
    host: string,
    port: number,
    readonly onMessage: (identity: Uint8Array, frames: Uint8Array[]) => void,
    readonly limits: RouterLimits = {},
  ) {
    this.#listener = Deno.listen({ hostname: host, port });
    this.#accepting = this.#accept();
  }

  /** The bound port. */
  get port(): number {
    return this.#listener.addr.port;
  }

  /** Connections open now. */
  get connections(): number {
    return this.#peers.size;
  }

  async #accept(): Promise<void> {
    const max = this.limits.maxConnections ?? 256;
    try {
      for await (const conn of this.#listener) {
        if (this.#peers.size >= max) {
          this.limits.onRefuse?.(`over ${max} connections`, remoteOf(conn));
          try {
            conn.close();
          } catch { /* gone */ }
          continue;
        }
        const p = this.#serve(
          new Peer(conn, "ROUTER", { idleTimeoutMs: 60_000, ...this.limits }),
        );
        this.#serving.add(p);
        p.finally(() => this.#serving.delete(p));
      }
    } catch { /* closed */ }
  }

  async #serve(peer: Peer): Promise<void> {
    this.#peers.add(peer);
    const hsMs = this.limits.handshakeTimeoutMs ?? 5000;
    const hs = setTimeout(() => peer.refuse(`no handshake within ${hsMs / 1000} s`), hsMs);
    try {
      await peer.handshake();
      clearTimeout(hs);
      if (peer.identity.length === 0) peer.identity = crypto.getRandomValues(new Uint8Array(5));
      for (let m = await peer.message(); m && !this.#closed; m = await peer.message()) {
        this.onMessage(peer.identity, m);
      }
    } catch {
      /* a peer that went away or spoke something else */
    } finally {
      clearTimeout(hs);
      if (peer.why && !this.#closed) {
        this.limits.onRefuse?.(peer.why.message, remoteOf(peer.conn));
      }
      peer.close();
      this.#peers.delete(peer);
    }
  }

  /** Stops listening and closes every connection. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#listener.close();
    for (const p of this.#peers) p.close();
    await this.#accepting;
    await Promise.all(this.#serving);
  }
}
