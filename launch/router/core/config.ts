/**
 * Validation of the router's configuration (`router.json`, declared in
 * `lib/contracts.ts`): defaults filled in, errors that name the file, the
 * field, the bad value and what is allowed.
 *
 * @module
 */
import { fieldError } from "../../../lib/errors.ts";
import { parseAllowRule } from "../../../lib/allow_list.ts";
import { isMapping, Reader, type ReaderStyle } from "../../../lib/schema.ts";
import {
  type BackendSpec,
  type Connector,
  CONNECTORS,
  type DiscoveryConfig,
  POLICIES,
  ROUTER_KINDS,
  type RouterConfig,
  type RouterKind,
} from "../../../lib/contracts.ts";

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
  "retries",
  "maxBodyBytes",
  "stallTimeoutMs",
  "discovery",
];
const DISCOVERY_FIELDS = ["kind", "host", "port", "dropAfterMs", "allow", "maxInstances"];
const BACKEND_FIELDS = ["name", "url", "kvAddr", "spare"];

/** Backend lists of the config, in the order they are checked. */
type ListName = "backends" | "prefill" | "decode" | "encode";
const LISTS: readonly ListName[] = ["backends", "prefill", "decode", "encode"];

/** Roles (config lists) each kind uses. */
const KIND_ROLES: Record<RouterKind, ListName[]> = {
  agg: ["backends"],
  dp: ["backends"],
  pd: ["prefill", "decode"],
  ppd: ["prefill", "decode"],
  epd: ["encode", "prefill", "decode"],
};

/** `router.json`'s wording: JSON has no "absent" null, and fields are fields. */
const STYLE: ReaderStyle = {
  unknownKey: (allowed) => `a known field (${allowed.join(", ")})`,
  showKey: false,
  mapping: () => "a JSON object",
  nullIsAbsent: false,
  fractionKind: "range",
};

/**
 * Validates a parsed `router.json` and fills defaults. Pure: throws a
 * TypeError/RangeError naming `file` and the field on the first problem.
 */
export function validateRouterConfig(raw: unknown, file = "router.json"): RouterConfig {
  if (!isMapping(raw)) {
    throw fieldError({ field: "the top level", file, value: raw, expected: "a JSON object" });
  }
  const r = Reader.root(file, raw, TOP_FIELDS, { style: STYLE });
  const name = r.check<string>(
    "name",
    (v) => typeof v === "string" && v.trim() !== "",
    "a non-empty string",
  );
  const kind = r.need(r.oneOf("kind", ROUTER_KINDS), "kind", `one of ${ROUTER_KINDS.join(", ")}`);
  const connector = readConnector(r, kind);
  const policy = r.oneOf("policy", POLICIES) ?? "round_robin";
  const discovery = readDiscovery(r, kind);
  const lists = readLists(r, kind, connector, discovery !== undefined);
  return {
    name,
    kind,
    connector,
    policy,
    prefillPolicy: r.oneOf("prefillPolicy", POLICIES) ?? policy,
    decodePolicy: r.oneOf("decodePolicy", POLICIES) ?? policy,
    ...lists,
    healthIntervalMs: r.int("healthIntervalMs", 50, 3_600_000) ?? 2000,
    retries: r.int("retries", 0, 10) ?? 0,
    maxBodyBytes: r.int("maxBodyBytes", 1024, 2 ** 31) ?? 33_554_432,
    stallTimeoutMs: r.int("stallTimeoutMs", 10, 86_400_000) ?? 120_000,
    ...(discovery ? { discovery } : {}),
  };
}

function readConnector(r: Reader, kind: RouterKind): Connector | undefined {
  if (kind !== "agg" && kind !== "dp") return r.oneOf("connector", CONNECTORS) ?? "nixl";
  if (r.value("connector") !== undefined) {
    throw r.fail(
      "connector",
      r.value("connector"),
      `absent for kind ${kind} (connectors are for pd, ppd, epd)`,
    );
  }
  return undefined;
}

