/**
 * The router's configuration (`router.json`, declared in `lib/contracts.ts`): defaults and validation
 * with errors that name the file, the field, the bad value and what is allowed.
 *
 * @module
 */
import { fieldError } from "../../lib/errors.ts";
import { parseAllowRule } from "../../lib/allow_list.ts";
import {
  type BackendSpec,
  type Connector,
  CONNECTORS,
  type DiscoveryConfig,
  POLICIES,
  ROUTER_KINDS,
  type RouterConfig,
  type RouterKind,
} from "../../lib/contracts.ts";

const TOP_FIELDS = [
  "name",
  "kind",
  "connector",
  "policy",
  "prefillPolicy",
  "decodePolicy",
  "backends",
  "prefill",
  "decode",
  "encode",
  "healthIntervalMs",
  "maxBodyBytes",
  "stallTimeoutMs",
  "discovery",
];

/** Roles (config lists) each kind uses. */
export const KIND_ROLES: Record<RouterKind, ("backends" | "prefill" | "decode" | "encode")[]> = {
  agg: ["backends"],
  dp: ["backends"],
  pd: ["prefill", "decode"],
  ppd: ["prefill", "decode"],
  epd: ["encode", "prefill", "decode"],
};

const isObj = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

function oneOf<T extends string>(
  v: unknown,
  allowed: readonly T[],
  field: string,
  file: string,
): T {
  if (typeof v !== "string" || !allowed.includes(v as T)) {
    throw fieldError({ field, file, value: v, expected: `one of ${allowed.join(", ")}` });
  }
  return v as T;
}

function num(
  v: unknown,
  def: number,
  min: number,
  max: number,
  field: string,
  file: string,
): number {
  if (v === undefined) return def;
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
    throw fieldError({
      field,
      file,
      value: v,
      expected: `an integer in [${min}, ${max}]`,
      kind: typeof v === "number" ? "range" : "type",
    });
  }
  return v;
}

function discoveryConfig(v: unknown, kind: RouterKind, file: string): DiscoveryConfig | undefined {
  if (v === undefined) return undefined;
  if (kind !== "pd" && kind !== "ppd") {
    throw fieldError({
      field: "discovery",
      file,
      value: v,
      expected: `absent for kind ${kind} (discovery registers prefill and decode instances)`,
    });
  }
  if (!isObj(v)) {
    throw fieldError({
      field: "discovery",
      file,
      value: v,
      expected: '{"kind": "zmq", "port", "host"?, "dropAfterMs"?}',
      kind: "type",
    });
  }
  for (const k of Object.keys(v)) {
    if (!["kind", "host", "port", "dropAfterMs", "allow", "maxInstances"].includes(k)) {
      throw fieldError({
        field: `discovery.${k}`,
        file,
        value: v[k],
        expected: "a known field (kind, host, port, dropAfterMs, allow, maxInstances)",
      });
    }
  }
  oneOf(v.kind, ["zmq"] as const, "discovery.kind", file);
  if (v.host !== undefined && (typeof v.host !== "string" || v.host === "")) {
    throw fieldError({ field: "discovery.host", file, value: v.host, expected: "an address" });
  }
  if (v.port === undefined) {
    throw fieldError({
      field: "discovery.port",
      file,
      value: v.port,
      expected: "the port to listen on for registrations (vLLM's proxy_port)",
    });
  }
  return {
    kind: "zmq",
    host: (v.host as string | undefined) ?? "127.0.0.1",
    port: num(v.port, 0, 0, 65535, "discovery.port", file),
    dropAfterMs: num(v.dropAfterMs, 5000, 100, 3_600_000, "discovery.dropAfterMs", file),
    allow: allowRules(v.allow, file),
    maxInstances: num(v.maxInstances, 64, 1, 10_000, "discovery.maxInstances", file),
  };
}

function allowRules(v: unknown, file: string): string[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) {
    throw fieldError({
      field: "discovery.allow",
      file,
      value: v,
      expected: 'a list of allow rules (e.g. ["10.0.0.0/8:8000-8999", "node-1:8100"])',
      kind: "type",
    });
  }
  return v.map((r, i) => parseAllowRule(r, `discovery.allow[${i}] in ${file}`).text);
}

