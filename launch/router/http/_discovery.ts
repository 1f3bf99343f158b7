/**
 * The router's side of P2P-NCCL discovery: who may register (the configured
 * instances' own `host:port`s plus `discovery.allow`, at most
 * `discovery.maxInstances`), and registered instances joining and leaving
 * the backend pool. A refused registrant never becomes a backend, so it never
 * sees a request, a client's credentials or a KV push.
 *
 * @module
 */
import { AllowList } from "../../../lib/allow_list.ts";
import type { Logger } from "../../../lib/log.ts";
import { SYSTEM_TIMERS, type TimerClock } from "../../../lib/clock.ts";
import { type Registered, RegistrationListener } from "../../../lib/p2p_registration.ts";
import type { Backend, BackendPool } from "./backends.ts";
import type { RouterConfig } from "../../../lib/contracts.ts";

/** `host:port` of an http(s) URL (with its scheme's default port). */
function hostPort(url: string): string {
  const u = new URL(url);
  return `${u.hostname}:${u.port || (u.protocol === "https:" ? 443 : 80)}`;
}

/**
 * Who may register: every configured instance's URL and KV `host:port`
 * (exactly those), plus the rules of `discovery.allow`.
 */
export function discoveryAllowList(cfg: RouterConfig): AllowList {
  const own = [...cfg.prefill, ...cfg.decode].flatMap((b) => [
    hostPort(b.url),
    ...(b.kvAddr ? [b.kvAddr] : []),
  ]);
  const valid = own.filter((a) => {
    try {
      new AllowList([a]);
      return true;
    } catch {
      return false;
    }
  });
  return new AllowList([...new Set(valid), ...(cfg.discovery?.allow ?? [])]);
}

/**
 * Starts the discovery listener; registered instances join and leave `pool`.
 * `clock` times the silence that drops an instance. @default SYSTEM_TIMERS
 */
export async function startDiscovery(
  cfg: RouterConfig,
  pool: BackendPool,
  log: Logger,
  clock: TimerClock = SYSTEM_TIMERS,
): Promise<RegistrationListener> {
  const d = cfg.discovery!;
  const allow = discoveryAllowList(cfg);
  const joined = new Map<string, Backend>();
  const join = (r: Registered) => {
    const url = `http://${r.http_address}`;
    const role = r.type === "P" ? "prefill" : "decode";
    const known = pool.all.find((b) => b.url === url);
    if (known && !known.registered) return; // a static backend: it stays as configured
    if (known) pool.remove(known, "registered again with other details");
    joined.set(
      r.http_address,
      pool.add(role, { name: `${role}@${r.http_address}`, url, kvAddr: r.zmq_address }),
    );
  };
  const leave = (r: Registered) => {
    const b = joined.get(r.http_address);
    if (!b) return;
    joined.delete(r.http_address);
    pool.remove(b, `no registration for ${(d.dropAfterMs / 1000).toFixed(1)} s`);
  };
  const listener = new RegistrationListener({
    host: d.host,
    port: d.port,
    dropAfterMs: d.dropAfterMs,
    clock,
    maxInstances: d.maxInstances,
    admit: (r) =>
      allow.refusal(r.http_address, "http_address") ?? allow.refusal(r.zmq_address, "zmq_address"),
    onJoin: join,
    onLeave: leave,
    onBadMessage: (why) => log.warn(`discovery: ${why}`),
    onRefuse: (why) => log.warn(`discovery: ${why}`),
  });
  await listener.start();
  log.info(
    `Discovery: listening for P2P-NCCL registrations (ZMQ) on ${d.host}:${listener.port}; admitting ${
      allow.rules.map((r) => r.text).join(", ") || "nobody"
    } (at most ${d.maxInstances})`,
  );
  return listener;
}
