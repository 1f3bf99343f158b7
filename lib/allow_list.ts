/**
 * Who may register as a backend: a strict `host:port` validator and an
 * allow-list of hosts, CIDRs and port ranges (pure, no I/O, no DNS). An IP
 * rule matches only IP literals and a name rule only that exact name, so a
 * name never slips in through a CIDR. Link-local addresses (169.254.0.0/16,
 * fe80::/10: cloud metadata lives there) are admitted only by a rule whose
 * network lies inside a link-local range; unspecified, multicast and broadcast
 * addresses never are.
 *
 * @module
 */

/** A validated address. */
export interface HostPort {
  /** `ipv4`, `ipv6` (without brackets) or a DNS-safe `name` (lower case). */
  kind: "ipv4" | "ipv6" | "name";
  host: string;
  port: number;
  /** The address as a number (IP kinds only): 32 or 128 bits. */
  ip?: bigint;
}

const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** Parses a dotted-quad IPv4 literal (no leading zeros, no short forms), or null. */
export function parseIpv4(s: string): bigint | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m) return null;
  let v = 0n;
  for (const p of m.slice(1)) {
    if ((p.length > 1 && p[0] === "0") || Number(p) > 255) return null;
    v = (v << 8n) | BigInt(p);
  }
  return v;
}

/** Parses an IPv6 literal (no zone id, no brackets), or null. */
export function parseIpv6(s: string): bigint | null {
  if (!/^[0-9a-fA-F:.]{2,45}$/.test(s)) return null;
  const halves = s.split("::");
  if (halves.length > 2) return null;
  const groups = (h: string): number[] | null => {
    if (h === "") return [];
    const out: number[] = [];
    const parts = h.split(":");
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i];
      if (i === parts.length - 1 && p.includes(".")) {
        const v4 = parseIpv4(p);
        if (v4 === null) return null;
        out.push(Number(v4 >> 16n), Number(v4 & 0xffffn));
      } else if (/^[0-9a-fA-F]{1,4}$/.test(p)) out.push(parseInt(p, 16));
      else return null;
    }
    return out;
  };
  const head = groups(halves[0]);
  const tail = halves.length === 2 ? groups(halves[1]) : [];
  if (!head || !tail) return null;
  const n = head.length + tail.length;
  if (halves.length === 1 ? n !== 8 : n > 7) return null;
  const all = [...head, ...Array(8 - n).fill(0), ...tail];
  return all.reduce((v, g) => (v << 16n) | BigInt(g), 0n);
}

/** Whether `s` is a DNS-safe host name (letters, digits, hyphens; a top label that is no number). */
export function isHostName(s: string): boolean {
  if (s.length === 0 || s.length > 253) return false;
  const labels = s.toLowerCase().split(".");
  const top = labels.at(-1)!;
  // `1.2.3`, `0x7f000001`: names that resolvers read as numeric addresses
  if (/^\d/.test(top) || /^0x[0-9a-f]*$/.test(top)) return false;
  return labels.every((l) => LABEL.test(l));
}

/** Parses a port of 1–65535 (digits only, no leading zero), or null. */
function parsePort(s: string): number | null {
  if (!/^[1-9]\d{0,4}$/.test(s)) return null;
  const n = Number(s);
  return n <= 65535 ? n : null;
}

/** Splits `host:port` / `[v6]:port`; the host part without brackets. */
function splitHostPort(s: string): [string, string, boolean] | null {
  const m = /^\[([^\]]*)\]:([^:]*)$/.exec(s) ?? /^([^:[\]]*):([^:]*)$/.exec(s);
  return m ? [m[1], m[2], s.startsWith("[")] : null;
}

/** Reads a host (IPv4, bracketed-or-not IPv6, DNS-safe name). */
function parseHost(h: string, bracketed: boolean): Omit<HostPort, "port"> | null {
  const v4 = bracketed ? null : parseIpv4(h);
  if (v4 !== null) return { kind: "ipv4", host: h, ip: v4 };
  const v6 = parseIpv6(h);
  if (v6 !== null) return { kind: "ipv6", host: h.toLowerCase(), ip: v6 };
  if (!bracketed && isHostName(h)) return { kind: "name", host: h.toLowerCase() };
  return null;
}

/**
 * Validates `host:port`: an IPv4 literal, a bracketed IPv6 literal or a
 * DNS-safe name, and a port of 1–65535; nothing else (no user info, paths,
 * zone ids, spaces). Unspecified, multicast and broadcast addresses are
 * refused. Throws a TypeError naming `field` and the value.
 */
export function parseHostPort(s: unknown, field = "address"): HostPort {
  const bad = (why: string) =>
    new TypeError(
      `Cannot use ${field} as a "host:port" (IPv4, [IPv6] or DNS name, port 1-65535): ${why}; current value is ${
        JSON.stringify(s)
      }`,
    );
  if (typeof s !== "string" || s.length > 300) throw bad("not a string of at most 300 characters");
  const hp = splitHostPort(s);
  if (!hp) throw bad("not host:port");
  const host = parseHost(hp[0], hp[2]);
  if (!host || (hp[2] && host.kind !== "ipv6")) throw bad(`host ${JSON.stringify(hp[0])}`);
  const port = parsePort(hp[1]);
  if (port === null) throw bad(`port ${JSON.stringify(hp[1])}`);
  const never = host.ip !== undefined ? neverAddress(host.kind, host.ip) : null;
  if (never) throw bad(`${never} address`);
  return { ...host, port };
}

const V4_MAPPED = 0xffffn << 32n;
const isMapped = (ip: bigint) => ip >> 32n === 0xffffn;

