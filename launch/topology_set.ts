/**
 * `--set field=value` on topologies (up, the pipeline, predict, experiment
 * sweeps): any field of the topology YAML by its dotted path
 * (`prefill.count=2`, `decode.tp=2`, `sim.speed=4`, `router.policy=least_loaded`),
 * the value read as YAML (`2` a number, `[[0],[1]]` a list). Changing a
 * role's `count`, `tp`, `dp` or `nodes` lays its `gpus` out again: every role
 * with GPU lists gets tp (with DP, dp / nodes × tp) consecutive ids per
 * instance, roles in start order, so sizes can change without rewriting GPU
 * lists by hand.
 *
 * @module
 */
import { parse } from "yaml";
import {
  loadTopology,
  parseTopologyYaml,
  readTopologyFile,
  ROLES,
  type Topology,
  validateTopology,
} from "./topology.ts";

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

/** One parsed `field=value`. */
export interface TopologySet {
  path: string[];
  value: unknown;
}

/**
 * A change written back as the `--set` value that gives it again: a string
 * as it is when YAML reads it back as that string (`llm`), else as JSON
 * (`"true"`, `["hf-token"]`). Not shell-quoted.
 */
export function setArg(x: TopologySet): string {
  const s = x.value;
  const plain = typeof s === "string" && s !== "" && !/[\n#]/.test(s) &&
    (() => {
      try {
        return parse(s) === s;
      } catch {
        return false;
      }
    })();
  return `${x.path.join(".")}=${plain ? s : JSON.stringify(s)}`;
}

/** Parses `a.b=value`; throws a TypeError naming the flag and the form allowed. */
export function parseSet(s: string, flag = "--set"): TopologySet {
  const m = /^([A-Za-z_][\w-]*(?:\.[A-Za-z_][\w-]*)*)=(.*)$/s.exec(s);
  if (!m) {
    throw new TypeError(
      `Cannot use ${flag} ${
        JSON.stringify(s)
      } as field=value: current value has no field path before "=" (e.g. prefill.count=2)`,
    );
  }
  let value: unknown;
  try {
    value = m[2] === "" ? "" : parse(m[2]);
  } catch {
    value = m[2];
  }
  return { path: m[1].split("."), value };
}

/**
 * A topology's size: `2P1D-tp1`, `E1-2P2D-tp2`, `dp4-tp1`, `agg-tp2` (TP of
 * its first instance per role), then, where a role has data or expert
 * parallelism, its ranks as llm-d names them: `-dep16` (DP16 with EP), `-dp2`
 * (DP without EP), `-ep` (EP over TP only); `1P1D-tp1-dep8/dep16` when roles differ.
 */
export function sizeLabelOf(t: Topology): string {
  const role = (r: string) => t.roles.find((x) => x.role === r);
  const n = (r: string) => role(r)?.count ?? 0;
  const tp = (r: string) => role(r)?.tp[0] ?? 1;
  const moe = (roles: string[]) => {
    const tags = roles.map((r) => role(r)).filter((x) => x !== undefined).map((x) =>
      x.dp > 1 ? `${x.ep ? "dep" : "dp"}${x.dp}` : x.ep ? "ep" : ""
    );
    if (tags.every((x) => x === "")) return "";
    return `-${[...new Set(tags.map((x) => x || "dp1"))].join("/")}`;
  };
  switch (t.kind) {
    case "pd":
    case "ppd":
    case "epd": {
      const tps = [...new Set([tp("prefill"), tp("decode")])].join("/");
      return `${t.kind === "epd" ? `E${n("encode")}-` : ""}${n("prefill")}P${
        n("decode")
      }D-tp${tps}${moe(["prefill", "decode"])}`;
    }
    case "dp":
      return `dp${n("replicas")}-tp${tp("replicas")}${moe(["replicas"])}`;
    default:
      return `${t.kind}-tp${tp("server")}${moe(["server"])}`;
  }
}

/** `raw` with every set applied (a copy); GPU lists re-laid when a count or tp changed. */
export function applySets(raw: unknown, sets: readonly TopologySet[]): unknown {
  const out = structuredClone(isObj(raw) ? raw : {}) as Obj;
  const tps = tpsOf(out);
  let resized = false;
  let gpusSet = false;
  for (const { path, value } of sets) {
    let cur: Obj = out;
    for (const k of path.slice(0, -1)) {
      if (!isObj(cur[k])) cur[k] = {};
      cur = cur[k] as Obj;
    }
    const last = path.at(-1)!;
    cur[last] = value;
    if (path.length === 2 && (ROLES as readonly string[]).includes(path[0])) {
      if (["count", "tp", "dp", "nodes"].includes(last)) resized = true;
      if (last === "gpus") gpusSet = true;
    }
  }
  if (resized && !gpusSet) relayGpus(out, tps);
  return out;
}

/** Ranks one GPU list of role block `b` holds (dp / nodes with data parallelism, else 1). */
function listRanks(b: Obj): number {
  const dp = typeof b.dp === "number" ? b.dp : 1;
  const nodes = typeof b.nodes === "number" ? b.nodes : 1;
  return dp > 1 && dp % nodes === 0 ? dp / nodes : 1;
}

/** Each role's tensor-parallel size as written: `tp:`, else its first GPU list's length / ranks. */
function tpsOf(o: Obj): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of ROLES) {
    const b = o[r];
    if (!isObj(b)) continue;
    const first = Array.isArray(b.gpus) ? b.gpus[0] : undefined;
    out[r] = typeof b.tp === "number"
      ? b.tp
      : Array.isArray(first)
      ? Math.max(1, Math.floor(first.length / listRanks(b)))
      : 1;
  }
  return out;
}

