/**
 * P2P-NCCL service discovery as vLLM does it, both sides. Each engine with
 * `P2pNcclConnector` and a `proxy_ip`/`proxy_port` in its extra config opens a
 * ZMQ DEALER (identity = its `zmq_address`) to `tcp://proxy_ip:proxy_port` and
 * sends `msgpack({"type": "P"|"D", "http_address", "zmq_address"})` every 3 s
 * (`P2pNcclEngine.ping`, vllm/distributed/kv_transfer/kv_connector/v1/p2p/
 * p2p_nccl_engine.py); the xPyD proxy listens with a ROUTER socket and drops an
 * instance it has not heard from for 5 s (examples/disaggregated/p2p_nccl_xpyd/
 * disagg_proxy_p2p_nccl_xpyd.py). ZMQ is our ZMTP 3 DEALER/ROUTER
 * (`zmtp.ts`: the npm `zeromq` binding crashed Deno); msgpack is the npm
 * `@msgpack/msgpack` package.
 *
 * @module
 */
import { decode, encode } from "@msgpack/msgpack";
import { parseHostPort } from "./allow_list.ts";
import { repeat, SYSTEM_TIMERS, type TimerClock } from "./clock.ts";
import { Dealer, type RouterLimits, RouterSocket } from "./zmtp.ts";

/** Seconds between an engine's pings, as vLLM sends them. */
export const PING_INTERVAL_MS = 3000;
/** An instance silent this long is dropped, as vLLM's proxy does. */
export const DROP_AFTER_MS = 5000;

/** One registration message. */
export interface Registration {
  /** `P` (kv_producer, prefill) or `D` (kv_consumer, decode). */
  type: "P" | "D";
  /** `host:port` of the engine's HTTP server. */
  http_address: string;
  /** `host:port` of its KV socket (also the DEALER's identity). */
  zmq_address: string;
}

/** Decodes a registration; throws a TypeError naming what is wrong. */
export function decodeRegistration(bytes: Uint8Array): Registration {
  let o: unknown;
  try {
    o = decode(bytes);
  } catch (e) {
    throw new TypeError(`Cannot read a registration as msgpack: ${(e as Error).message}`);
  }
  const r = o as Partial<Registration>;
  if (typeof o !== "object" || o === null || (r.type !== "P" && r.type !== "D")) {
    throw new TypeError(
      `Cannot use ${JSON.stringify(o)} as a registration: type must be "P" or "D"`,
    );
  }
  // strict: IPv4, [IPv6] or a DNS-safe name, port 1-65535 (throws a TypeError naming the field)
  for (const k of ["http_address", "zmq_address"] as const) parseHostPort(r[k], k);
  return { type: r.type, http_address: r.http_address!, zmq_address: r.zmq_address! };
}

/** Options of {@linkcode startPinging}. */
export interface PingOptions {
  /** `host:port` of the proxy's ROUTER socket. */
  proxy: string;
  registration: Registration;
  /** @default PING_INTERVAL_MS */
  intervalMs?: number;
  /** The pings' timer. @default SYSTEM_TIMERS */
  clock?: TimerClock;
}

/**
 * Registers an engine: a DEALER that sends the registration now and every
 * `intervalMs` until the returned `stop` is called. A proxy that is not there
 * yet is retried by ZMQ; pings are not queued up meanwhile.
 */
export function startPinging(o: PingOptions): { stop(): void } {
  const i = o.proxy.lastIndexOf(":");
  const host = o.proxy.slice(0, i).replace(/^\[|\]$/g, "");
  const msg = encode(o.registration);
  let stopped = false;
  const ping = () => {
    if (stopped) return;
    // not connected yet (no proxy): this ping is dropped, the next one carries the same news
    void dealer.send(msg);
  };
  // a ping as soon as a connection is up (a proxy that came late hears at once)
  const dealer = new Dealer(
    host,
    Number(o.proxy.slice(i + 1)),
    new TextEncoder().encode(o.registration.zmq_address),
    1000,
    ping,
  );
  const stopTimer = repeat(o.clock ?? SYSTEM_TIMERS, o.intervalMs ?? PING_INTERVAL_MS, ping);
  return {
    stop() {
      if (stopped) return;
      stopped = true;
      stopTimer();
      dealer.close();
    },
  };
}

/** An instance the listener knows, with when it was last heard from. */
export interface Registered extends Registration {
  lastSeenMs: number;
}

/** Options of {@linkcode RegistrationTable}: what joins, what leaves, and when. */
export interface TableOptions {
  /** A new instance registered (its first ping). */
  onJoin(r: Registered): void;
  /** An instance was silent for `dropAfterMs`. */
  onLeave(r: Registered): void;
  /** A message that is not a registration. */
  onBadMessage?(why: string): void;
  /** @default DROP_AFTER_MS */
  dropAfterMs?: number;
  /**
   * Why a registration may not join (e.g. not in the allow-list), or null to
   * admit it. @default every valid registration joins
   */
  admit?(r: Registration): string | null;
  /** Registered instances at most; more are refused. @default 64 */
  maxInstances?: number;
  /**
   * A refused registration or a connection closed by a limit, for a log line
   * (each address at most once a minute).
   */
  onRefuse?(why: string): void;
  /** When an instance was last heard from, and the sweep's timer. @default SYSTEM_TIMERS */
  clock?: TimerClock;
}

