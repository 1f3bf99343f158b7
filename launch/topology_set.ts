/**
 * `--set field=value` on topologies (up, the pipeline, predict, experiment
 * sweeps): any field of the topology YAML by its dotted path
 * (`prefill.count=2`, `decode.tp=2`, `sim.speed=4`, `router.policy=least_loaded`),
 * the value read as YAML (`2` a number, `[[0],[1]]` a list). Changing a
 * role's `count` or `tp` lays its `gpus` out again: every role with GPU lists
 * gets `tp` consecutive ids per instance, roles in start order, so sizes can
 * change without rewriting GPU lists by hand.
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

/** A topology's size: `2P1D-tp1`, `E1-2P2D-tp2`, `dp4-tp1`, `agg-tp2` (TP of its first instance per role). */
export function sizeLabelOf(t: Topology): string {
  const role = (r: string) => t.roles.find((x) => x.role === r);
  const n = (r: string) => role(r)?.count ?? 0;
  const tp = (r: string) => role(r)?.tp[0] ?? 1;
  switch (t.kind) {
    case "pd":
    case "ppd":
    case "epd": {
      const tps = [...new Set([tp("prefill"), tp("decode")])].join("/");
      return `${t.kind === "epd" ? `E${n("encode")}-` : ""}${n("prefill")}P${
        n("decode")
      }D-tp${tps}`;
    }
    case "dp":
      return `dp${n("replicas")}-tp${tp("replicas")}`;
    default:
      return `${t.kind}-tp${tp("server")}`;
  }
}

/** `raw` with every set applied (a copy); GPU lists re-laid when a count or tp changed. */
export function applySets(raw: unknown, sets: readonly TopologySet[]): unknown {
  const out = structuredClone(isObj(raw) ? raw : {}) as Obj;
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
      if (last === "count" || last === "tp") resized = true;
      if (last === "gpus") gpusSet = true;
    }
  }
  if (resized && !gpusSet) relayGpus(out);
  return out;
}

/** Gives every role with GPU lists `count` lists of `tp` consecutive ids, in start order. */
function relayGpus(o: Obj): void {
  let next = 0;
  for (const r of ROLES) {
    const b = o[r];
    if (!isObj(b) || !Array.isArray(b.gpus)) continue;
    const count = typeof b.count === "number" ? b.count : b.gpus.length;
    const first = b.gpus[0];
    const tp = typeof b.tp === "number" ? b.tp : Array.isArray(first) ? first.length : 1;
    b.gpus = Array.from({ length: count }, () => Array.from({ length: tp }, () => next++));
  }
}

/** Reads a topology file with `sets` applied; errors name the file and the sets. */
export async function loadTopologyWith(
  path: string,
  sets: readonly TopologySet[],
): Promise<Topology> {
  if (sets.length === 0) return await loadTopology(path);
  const raw = parseTopologyYaml(await readTopologyFile(path), path);
  const shown = sets.map((s) => `${s.path.join(".")}=${JSON.stringify(s.value)}`).join(" ");
  return validateTopology(applySets(raw, sets), `${path} (with --set ${shown})`);
}