function backendList(
  v: unknown,
  field: string,
  file: string,
  needKvAddr: boolean,
  allowEmpty = false,
): BackendSpec[] {
  if (allowEmpty && (v === undefined || (Array.isArray(v) && v.length === 0))) return [];
  if (!Array.isArray(v) || v.length === 0) {
    throw fieldError({
      field,
      file,
      value: v,
      expected: 'a non-empty list of {"name", "url"} objects',
      kind: "type",
    });
  }
  return v.map((b, i) => {
    const f = `${field}[${i}]`;
    if (!isObj(b)) {
      throw fieldError({ field: f, file, value: b, expected: 'a {"name", "url"} object' });
    }
    for (const k of Object.keys(b)) {
      if (!["name", "url", "kvAddr"].includes(k)) {
        throw fieldError({
          field: `${f}.${k}`,
          file,
          value: b[k],
          expected: "a known field (name, url, kvAddr)",
        });
      }
    }
    if (typeof b.name !== "string" || !/^[\w.:-]+$/.test(b.name)) {
      throw fieldError({
        field: `${f}.name`,
        file,
        value: b.name,
        expected: "a name of letters, digits, _ . : -",
        kind: "type",
      });
    }
    const url = typeof b.url === "string" && URL.canParse(b.url) ? new URL(b.url) : null;
    if (!url || !["http:", "https:"].includes(url.protocol)) {
      throw fieldError({ field: `${f}.url`, file, value: b.url, expected: "an http(s) URL" });
    }
    const out: BackendSpec = { name: b.name, url: String(b.url).replace(/\/+$/, "") };
    if (b.kvAddr !== undefined || needKvAddr) {
      const m = typeof b.kvAddr === "string" ? /^(.+):(\d{1,5})$/.exec(b.kvAddr) : null;
      if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) {
        throw fieldError({
          field: `${f}.kvAddr`,
          file,
          value: b.kvAddr,
          expected: `a "host:port" KV address${needKvAddr ? " (required by p2pnccl)" : ""}`,
        });
      }
      out.kvAddr = b.kvAddr as string;
    }
    return out;
  });
}

/**
 * Validates a parsed `router.json` and fills defaults. Pure: throws a
 * TypeError/RangeError naming `file` and the field on the first problem.
 */
export function validateRouterConfig(raw: unknown, file = "router.json"): RouterConfig {
  if (!isObj(raw)) {
    throw fieldError({ field: "the top level", file, value: raw, expected: "a JSON object" });
  }
  for (const k of Object.keys(raw)) {
    if (!TOP_FIELDS.includes(k)) {
      throw fieldError({
        field: k,
        file,
        value: raw[k],
        expected: `a known field (${TOP_FIELDS.join(", ")})`,
      });
    }
  }
  if (typeof raw.name !== "string" || raw.name.trim() === "") {
    throw fieldError({ field: "name", file, value: raw.name, expected: "a non-empty string" });
  }
  const kind = oneOf(raw.kind, ROUTER_KINDS, "kind", file);
  const roles = KIND_ROLES[kind];
  let connector: Connector | undefined;
  if (kind === "agg" || kind === "dp") {
    if (raw.connector !== undefined) {
      throw fieldError({
        field: "connector",
        file,
        value: raw.connector,
        expected: `absent for kind ${kind} (connectors are for pd, ppd, epd)`,
      });
    }
  } else {
    connector = raw.connector === undefined
      ? "nixl"
      : oneOf(raw.connector, CONNECTORS, "connector", file);
  }
  const policy = raw.policy === undefined
    ? "round_robin"
    : oneOf(raw.policy, POLICIES, "policy", file);
  const rolePolicy = (f: "prefillPolicy" | "decodePolicy") =>
    raw[f] === undefined ? policy : oneOf(raw[f], POLICIES, f, file);
  const discovery = discoveryConfig(raw.discovery, kind, file);
  const lists: Record<string, BackendSpec[]> = {
    backends: [],
    prefill: [],
    decode: [],
    encode: [],
  };
  for (const f of ["backends", "prefill", "decode", "encode"] as const) {
    if (!roles.includes(f)) {
      if (raw[f] !== undefined) {
        throw fieldError({
          field: f,
          file,
          value: raw[f],
          expected: `absent for kind ${kind} (it uses ${roles.join(", ")})`,
        });
      }
      continue;
    }
    const needKv = connector === "p2pnccl" && (f === "prefill" || f === "decode");
    const registered = discovery !== undefined && (f === "prefill" || f === "decode");
    lists[f] = backendList(raw[f], f, file, needKv, registered);
  }
  if (kind === "agg" && lists.backends.length !== 1) {
    throw fieldError({
      field: "backends",
      file,
      value: lists.backends.map((b) => b.name),
      expected: "exactly one backend for kind agg (use dp for more)",
    });
  }
  const seen = new Set<string>();
  for (const f of roles) {
    lists[f].forEach((b, i) => {
      if (seen.has(b.name)) {
        throw fieldError({
          field: `${f}[${i}].name`,
          file,
          value: b.name,
          expected: "a name unique across all backends",
        });
      }
      seen.add(b.name);
    });
  }
  return {
    name: raw.name,
    kind,
    connector,
    policy,
    prefillPolicy: rolePolicy("prefillPolicy"),
    decodePolicy: rolePolicy("decodePolicy"),
    backends: lists.backends,
    prefill: lists.prefill,
    decode: lists.decode,
    encode: lists.encode,
    healthIntervalMs: num(raw.healthIntervalMs, 2000, 50, 3_600_000, "healthIntervalMs", file),
    maxBodyBytes: num(raw.maxBodyBytes, 33_554_432, 1024, 2 ** 31, "maxBodyBytes", file),
    stallTimeoutMs: num(raw.stallTimeoutMs, 120_000, 10, 86_400_000, "stallTimeoutMs", file),
    ...(discovery ? { discovery } : {}),
  };
}

/** Reads and validates a `router.json` file. */
export async function loadRouterConfig(path: string): Promise<RouterConfig> {
  const text = await Deno.readTextFile(path);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new SyntaxError(
      `Cannot read ${path} as JSON: ${(e as Error).message}`,
    );
  }
  return validateRouterConfig(raw, path);
}
