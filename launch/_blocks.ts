/**
 * Readers of the topology's role blocks (`prefill: {count, gpus, port, ...}`)
 * and of `processes:` (engine: command), with their defaults.
 *
 * @module
 */
import type { Reader } from "./_schema.ts";
import type { CommandSpec, EngineKind, RoleBlock as Role, RoleSpec } from "./topology.ts";

const DEFAULT_PORT: Record<Role, number> = {
  server: 8000,
  replicas: 8000,
  encode: 8300,
  prefill: 8100,
  decode: 8200,
};

const ROLE_KEYS = [
  "count",
  "gpus",
  "tp",
  "port",
  "host",
  "gpu_memory_utilization",
  "extra_args",
  "env",
  "nodes",
];

function readGpus(r: Reader, v: unknown, f: string): number[][] | undefined {
  if (v === undefined || v === null) return undefined;
  const expected = "a list of GPU id lists, one per instance, e.g. [[0], [1]] or [[0, 1]]";
  if (!Array.isArray(v) || v.length === 0) throw r.fail(f, v, expected, "type");
  return v.map((g, i) => {
    const ids = typeof g === "number" ? [g] : g;
    if (!Array.isArray(ids) || ids.length === 0) throw r.fail(`${f}[${i}]`, g, expected, "type");
    ids.forEach((id, j) => r.int(id, `${f}[${i}][${j}]`, 0, 1023));
    if (new Set(ids).size !== ids.length) throw r.fail(`${f}[${i}]`, g, "distinct GPU ids");
    return ids as number[];
  });
}

/** Reads one role block. */
export function readRole(r: Reader, role: Role, raw: unknown, engine: EngineKind): RoleSpec {
  const o = r.obj(raw, role, ROLE_KEYS)!;
  const gpus = readGpus(r, o.gpus, `${role}.gpus`);
  if (engine === "vllm" && !gpus) {
    throw r.fail(`${role}.gpus`, undefined, "a list of GPU id lists (engine: vllm needs them)");
  }
  const hostList = Array.isArray(o.host) ? o.host : undefined;
  let count = r.int(o.count, `${role}.count`, 1, 1024);
  count ??= gpus?.length ?? hostList?.length ?? 1;
  if (gpus && gpus.length !== count) {
    throw r.fail(`${role}.gpus`, o.gpus, `${count} GPU lists (one per instance, count ${count})`);
  }
  const tpOne = r.int(o.tp, `${role}.tp`, 1, 64);
  const tp = gpus ? gpus.map((g) => g.length) : Array(count).fill(tpOne ?? 1);
  if (gpus && tpOne !== undefined && tp.some((t) => t !== tpOne)) {
    throw r.fail(`${role}.tp`, tpOne, `the length of each ${role}.gpus list (${tp.join(", ")})`);
  }
  let hosts: (string | undefined)[];
  if (hostList) {
    if (hostList.length !== count) {
      throw r.fail(`${role}.host`, o.host, `one host or a list of ${count} hosts`);
    }
    hosts = hostList.map((h, i) =>
      localOrHost(sshHost(r, r.str(h, `${role}.host[${i}]`), `${role}.host[${i}]`))
    );
  } else {
    hosts = Array(count).fill(
      localOrHost(sshHost(r, r.str(o.host, `${role}.host`), `${role}.host`)),
    );
  }
  const port = r.port(o.port, `${role}.port`) ?? DEFAULT_PORT[role];
  if (port + count - 1 > 65535) throw r.fail(`${role}.port`, port, `a port <= ${65536 - count}`);
  return {
    role,
    count,
    gpus,
    tp,
    port,
    hosts,
    gpuMemoryUtilization:
      r.num(o.gpu_memory_utilization, `${role}.gpu_memory_utilization`, 0, 1, true) ?? 0.9,
    extraArgs: r.args(o.extra_args, `${role}.extra_args`),
    env: r.env(o.env, `${role}.env`),
    nodes: r.int(o.nodes, `${role}.nodes`, 1, 64) ?? 1,
  };
}

/** `localhost`, `127.0.0.1` and absent all mean "start it here". */
/**
 * A host ssh may be given: `[user@]name[:port]` of letters, digits, `.`, `-`, `_`,
 * `@`, `:`, `[]`, never starting with `-` (ssh would read it as an option).
 */
function sshHost(r: Reader, h: string | undefined, field: string): string | undefined {
  if (h === undefined) return h;
  if (!/^[A-Za-z0-9_.@:[\]-]+$/.test(h) || h.startsWith("-")) {
    throw r.fail(
      field,
      h,
      "a host name or user@host (letters, digits, . - _ @ : [ ]; not starting with -)",
    );
  }
  return h;
}

function localOrHost(h: string | undefined): string | undefined {
  return h === undefined || h === "localhost" || h === "127.0.0.1" ? undefined : h;
}

/** Reads `processes:` of engine: command. */
export function readProcesses(r: Reader, raw: unknown): CommandSpec[] {
  if (!Array.isArray(raw) || raw.length === 0) {
    throw r.fail("processes", raw, "a list of {name, cmd, health} (engine: command)", "type");
  }
  const names = new Set<string>();
  return raw.map((p, i) => {
    const f = `processes[${i}]`;
    const o = r.obj(p, f, ["name", "cmd", "health", "url", "host", "cwd", "env", "ports"])!;
    const name = r.pattern(o.name, `${f}.name`, /^[A-Za-z0-9][A-Za-z0-9._-]*$/, "a name") ??
      `process-${i}`;
    if (names.has(name)) throw r.fail(`${f}.name`, name, "a name not used by another process");
    names.add(name);
    const cmd = typeof o.cmd === "string" ? r.str(o.cmd, `${f}.cmd`)! : r.args(o.cmd, `${f}.cmd`);
    if (cmd.length === 0) throw r.fail(`${f}.cmd`, o.cmd, "a shell line or an argv list");
    const health = r.str(o.health, `${f}.health`);
    if (!health || !URL.canParse(health)) {
      throw r.fail(`${f}.health`, o.health, "a health URL answering 200 when ready");
    }
    const url = r.str(o.url, `${f}.url`) ?? new URL(health).origin;
    if (!URL.canParse(url)) throw r.fail(`${f}.url`, url, "an http URL");
    const ports = Array.isArray(o.ports)
      ? o.ports.map((x, j) => r.port(x, `${f}.ports[${j}]`)!)
      : o.ports === undefined
      ? []
      : [r.port(o.ports, `${f}.ports`)!];
    return {
      name,
      cmd,
      health,
      url,
      host: localOrHost(r.str(o.host, `${f}.host`)),
      cwd: r.str(o.cwd, `${f}.cwd`),
      env: r.env(o.env, `${f}.env`),
      ports,
    };
  });
}