/**
 * Gives every role with GPU lists `count` lists of consecutive ids, in start
 * order: tp each (its `tp:`, else as it was before the changes, `tps`), or
 * (dp / nodes) × tp with data parallelism (a list names one node's GPUs).
 */
function relayGpus(o: Obj, tps: Record<string, number>): void {
  let next = 0;
  for (const r of ROLES) {
    const b = o[r];
    if (!isObj(b) || !Array.isArray(b.gpus)) continue;
    const count = typeof b.count === "number" ? b.count : b.gpus.length;
    const tp = typeof b.tp === "number" ? b.tp : tps[r] ?? 1;
    const n = listRanks(b) * tp;
    b.gpus = Array.from({ length: count }, () => Array.from({ length: n }, () => next++));
  }
}

/** Reads a topology file with `sets` applied; errors name the file and the sets. */
export async function loadTopologyWith(
  path: string,
  sets: readonly TopologySet[],
): Promise<Topology> {
  if (sets.length === 0) return await loadTopology(path);
  const raw = parseTopologyYaml(await readTopologyFile(path), path);
  const shown = sets.map((s) => `${s.path.join(".")}=${JSON.stringify(s.value)}`);
  const t = validateTopology(applySets(raw, sets), `${path} (with --set ${shown.join(" ")})`);
  const flags = sets.map((s) => `--set ${shellWord(`${s.path.join(".")}=${setValue(s.value)}`)}`);
  t.cliArgs = [shellWord(path), ...flags].join(" ");
  return t;
}

/** A `--set` value as typed: a plain string bare (parseSet reads it back as that string), else JSON. */
function setValue(v: unknown): string {
  const plain = typeof v === "string" && v !== "" &&
    !/^(true|false|yes|no|on|off|null|~)$/i.test(v) && !/^[-+.\d\[{'"!&*#|>@`%]/.test(v);
  return plain ? v as string : JSON.stringify(v);
}

/** `s` as one shell word: bare when it holds no special character, else single-quoted. */
function shellWord(s: string): string {
  return /^[\w.,:=/+@%-]+$/.test(s) ? s : `'${s.replaceAll("'", `'\\''`)}'`;
}