function readDiscovery(top: Reader, kind: RouterKind): DiscoveryConfig | undefined {
  if (top.value("discovery") === undefined) return undefined;
  if (kind !== "pd" && kind !== "ppd") {
    throw top.fail(
      "discovery",
      top.value("discovery"),
      `absent for kind ${kind} (discovery registers prefill and decode instances)`,
    );
  }
  const r = top.obj("discovery", DISCOVERY_FIELDS, {
    expected: '{"kind": "zmq", "port", "host"?, "dropAfterMs"?}',
    kind: "type",
  });
  r.need(r.oneOf("kind", ["zmq"] as const), "kind", "one of zmq");
  const host = r.value("host") === undefined
    ? "127.0.0.1"
    : r.check<string>("host", (v) => typeof v === "string" && v !== "", "an address");
  r.need(r.value("port"), "port", "the port to listen on for registrations (vLLM's proxy_port)");
  return {
    kind: "zmq",
    host,
    port: r.int("port", 0, 65535)!,
    dropAfterMs: r.int("dropAfterMs", 100, 3_600_000) ?? 5000,
    allow: allowRules(r),
    maxInstances: r.int("maxInstances", 1, 10_000) ?? 64,
  };
}

function allowRules(r: Reader): string[] {
  if (r.value("allow") === undefined) return [];
  const list = r.list(
    "allow",
    'a list of allow rules (e.g. ["10.0.0.0/8:8000-8999", "node-1:8100"])',
    "type",
    0,
  );
  return list.indices().map((i) =>
    parseAllowRule(list.value(i), `${list.at(i)} in ${r.file}`).text
  );
}

/** The backend lists `kind` uses (the others must be absent), names unique across them. */
function readLists(
  r: Reader,
  kind: RouterKind,
  connector: Connector | undefined,
  registered: boolean,
): Record<ListName, BackendSpec[]> {
  const roles = KIND_ROLES[kind];
  const lists: Record<ListName, BackendSpec[]> = {
    backends: [],
    prefill: [],
    decode: [],
    encode: [],
  };
  for (const f of LISTS) {
    if (!roles.includes(f)) {
      if (r.value(f) !== undefined) {
        throw r.fail(f, r.value(f), `absent for kind ${kind} (it uses ${roles.join(", ")})`);
      }
      continue;
    }
    const pd = f === "prefill" || f === "decode";
    lists[f] = backendList(r, f, connector === "p2pnccl" && pd, registered && pd);
  }
  if (kind === "agg" && lists.backends.length !== 1) {
    throw r.fail(
      "backends",
      lists.backends.map((b) => b.name),
      "exactly one backend for kind agg (use dp for more)",
    );
  }
  const seen = new Set<string>();
  for (const f of roles) {
    lists[f].forEach((b, i) => {
      if (seen.has(b.name)) {
        throw r.fail(`${f}[${i}].name`, b.name, "a name unique across all backends");
      }
      seen.add(b.name);
    });
  }
  return lists;
}

function backendList(r: Reader, f: ListName, needKvAddr: boolean, allowEmpty: boolean) {
  const v = r.value(f);
  if (allowEmpty && (v === undefined || (Array.isArray(v) && v.length === 0))) return [];
  const list = r.list(f, 'a non-empty list of {"name", "url"} objects');
  return list.indices().map((i) => {
    const notObject = 'a {"name", "url"} object';
    list.check(i, isMapping, notObject);
    const b = list.obj(i, BACKEND_FIELDS, { expected: notObject, kind: "range" });
    const name = b.check<string>(
      "name",
      (v) => typeof v === "string" && /^[\w.:-]+$/.test(v),
      "a name of letters, digits, _ . : -",
      "type",
    );
    const url = b.check<string>("url", isHttpUrl, "an http(s) URL");
    const out: BackendSpec = { name, url: String(url).replace(/\/+$/, "") };
    if (b.value("kvAddr") !== undefined || needKvAddr) {
      out.kvAddr = b.check<string>(
        "kvAddr",
        isKvAddr,
        `a "host:port" KV address${needKvAddr ? " (required by p2pnccl)" : ""}`,
      );
    }
    if (b.value("spare") !== undefined) {
      out.spare = b.check<boolean>("spare", (v) => typeof v === "boolean", "true or false");
    }
    return out;
  });
}

function isHttpUrl(v: unknown): boolean {
  return typeof v === "string" && URL.canParse(v) &&
    ["http:", "https:"].includes(new URL(v).protocol);
}

function isKvAddr(v: unknown): boolean {
  const m = typeof v === "string" ? /^(.+):(\d{1,5})$/.exec(v) : null;
  return m !== null && Number(m[2]) >= 1 && Number(m[2]) <= 65535;
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
