/**
 * Who may drive a local router or engine. A web page can send a "simple"
 * cross-origin POST (`text/plain`, no preflight) to `127.0.0.1`, and a page
 * whose DNS name is rebound to `127.0.0.1` even reads the answers. So:
 * - a POST (or any non-GET) that carries a foreign `Origin` (a browser's;
 *   command-line clients send none) is refused, generation included;
 * - control endpoints (mode switches, metric and cache resets) also need a
 *   `Host` that is a loopback name, an IP literal (a rebound page names its
 *   own DNS name) or a configured name, and the admin token when one is set.
 *
 * @module
 */

/** Options of {@linkcode ControlGuard}. */
export interface ControlGuardOptions {
  /** Required on control endpoints as `X-Admin-Token: T` or `Authorization: Bearer T`. @default none */
  adminToken?: string;
  /** Host names accepted besides loopback ones (the listen host, `--allow-host`). @default [] */
  hosts?: string[];
}

/** Why a request is refused: its status and message. */
export interface Refusal {
  status: 403 | 401;
  message: string;
}

const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

/** The host name of a `Host` header value or URL authority, lower case, IPv6 without brackets. */
function hostName(authority: string): string {
  const a = authority.trim().toLowerCase();
  if (a.startsWith("[")) return a.slice(1, a.indexOf("]") > 0 ? a.indexOf("]") : undefined);
  const c = a.lastIndexOf(":");
  return c >= 0 && a.indexOf(":") === c ? a.slice(0, c) : a;
}

/** Whether `name` is a loopback name or address (`localhost`, `*.localhost`, 127/8, ::1). */
export function isLoopbackName(name: string): boolean {
  return name === "localhost" || name.endsWith(".localhost") || name === "::1" ||
    (IPV4.test(name) && name.startsWith("127."));
}

const isIpLiteral = (name: string) => IPV4.test(name) || name.includes(":");

function sameToken(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return d === 0;
}

/** Checks requests against foreign origins, rebound host names and the admin token. */
export class ControlGuard {
  readonly #token: string | undefined;
  readonly #hosts: Set<string>;

  constructor(o: ControlGuardOptions = {}) {
    if (o.adminToken !== undefined && o.adminToken.length < 8) {
      throw new RangeError(
        `Cannot use adminToken as an admin token (lib/control_guard.ts): current value has ${o.adminToken.length} characters; at least 8 are allowed`,
      );
    }
    this.#token = o.adminToken;
    const wild = new Set(["0.0.0.0", "::", ""]);
    this.#hosts = new Set((o.hosts ?? []).map(hostName).filter((h) => !wild.has(h)));
  }

  #known(name: string): boolean {
    return isLoopbackName(name) || this.#hosts.has(name);
  }

  /** A non-GET request from a foreign browser origin: its refusal, else null. */
  origin(req: Request): Refusal | null {
    const origin = req.headers.get("origin");
    if (origin === null) return null;
    let name = "";
    try {
      name = new URL(origin).hostname.replace(/^\[|\]$/g, "");
    } catch { /* "null" or garbage: foreign */ }
    if (name !== "" && this.#known(name)) return null;
    return {
      status: 403,
      message:
        `Cannot accept a request from origin ${origin}: only loopback origins and the configured hosts may send one (cross-site requests are refused)`,
    };
  }

  /** A control endpoint's request: its refusal (foreign origin, host or missing token), else null. */
  control(req: Request): Refusal | null {
    const o = this.origin(req);
    if (o) return o;
    const host = req.headers.get("host") ?? "";
    const name = hostName(host);
    if (!this.#known(name) && !isIpLiteral(name)) {
      return {
        status: 403,
        message:
          `Cannot accept Host ${host} on a control endpoint: loopback names, IP addresses and the configured hosts (--host, --allow-host) are allowed`,
      };
    }
    if (this.#token === undefined) return null;
    const auth = req.headers.get("authorization") ?? "";
    const given = req.headers.get("x-admin-token") ??
      (auth.toLowerCase().startsWith("bearer ") ? auth.slice(7).trim() : "");
    if (sameToken(given, this.#token)) return null;
    return {
      status: 401,
      message:
        "Cannot use a control endpoint without the admin token: send X-Admin-Token (set by --admin-token or TOPOBENCH_ADMIN_TOKEN)",
    };
  }
}

/**
 * The headers a client of our own (bench, sweep) sends to control endpoints:
 * `X-Admin-Token` from `TOPOBENCH_ADMIN_TOKEN` when it is set, else none.
 */
export function adminHeaders(
  token: string | undefined = Deno.env.get("TOPOBENCH_ADMIN_TOKEN"),
): Record<string, string> {
  return token ? { "x-admin-token": token } : {};
}
