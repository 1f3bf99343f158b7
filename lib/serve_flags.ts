/**
 * Flags the router and the simulated engine share for their HTTP side: the
 * connection cap and timeouts of {@linkcode serveHttp}, and who may use the
 * control endpoints (`--admin-token`, `--allow-host`; see `control_guard.ts`).
 *
 * @module
 */
import { type FlagSpec, type FlagValues, listFlag, numberFlag } from "./args.ts";
import { defaultMaxConnections, type HttpServeOptions } from "./http_server.ts";
import type { ControlGuardOptions } from "./control_guard.ts";

/** The flags (merge into a command's own). */
export const SERVE_FLAGS: FlagSpec = {
  "max-connections": {
    type: "string",
    help: "Connections served at once; more get 503 (default: from the open-files limit)",
  },
  "header-timeout": {
    type: "string",
    default: "10",
    help: "Seconds a request head may take after its first byte",
  },
  "body-timeout": { type: "string", default: "60", help: "Seconds a request body may take" },
  "idle-timeout": {
    type: "string",
    default: "5",
    help: "Seconds a kept-alive connection waits for its next request",
  },
  "admin-token": {
    type: "string",
    help:
      "Token control endpoints require (X-Admin-Token or Bearer; default: $TOPOBENCH_ADMIN_TOKEN)",
  },
  "allow-host": {
    type: "string",
    help: "Host names (besides loopback and --host) control endpoints accept, comma-separated",
  },
};

/** The server options the flags give; `fdsPerConnection` sizes the default cap (router: 3). */
export function serveOptions(
  v: FlagValues,
  fdsPerConnection = 1,
): Pick<
  HttpServeOptions,
  "maxConnections" | "headerTimeoutMs" | "bodyTimeoutMs" | "idleTimeoutMs"
> {
  const s = (name: string) => numberFlag(v, name, { min: 0.001, max: 86_400 })! * 1000;
  return {
    maxConnections: numberFlag(v, "max-connections", {
      min: 1,
      integer: true,
      default: defaultMaxConnections(fdsPerConnection),
    }),
    headerTimeoutMs: s("header-timeout"),
    bodyTimeoutMs: s("body-timeout"),
    idleTimeoutMs: s("idle-timeout"),
  };
}

/** The control guard's options the flags (and `TOPOBENCH_ADMIN_TOKEN`) give, for a server on `host`. */
export function guardOptions(
  v: FlagValues,
  host: string,
  env: Record<string, string | undefined> = {},
): ControlGuardOptions {
  const token = typeof v["admin-token"] === "string" && v["admin-token"] !== ""
    ? v["admin-token"]
    : env.TOPOBENCH_ADMIN_TOKEN || undefined;
  return { adminToken: token, hosts: [host, ...listFlag(v, "allow-host")] };
}