/** Options of {@linkcode RegistrationListener}. */
export interface ListenerOptions extends TableOptions {
  /** Address to bind, e.g. `127.0.0.1` or `0.0.0.0`. */
  host: string;
  /** Port to bind (0: a free one). */
  port: number;
  /** Limits of the ZMQ socket (frame size, timeouts, connections). */
  limits?: RouterLimits;
}

/**
 * The listener's decisions, without its socket: who joins (admit, the
 * instance cap), who is dropped (silent for `dropAfterMs`, swept on
 * `clock`), and reports limited to one per address a minute.
 */
export class RegistrationTable {
  readonly #live = new Map<string, Registered>();
  /** When each refused address was last reported. */
  readonly #told = new Map<string, number>();
  readonly #clock: TimerClock;
  #stopSweep: (() => void) | undefined;

  constructor(readonly opts: TableOptions) {
    this.#clock = opts.clock ?? SYSTEM_TIMERS;
  }

  /** Instances heard from within the drop time, by `http_address`. */
  get live(): ReadonlyMap<string, Registered> {
    return this.#live;
  }

  /** Starts sweeping out silent instances (every second, or a quarter of the drop time). */
  start(): void {
    const dropAfter = this.opts.dropAfterMs ?? DROP_AFTER_MS;
    this.#stopSweep ??= repeat(this.#clock, Math.min(1000, dropAfter / 4), () => this.#sweep());
  }

  /** Takes one message: a registration joins, refreshes or is refused; anything else is reported. */
  receive(body: Uint8Array): void {
    let r: Registration;
    try {
      r = decodeRegistration(body);
    } catch (e) {
      const msg = (e as Error).message;
      return this.tell(msg, msg, this.opts.onBadMessage);
    }
    const known = this.#live.get(r.http_address);
    const same = known && known.type === r.type && known.zmq_address === r.zmq_address;
    if (!same) {
      const max = this.opts.maxInstances ?? 64;
      const why = this.opts.admit?.(r) ??
        (!known && this.#live.size >= max ? `over ${max} registered instances` : null);
      if (why) {
        const what = `${r.type} ${r.http_address} (KV ${r.zmq_address})`;
        const msg = `refused registration of ${what}: ${why}`;
        return this.tell(msg, r.http_address, this.opts.onRefuse);
      }
    }
    const entry = { ...r, lastSeenMs: this.#clock.nowMs() };
    this.#live.set(r.http_address, entry);
    if (!same) {
      if (known) this.opts.onLeave(known);
      this.opts.onJoin(entry);
    }
  }

  /** Reports a refusal or a bad message to `sink`, each `key` at most once a minute. */
  tell(why: string, key: string, sink?: (why: string) => void): void {
    const now = this.#clock.nowMs();
    if (now - (this.#told.get(key) ?? -Infinity) < 60_000) return;
    if (this.#told.size >= 10_000) this.#told.clear();
    this.#told.set(key, now);
    sink?.(why);
  }

  #sweep(): void {
    const now = this.#clock.nowMs();
    const dropAfterMs = this.opts.dropAfterMs ?? DROP_AFTER_MS;
    for (const [k, r] of this.#live) {
      if (now - r.lastSeenMs > dropAfterMs) {
        this.#live.delete(k);
        this.opts.onLeave(r);
      }
    }
  }

  /** Stops sweeping. */
  stop(): void {
    this.#stopSweep?.();
  }
}

/** The proxy side: a ROUTER socket that keeps the set of live instances. */
export class RegistrationListener {
  #router: RouterSocket | undefined;
  readonly #table: RegistrationTable;
  #closed = false;
  /** The bound port. */
  port = 0;

  constructor(readonly opts: ListenerOptions) {
    this.#table = new RegistrationTable(opts);
  }

  /** Instances heard from within the drop time, by `http_address`. */
  get live(): ReadonlyMap<string, Registered> {
    return this.#table.live;
  }

  /** Binds and starts receiving. */
  start(): Promise<void> {
    const { host, port } = this.opts;
    this.#router = new RouterSocket(
      host,
      port,
      (_identity, frames) => {
        const body = frames.at(-1);
        if (body) this.#table.receive(body);
      },
      {
        ...this.opts.limits,
        onRefuse: (why, remote) =>
          this.#table.tell(
            `${remote}: ${why}`,
            `${remote.replace(/:\d+$/, "")} ${why.replace(/[\d.]+/g, "#")}`,
            this.opts.onRefuse,
          ),
      },
    );
    this.port = this.#router.port;
    this.#table.start();
    return Promise.resolve();
  }

  /** Stops listening. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#table.stop();
    await this.#router?.close();
  }
}
