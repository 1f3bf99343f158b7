/**
 * The simulated engine's start-up and shutdown around its listening server:
 * `--startup-delay`, P2P-NCCL registration pings, and the drain after the
 * first stop signal. Its timers run on an injectable clock, so tests check
 * "a ping every 3 s" and "7 s of drain" without waiting for them.
 *
 * @module
 */
import { DROP_AFTER_MS, startPinging } from "../../../lib/p2p_registration.ts";
import { SYSTEM_TIMERS, type TimerClock, type TimerId } from "../../../lib/clock.ts";
import { StopSignals } from "../../../lib/signals.ts";
import { p2pProxy } from "./kv_transfer.ts";
import type { KvTransferConfig } from "../../../lib/contracts.ts";

/**
 * How long a registered engine serves on after the first stop signal: the
 * proxy's drop time and 2 s more, so no request routed meanwhile fails.
 */
export const DRAIN_MS = DROP_AFTER_MS + 2000;

/** Options of {@linkcode Lifecycle}. */
export interface LifecycleOptions {
  /** `--startup-delay`, s: not ready this long after the server listens. */
  startupDelayS: number;
  /** The KV connector's config; P2P-NCCL with a proxy named registers. */
  kvTransfer?: KvTransferConfig;
  /** Port of the KV side channel (the registration's `zmq_address`). */
  kvSidePort: number;
  /** Address the registration names (vLLM's `VLLM_HOST_IP`). @default "127.0.0.1" */
  hostIp?: string;
  /** Writes an info log line. */
  info(msg: string): void;
  /** Timers of the startup delay, the pings and the drain. @default SYSTEM_TIMERS */
  clock?: TimerClock;
}

/** Start-up and shutdown around the listening server; see the module doc. */
export class Lifecycle {
  ready: boolean;
  readonly abort = new AbortController();
  readonly #o: LifecycleOptions;
  readonly #clock: TimerClock;
  #startup: TimerId | undefined;
  #drain: TimerId | undefined;
  #pings: { stop(): void } | undefined;

  constructor(o: LifecycleOptions) {
    this.#o = o;
    this.#clock = o.clock ?? SYSTEM_TIMERS;
    this.ready = o.startupDelayS === 0;
  }

  /** The server listens: ready now or after the delay; a P2P-NCCL engine registers. */
  listening(a: { hostname: string; port: number }): void {
    const info = this.#o.info;
    info(`Starting vLLM API server 0 on http://${a.hostname}:${a.port}`);
    if (this.ready) info("Application startup complete.");
    // --startup-delay counts from the moment it listens (/health answers 503 until then)
    else {
      this.#startup = this.#clock.setTimer(
        this.#o.startupDelayS * 1000,
        () => (this.ready = true, info("Application startup complete.")),
      );
    }
    this.#register(a.port);
  }

  /** P2P-NCCL with a proxy named: register like vLLM's P2pNcclEngine (a ping every 3 s). */
  #register(port: number): void {
    const kvTransfer = this.#o.kvTransfer;
    const proxy = kvTransfer ? p2pProxy(kvTransfer) : undefined;
    if (!proxy || !kvTransfer) return;
    const hostIp = this.#o.hostIp || "127.0.0.1";
    const registration = {
      type: kvTransfer.kv_role === "kv_consumer" ? "D" as const : "P" as const,
      http_address: `${hostIp}:${proxy.httpPort ?? port}`,
      zmq_address: `${hostIp}:${this.#o.kvSidePort}`,
    };
    this.#pings = startPinging({ proxy: proxy.proxy, registration, clock: this.#clock });
    this.#o.info(
      `P2P-NCCL: registering with the proxy at ${proxy.proxy} as ${registration.type} ${registration.http_address} (KV ${registration.zmq_address}), a ping every 3 s`,
    );
  }

  /**
   * The first signal stops; a registered engine first stops pinging and serves on
   * until the proxy has dropped it ({@linkcode DRAIN_MS}), so no request routed
   * meanwhile fails. A later signal stops at once. `listen: false` hears no OS
   * signal (tests call `receive`).
   */
  stopSignals(listen = true): StopSignals {
    return new StopSignals({
      onStop: () => {
        if (!this.#pings) return this.abort.abort();
        this.#pings.stop();
        this.#o.info(
          `P2P-NCCL: stopped registering; serving ${
            DRAIN_MS / 1000
          } s more until the proxy drops this instance`,
        );
        this.#drain = this.#clock.setTimer(DRAIN_MS, () => this.abort.abort());
      },
      onForce: () => {
        this.#clock.clearTimer(this.#drain);
        this.abort.abort();
      },
      now: () => this.#clock.nowMs(),
    }, listen);
  }

  /** After the server finished: no timer or ping left. */
  close(): void {
    this.#clock.clearTimer(this.#drain);
    this.#clock.clearTimer(this.#startup);
    this.#pings?.stop();
  }
}