/** Why an address can never be a backend (unspecified, multicast, broadcast), or null. */
function neverAddress(kind: HostPort["kind"], ip: bigint): string | null {
  if (kind === "ipv6" && isMapped(ip)) return neverAddress("ipv4", ip - V4_MAPPED);
  if (kind === "ipv4") {
    if (ip >> 24n === 0n) return "an unspecified (0.0.0.0/8)";
    if (ip >> 28n === 0xen) return "a multicast";
    if (ip === 0xffffffffn) return "a broadcast";
    return null;
  }
  if (ip === 0n) return "an unspecified (::)";
  if (ip >> 120n === 0xffn) return "a multicast";
  return null;
}

/** Whether an address is link-local (169.254.0.0/16, fe80::/10, or v4-mapped 169.254/16). */
export function isLinkLocal(a: Pick<HostPort, "kind" | "ip">): boolean {
  if (a.ip === undefined) return false;
  if (a.kind === "ipv4") return a.ip >> 16n === 0xa9fen;
  if (isMapped(a.ip)) return (a.ip - V4_MAPPED) >> 16n === 0xa9fen;
  return a.ip >> 118n === 0x3fan;
}

/** One allow-list rule. */
export interface AllowRule {
  /** As written. */
  text: string;
  kind: HostPort["kind"];
  /** A name (kind `name`), else the network address. */
  host: string;
  ip?: bigint;
  /** Prefix length (IP kinds). */
  bits?: number;
  /** Port ranges [lo, hi]; empty: any port. */
  ports: [number, number][];
}

function parsePorts(s: string): [number, number][] | null {
  const out: [number, number][] = [];
  for (const part of s.split(",")) {
    const [a, b, extra] = part.split("-");
    const lo = parsePort(a);
    const hi = b === undefined ? lo : parsePort(b);
    if (lo === null || hi === null || extra !== undefined || hi < lo) return null;
    out.push([lo, hi]);
  }
  return out;
}

/**
 * Parses an allow rule: `HOST`, `HOST:PORTS`, `A.B.C.D/N[:PORTS]`,
 * `[V6]`, `[V6/N][:PORTS]` or a bare `V6/N`; PORTS is `p`, `lo-hi` or a
 * comma list of them; no PORTS: any port. Throws a TypeError naming `field`.
 */
export function parseAllowRule(s: unknown, field = "discovery.allow"): AllowRule {
  const bad = () =>
    new TypeError(
      `Cannot use ${field} as an allow rule (host, IPv4/N or [IPv6/N], optional :port, :lo-hi or a comma list): current value is ${
        JSON.stringify(s)
      }`,
    );
  if (typeof s !== "string" || s.length > 300) throw bad();
  let hostPart = s;
  let portPart: string | undefined;
  const br = /^\[([^\]]+)\](?::(.+))?$/.exec(s);
  if (br) [hostPart, portPart] = [br[1], br[2]];
  else if ((s.match(/:/g) ?? []).length === 1) [hostPart, portPart] = s.split(":");
  const ports = portPart === undefined ? [] : parsePorts(portPart);
  const [h, bitsText, extra] = hostPart.split("/");
  const host = ports && extra === undefined ? parseHost(h, !!br) : null;
  if (!host || !ports || (bitsText !== undefined && host.ip === undefined)) throw bad();
  if (br && host.kind !== "ipv6") throw bad();
  const width = host.kind === "ipv4" ? 32 : 128;
  if (bitsText !== undefined && !/^(0|[1-9]\d{0,2})$/.test(bitsText)) throw bad();
  const bits = bitsText === undefined ? width : Number(bitsText);
  if (bits > width) throw bad();
  const mask = ((1n << BigInt(width)) - 1n) ^ ((1n << BigInt(width - bits)) - 1n);
  return {
    text: s,
    ...host,
    ...(host.ip !== undefined ? { ip: host.ip & mask, bits } : {}),
    ports,
  };
}

function covers(r: AllowRule, a: HostPort): boolean {
  if (r.ports.length && !r.ports.some(([lo, hi]) => a.port >= lo && a.port <= hi)) return false;
  if (r.kind === "name" || a.kind === "name") return r.kind === a.kind && r.host === a.host;
  if (r.kind !== a.kind) return false;
  const width = r.kind === "ipv4" ? 32 : 128;
  const shift = BigInt(width - r.bits!);
  if (a.ip! >> shift !== r.ip! >> shift) return false;
  // link-local only by a rule that lies inside a link-local range
  return !isLinkLocal(a) || isLinkLocal(r);
}

/** An allow-list: an address is admitted when one rule covers it. */
export class AllowList {
  readonly rules: AllowRule[];

  /** @param rules rule texts (see {@linkcode parseAllowRule}) or parsed rules */
  constructor(rules: (string | AllowRule)[], field = "discovery.allow") {
    this.rules = rules.map((r, i) =>
      typeof r === "string" ? parseAllowRule(r, `${field}[${i}]`) : r
    );
  }

  /** Why `address` is not admitted (invalid, or no rule covers it), or null when it is. */
  refusal(address: unknown, field = "address"): string | null {
    let a: HostPort;
    try {
      a = parseHostPort(address, field);
    } catch (e) {
      return (e as Error).message;
    }
    if (this.rules.some((r) => covers(r, a))) return null;
    return `${field} ${JSON.stringify(address)} is not in the allow-list${
      isLinkLocal(a) ? " (link-local addresses need a rule inside 169.254.0.0/16 or fe80::/10)" : ""
    }`;
  }
}
