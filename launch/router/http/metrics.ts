/**
 * The router's Prometheus metrics: requests and errors by backend and leg,
 * leg and end-to-end latency histograms, and per-backend gauges.
 *
 * @module
 */
import type { Backend } from "./backends.ts";
import { escapeLabel, Histogram, PromText } from "../../../lib/prometheus.ts";

/**
 * Legs of a request: `encode`, `prefill`, `decode` (after a KV transfer), and
 * `direct` (the whole request on one engine: agg, dp, ppd turn 2+).
 */
export type Leg = "encode" | "prefill" | "decode" | "direct";

/** Histogram bucket bounds in seconds. */
export const BUCKETS_S = [
  0.001,
  0.0025,
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  5,
  10,
  30,
  60,
  120,
];

/** A histogram over {@linkcode BUCKETS_S}, bounds written as JavaScript numbers (`le="1"`). */
const newHistogram = () => new Histogram(BUCKETS_S, String);

/** The label text of one leg on one backend. */
const legLabels = (backend: string, leg: Leg) => `backend="${escapeLabel(backend)}",leg="${leg}"`;

/** The help text of each family the router writes. */
const HELP = {
  requests: "Legs sent, by backend and leg.",
  errors: "Legs that failed, by backend and leg.",
  cancelled: "Legs cut because their client went away.",
  legs: "Leg latency (decode/direct: to first byte).",
  e2e: "End-to-end latency by route.",
  inFlight: "Legs in flight per backend.",
  healthy: "1 when the backend is in rotation.",
};

/** Counters and histograms of one router. */
export class RouterMetrics {
  #requests = new Map<string, number>();
  #errors = new Map<string, number>();
  #cancelled = new Map<string, number>();
  #legs = new Map<Leg, Histogram>();
  #e2e = new Map<string, Histogram>();

  /** Counts one leg on `backend`; `ok=false` also counts an error. */
  count(backend: string, leg: Leg, ok: boolean): void {
    const k = legLabels(backend, leg);
    this.#requests.set(k, (this.#requests.get(k) ?? 0) + 1);
    if (!ok) this.#errors.set(k, (this.#errors.get(k) ?? 0) + 1);
  }

  /** Counts one leg on `backend` whose client went away (not an error of the backend). */
  cancelled(backend: string, leg: Leg): void {
    const k = legLabels(backend, leg);
    this.#requests.set(k, (this.#requests.get(k) ?? 0) + 1);
    this.#cancelled.set(k, (this.#cancelled.get(k) ?? 0) + 1);
  }

  /** Records a leg's latency (prefill/encode: whole leg; decode/direct: to first byte). */
  observeLeg(leg: Leg, ms: number): void {
    let h = this.#legs.get(leg);
    if (!h) this.#legs.set(leg, h = newHistogram());
    h.observe(ms / 1000);
  }

  /** Records a whole request's latency under its route (`pd`, `ppd`, `epd`, `direct`). */
  observeRequest(route: string, ms: number): void {
    let h = this.#e2e.get(route);
    if (!h) this.#e2e.set(route, h = newHistogram());
    h.observe(ms / 1000);
  }

  /** Forgets every counter and histogram. */
  clear(): void {
    this.#requests.clear();
    this.#errors.clear();
    this.#cancelled.clear();
    this.#legs.clear();
    this.#e2e.clear();
  }

  /** Prometheus text exposition, with the backends' current gauges. */
  render(backends: readonly Backend[]): string {
    const out = new PromText();
    const counter = (name: string, help: string, values: Map<string, number>) => {
      out.family(name, "counter", help);
      for (const [k, v] of values) out.sample(name, k, v);
    };
    counter("topobench_router_requests_total", HELP.requests, this.#requests);
    counter("topobench_router_errors_total", HELP.errors, this.#errors);
    counter("topobench_router_client_cancelled_total", HELP.cancelled, this.#cancelled);
    const legs = "topobench_router_leg_latency_seconds";
    out.family(legs, "histogram", HELP.legs);
    for (const [leg, h] of this.#legs) out.histogram(legs, `leg="${leg}"`, h);
    const e2e = "topobench_router_request_latency_seconds";
    out.family(e2e, "histogram", HELP.e2e);
    for (const [route, h] of this.#e2e) out.histogram(e2e, `route="${escapeLabel(route)}"`, h);
    const gauge = (name: string, help: string, value: (b: Backend) => number) => {
      out.family(name, "gauge", help);
      for (const b of backends) {
        out.sample(name, `backend="${escapeLabel(b.name)}",role="${b.role}"`, value(b));
      }
    };
    gauge("topobench_router_in_flight", HELP.inFlight, (b) => b.inFlight);
    gauge("topobench_router_backend_healthy", HELP.healthy, (b) => b.healthy ? 1 : 0);
    return out.text();
  }
}
