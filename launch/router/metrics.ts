/**
 * The router's Prometheus metrics: requests and errors by backend and leg,
 * leg and end-to-end latency histograms, and per-backend gauges.
 *
 * @module
 */
import type { Backend } from "./backends.ts";

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

class Histogram {
  counts = new Array<number>(BUCKETS_S.length).fill(0);
  sum = 0;
  n = 0;
  observe(s: number) {
    this.sum += s;
    this.n++;
    for (let i = 0; i < BUCKETS_S.length; i++) if (s <= BUCKETS_S[i]) this.counts[i]++;
  }
  render(name: string, labels: string, out: string[]) {
    const sep = labels ? "," : "";
    BUCKETS_S.forEach((b, i) =>
      out.push(`${name}_bucket{${labels}${sep}le="${b}"} ${this.counts[i]}`)
    );
    out.push(`${name}_bucket{${labels}${sep}le="+Inf"} ${this.n}`);
    out.push(`${name}_sum{${labels}} ${this.sum}`);
    out.push(`${name}_count{${labels}} ${this.n}`);
  }
}

const esc = (s: string) => s.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");

/** Counters and histograms of one router. */
export class RouterMetrics {
  #requests = new Map<string, number>();
  #errors = new Map<string, number>();
  #cancelled = new Map<string, number>();
  #legs = new Map<Leg, Histogram>();
  #e2e = new Map<string, Histogram>();

  /** Counts one leg on `backend`; `ok=false` also counts an error. */
  count(backend: string, leg: Leg, ok: boolean): void {
    const k = `backend="${esc(backend)}",leg="${leg}"`;
    this.#requests.set(k, (this.#requests.get(k) ?? 0) + 1);
    if (!ok) this.#errors.set(k, (this.#errors.get(k) ?? 0) + 1);
  }

  /** Counts one leg on `backend` whose client went away (not an error of the backend). */
  cancelled(backend: string, leg: Leg): void {
    const k = `backend="${esc(backend)}",leg="${leg}"`;
    this.#requests.set(k, (this.#requests.get(k) ?? 0) + 1);
    this.#cancelled.set(k, (this.#cancelled.get(k) ?? 0) + 1);
  }

  /** Records a leg's latency (prefill/encode: whole leg; decode/direct: to first byte). */
  observeLeg(leg: Leg, ms: number): void {
    let h = this.#legs.get(leg);
    if (!h) this.#legs.set(leg, h = new Histogram());
    h.observe(ms / 1000);
  }

  /** Records a whole request's latency under its route (`pd`, `ppd`, `epd`, `direct`). */
  observeRequest(route: string, ms: number): void {
    let h = this.#e2e.get(route);
    if (!h) this.#e2e.set(route, h = new Histogram());
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
    const out: string[] = [];
    out.push("# HELP topobench_router_requests_total Legs sent, by backend and leg.");
    out.push("# TYPE topobench_router_requests_total counter");
    for (const [k, v] of this.#requests) out.push(`topobench_router_requests_total{${k}} ${v}`);
    out.push("# HELP topobench_router_errors_total Legs that failed, by backend and leg.");
    out.push("# TYPE topobench_router_errors_total counter");
    for (const [k, v] of this.#errors) out.push(`topobench_router_errors_total{${k}} ${v}`);
    out.push(
      "# HELP topobench_router_client_cancelled_total Legs cut because their client went away.",
    );
    out.push("# TYPE topobench_router_client_cancelled_total counter");
    for (const [k, v] of this.#cancelled) {
      out.push(`topobench_router_client_cancelled_total{${k}} ${v}`);
    }
    out.push(
      "# HELP topobench_router_leg_latency_seconds Leg latency (decode/direct: to first byte).",
    );
    out.push("# TYPE topobench_router_leg_latency_seconds histogram");
    for (const [leg, h] of this.#legs) {
      h.render("topobench_router_leg_latency_seconds", `leg="${leg}"`, out);
    }
    out.push("# HELP topobench_router_request_latency_seconds End-to-end latency by route.");
    out.push("# TYPE topobench_router_request_latency_seconds histogram");
    for (const [route, h] of this.#e2e) {
      h.render("topobench_router_request_latency_seconds", `route="${esc(route)}"`, out);
    }
    out.push("# HELP topobench_router_in_flight Legs in flight per backend.");
    out.push("# TYPE topobench_router_in_flight gauge");
    for (const b of backends) {
      out.push(
        `topobench_router_in_flight{backend="${esc(b.name)}",role="${b.role}"} ${b.inFlight}`,
      );
    }
    out.push("# HELP topobench_router_backend_healthy 1 when the backend is in rotation.");
    out.push("# TYPE topobench_router_backend_healthy gauge");
    for (const b of backends) {
      out.push(
        `topobench_router_backend_healthy{backend="${esc(b.name)}",role="${b.role}"} ${
          b.healthy ? 1 : 0
        }`,
      );
    }
    return out.join("\n") + "\n";
  }
}
