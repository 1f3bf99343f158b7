/**
 * A recording fake of `kubectl` for tests and for trying the cluster flow
 * without a cluster: put it on PATH as `kubectl` (see {@linkcode installFakeKubectl})
 * or name it in `TOPOBENCH_KUBECTL`. It keeps what was applied in
 * `$FAKE_KUBECTL_DIR/objects.json`, appends every call to `calls.jsonl`, and
 * makes pods for Deployments and Jobs whose status follows
 * `$FAKE_KUBECTL_DIR/scenario.json`:
 *
 *     {"pods": {"<instance label, Deployment/Job name or component>": {"behavior": "ready" | "crash" |
 *       "pending" | "image", "readyAfterMs": 0, "logs": ["..."]}},
 *      "proxy": {"<service>": "http://127.0.0.1:PORT"}}
 *
 * Supported: `version`, `apply -f -` (YAML or JSON), `get pods|endpoints|events|
 * deployments|services|configmaps|jobs -l SEL -o json`, `get --raw` service
 * proxy paths, `logs`, `delete KINDS -l SEL`, and `exec [-i] POD -- CMD`, which
 * runs CMD here, with each pod's `/tmp/` a folder of its own under
 * `$FAKE_KUBECTL_DIR/pods/POD/` (`/tmp/topobench-done` there completes a Job
 * pod) and `/topobench/NAME.js` mapped to this checkout's entry.
 *
 * @module
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { BUNDLES } from "../../lib/bundle.ts";
import {
  type Behaviour,
  matches,
  meta,
  type Obj,
  podsOf,
  type Scenario,
  type Stored,
} from "./_fake_pods.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** Writes an executable `kubectl` into `binDir` that runs this fake with state in `stateDir`. */
export async function installFakeKubectl(binDir: string, stateDir: string): Promise<string> {
  await Deno.mkdir(binDir, { recursive: true });
  await Deno.mkdir(stateDir, { recursive: true });
  const path = join(binDir, "kubectl");
  await Deno.writeTextFile(
    path,
    `#!/bin/sh\nFAKE_KUBECTL_DIR='${stateDir}' exec '${Deno.execPath()}' run -A '${
      fileURLToPath(import.meta.url)
    }' "$@"\n`,
  );
  await Deno.chmod(path, 0o755);
  return path;
}

/** Every call the fake recorded in `stateDir` (argv without `--context`/`--namespace`, namespace apart). */
export async function fakeCalls(
  stateDir: string,
): Promise<{ argv: string[]; namespace: string; context?: string }[]> {
  const text = await Deno.readTextFile(join(stateDir, "calls.jsonl")).catch(() => "");
  return text.split("\n").filter(Boolean).map((l) => JSON.parse(l));
}

function parse(argv: string[]) {
  const flags: Record<string, string> = {};
  const pos: string[] = [];
  let rest: string[] = [];
  const takesValue = new Set([
    "namespace",
    "n",
    "context",
    "l",
    "selector",
    "o",
    "output",
    "f",
    "filename",
    "field-selector",
    "c",
    "container",
    "raw",
    "tail",
    "timeout",
  ]);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--") {
      rest = argv.slice(i + 1);
      break;
    }
    const m = /^--?([^=]+)(?:=(.*))?$/.exec(a);
    if (!m || a === "-") {
      pos.push(a);
      continue;
    }
    if (m[2] !== undefined) flags[m[1]] = m[2];
    else if (takesValue.has(m[1])) flags[m[1]] = argv[++i];
    else flags[m[1]] = "true";
  }
  const ns = flags.namespace ?? flags.n ?? "default";
  return { flags, pos, rest, ns, selector: flags.l ?? flags.selector };
}

async function load(dir: string): Promise<Stored[]> {
  const t = await Deno.readTextFile(join(dir, "objects.json")).catch(() => "[]");
  return JSON.parse(t);
}

async function save(dir: string, objs: Stored[]): Promise<void> {
  const tmp = join(dir, `objects.json.${Deno.pid}`);
  await Deno.writeTextFile(tmp, JSON.stringify(objs));
  await Deno.rename(tmp, join(dir, "objects.json"));
}

const KIND_NAMES: Record<string, string> = {
  deployment: "Deployment",
  deployments: "Deployment",
  service: "Service",
  services: "Service",
  svc: "Service",
  configmap: "ConfigMap",
  configmaps: "ConfigMap",
  job: "Job",
  jobs: "Job",
  leaderworkerset: "LeaderWorkerSet",
  leaderworkersets: "LeaderWorkerSet",
};
const RESOURCE: Record<string, string> = {
  Deployment: "deployment.apps",
  Service: "service",
  ConfigMap: "configmap",
  Job: "job.batch",
  LeaderWorkerSet: "leaderworkerset.leaderworkerset.x-k8s.io",
};

/** What one call sees: its parsed argv, the scenario and the stored objects. */
interface Ctx {
  dir: string;
  flags: Record<string, string>;
  pos: string[];
  rest: string[];
  ns: string;
  selector: string;
  scenario: Scenario;
  now: number;
  objs: Stored[];
  live: Stored[];
  known: (kind: string) => boolean;
  allPods: () => Obj[];
  out: (x: unknown) => void;
}

/** Runs one fake kubectl command; returns its exit code. */
export async function main(argv: string[]): Promise<number> {
  const dir = Deno.env.get("FAKE_KUBECTL_DIR");
  if (!dir) {
    console.error("fake kubectl: set FAKE_KUBECTL_DIR to its state folder");
    return 2;
  }
  const c = await context(dir, argv);
  const verb = c.pos[0] === "get" && c.flags.raw ? "get --raw" : c.pos[0];
  const run = VERBS[verb];
  if (run) return await run(c);
  console.error(`fake kubectl: cannot do ${JSON.stringify(argv)}`);
  return 1;
}

/** Records the call, then reads the scenario and the stored objects. */
async function context(dir: string, argv: string[]): Promise<Ctx> {
  const { flags, pos, rest, ns, selector } = parse(argv);
  const clean = argv.filter((_, i) =>
    !["--namespace", "--context", "-n"].includes(argv[i]) &&
    !["--namespace", "--context", "-n"].includes(argv[i - 1])
  );
  await Deno.writeTextFile(
    join(dir, "calls.jsonl"),
    JSON.stringify({ argv: clean, namespace: ns, context: flags.context, t: Date.now() }) + "\n",
    { append: true },
  );
  const scenario: Scenario = JSON.parse(
    await Deno.readTextFile(join(dir, "scenario.json")).catch(() => "{}"),
  );
  const now = Date.now();
  const objs = await load(dir);
  const live = objs.filter((s) => meta(s.obj).namespace === ns || !meta(s.obj).namespace);
  const known = (kind: string) =>
    KIND_NAMES[kind] !== undefined && !(scenario.noLws && KIND_NAMES[kind] === "LeaderWorkerSet");
  const allPods = () => live.flatMap((s) => podsOf(s, dir, scenario, now));
  const out = (x: unknown) => console.log(JSON.stringify(x, null, 2));
  return { dir, flags, pos, rest, ns, selector, scenario, now, objs, live, known, allPods, out };
}

/** `kubectl version`. */
function version(c: Ctx): number {
  const { out } = c;
  out({ clientVersion: { major: "1", minor: "31", gitVersion: "v1.31.0-fake" } });
  return 0;
}

/** `kubectl api-resources` (no LeaderWorkerSet when the scenario says so). */
function apiResources(c: Ctx): number {
  const { flags, scenario } = c;
  const group = flags["api-group"];
  const all = [
    "configmaps",
    "pods",
    "services",
    "deployments.apps",
    "jobs.batch",
    ...(scenario.noLws ? [] : ["leaderworkersets.leaderworkerset.x-k8s.io"]),
  ];
  console.log(all.filter((n) => !group || n.endsWith(`.${group}`)).join("\n"));
  return 0;
}

/** `kubectl apply -f`: known kinds stored, each unknown one an error at the end. */
async function apply(c: Ctx): Promise<number> {
  const { dir, flags, ns, now, objs, known } = c;
  const text = flags.f === "-" || flags.filename === "-"
    ? await new Response(Deno.stdin.readable).text()
    : await Deno.readTextFile(flags.f ?? flags.filename);
  const docs = text.trimStart().startsWith("{")
    ? [JSON.parse(text)]
    : (await import("yaml")).parseAllDocuments(text).map((d) => d.toJSON());
  const items = docs.flatMap((d: Obj) => d.kind === "List" ? d.items as Obj[] : [d]);
  // as kubectl does: what it knows is applied, each unknown kind is an error at the end
  const bad = items.filter((o) => !known(String(o.kind).toLowerCase()));
  for (const o of items.filter((x) => !bad.includes(x))) {
    const m = meta(o);
    m.namespace ??= ns;
    const i = objs.findIndex((s) =>
      s.obj.kind === o.kind && meta(s.obj).name === m.name &&
      meta(s.obj).namespace === m.namespace &&
      s.deletedAt === undefined
    );
    const verb = i >= 0 ? "configured" : "created";
    if (i >= 0) objs[i].obj = o;
    else objs.push({ obj: o, appliedAt: now });
    console.log(`${RESOURCE[String(o.kind)] ?? String(o.kind).toLowerCase()}/${m.name} ${verb}`);
  }
  await save(dir, objs);
  for (const o of bad) {
    console.error(
      `error: resource mapping not found for kind "${o.kind}": ensure CRDs are installed first`,
    );
  }
  return bad.length ? 1 : 0;
}

/** `kubectl get --raw` of a Service proxy path: the scenario's target, if its pods are Ready. */
async function getRaw(c: Ctx): Promise<number> {
  const { flags, scenario, live, allPods, out } = c;
  const m = /^\/api\/v1\/namespaces\/([^/]+)\/services\/([^:/]+)(?::([^/]+))?\/proxy(\/.*)?$/
    .exec(flags.raw);
  const svc = m &&
    live.find((s) =>
      s.obj.kind === "Service" && meta(s.obj).name === m[2] && s.deletedAt === undefined
    );
  if (!m || !svc) {
    console.error(`Error from server (NotFound): services "${m?.[2] ?? flags.raw}" not found`);
    return 1;
  }
  if (!readyPods(allPods(), svc.obj).length) {
    console.error(
      `Error from server (ServiceUnavailable): no endpoints available for service "${m[2]}"`,
    );
    return 1;
  }
  const target = scenario.proxy?.[m[2]];
  if (target) {
    const res = await fetch(target + (m[4] ?? "/")).catch(() => null);
    const body = res ? await res.text() : "";
    if (!res || res.status >= 400) {
      console.error(`Error from server: ${res ? `HTTP ${res.status}` : "connection refused"}`);
      return 1;
    }
    await Deno.stdout.write(new TextEncoder().encode(body));
    return 0;
  }
  if ((m[4] ?? "/") === "/status") out({ backends: [] });
  return 0;
}

/** `kubectl get KIND` (pods, events, endpoints or stored kinds) as a JSON List. */
function get(c: Ctx): number {
  const kind = c.pos[1];
  const items = kind === "pods" || kind === "pod"
    ? c.allPods().filter((p) => matches(meta(p).labels as Obj, c.selector)).map((p) => {
      const { _behaviour: _, ...rest } = p;
      return rest;
    })
    : kind === "events"
    ? events(c)
    : kind === "endpoints"
    ? endpoints(c)
    : stored(c, kind);
  if (!items) return 1;
  c.out({ apiVersion: "v1", kind: "List", items });
  return 0;
}

/** A pod's events, as its behaviour would make them. */
function events(c: Ctx): Obj[] {
  const name = /involvedObject\.name=(.+)/.exec(c.flags["field-selector"] ?? "")?.[1];
  const pod = c.allPods().find((p) => meta(p).name === name);
  if (!pod) return [];
  const b = (pod._behaviour ?? {}) as Behaviour;
  const ev = (type: string, reason: string, message: string) => ({ type, reason, message });
  if (b.behavior === "pending") {
    return [
      ev("Warning", "FailedScheduling", "0/2 nodes are available: 2 Insufficient nvidia.com/gpu."),
    ];
  }
  return [
    ev("Normal", "Scheduled", `Successfully assigned ${c.ns}/${name} to fake-node-1`),
    ...(b.behavior === "image"
      ? [ev("Warning", "Failed", 'Failed to pull image "example.invalid/none": not found')]
      : [ev("Normal", "Pulled", "Container image already present on machine")]),
    ...(b.behavior === "crash"
      ? [ev("Warning", "BackOff", "Back-off restarting failed container")]
      : []),
  ];
}

/** The Services' Endpoints: the Ready pods with an IP behind each. */
function endpoints(c: Ctx): Obj[] {
  const pods = c.allPods();
  return c.live.filter((s) =>
    s.obj.kind === "Service" && s.deletedAt === undefined &&
    matches(meta(s.obj).labels as Obj, c.selector)
  ).map((s) => {
    const ready = readyPods(pods, s.obj).filter((p) => (p.status as Obj).podIP);
    return {
      kind: "Endpoints",
      metadata: { name: meta(s.obj).name, namespace: c.ns, labels: meta(s.obj).labels },
      subsets: ready.length
        ? [{ addresses: ready.map((p) => ({ ip: (p.status as Obj).podIP })) }]
        : [],
    };
  });
}

/** Stored objects of the given kinds (comma-separated); null (told) for an unknown kind. */
function stored(c: Ctx, kind: string): Obj[] | null {
  const ks = kind.split(",");
  const unknown = ks.find((x) => !c.known(x));
  if (unknown) {
    console.error(`error: the server doesn't have a resource type "${unknown}"`);
    return null;
  }
  const wanted = ks.map((x) => KIND_NAMES[x]);
  return c.live.filter((s) =>
    wanted.includes(String(s.obj.kind)) && s.deletedAt === undefined &&
    matches(meta(s.obj).labels as Obj, c.selector)
  ).map((s) => s.obj);
}

/** The Ready pods a Service selects. */
function readyPods(pods: Obj[], service: Obj): Obj[] {
  const sel = Object.entries((service.spec as Obj).selector as Obj).map(([k, v]) => `${k}=${v}`)
    .join(",");
  return pods.filter((p) =>
    matches(meta(p).labels as Obj, sel) &&
    ((p.status as Obj).conditions as Obj[]).some((x) => x.type === "Ready" && x.status === "True")
  );
}

/** `kubectl logs POD`: the behaviour's lines. */
function logs(c: Ctx): number {
  const { flags, pos, allPods } = c;
  const pod = allPods().find((p) => meta(p).name === pos[1]);
  if (!pod) {
    console.error(`Error from server (NotFound): pods "${pos[1]}" not found`);
    return 1;
  }
  const b = pod._behaviour as Behaviour;
  const lines = b.logs ?? (b.behavior === "crash"
    ? [
      "INFO 11-30 10:00:00 [api_server.py] vLLM API server version 0.11.0",
      "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB",
    ]
    : ["INFO 11-30 10:00:00 [api_server.py] Starting vLLM API server on http://0.0.0.0"]);
  console.log(lines.slice(-Number(flags.tail ?? 1e9)).join("\n"));
  return 0;
}

/** `kubectl delete KIND` by name or selector. */
async function del(c: Ctx): Promise<number> {
  const { dir, pos, ns, selector, now, objs, known } = c;
  const unknown = (pos[1] ?? "").split(",").find((x) => !known(x));
  if (unknown) {
    console.error(`error: the server doesn't have a resource type "${unknown}"`);
    return 1;
  }
  const kinds = (pos[1] ?? "").split(",").map((k) => KIND_NAMES[k]).filter(Boolean);
  for (const s of objs) {
    if (
      kinds.includes(String(s.obj.kind)) && s.deletedAt === undefined &&
      meta(s.obj).namespace === ns &&
      (selector ? matches(meta(s.obj).labels as Obj, selector) : meta(s.obj).name === pos[2])
    ) {
      s.deletedAt = now;
      console.log(`${RESOURCE[String(s.obj.kind)]} "${meta(s.obj).name}" deleted`);
    }
  }
  await save(dir, objs);
  return 0;
}

/** `kubectl exec POD -- CMD`: the command run here, the pod's /tmp a folder of its own. */
async function exec(c: Ctx): Promise<number> {
  const { dir, flags, pos, rest, allPods } = c;
  const pod = allPods().find((p) => meta(p).name === pos[1]);
  if (!pod || (pod.status as Obj).phase !== "Running") {
    console.error(`error: unable to upgrade connection: pod ${pos[1]} not found or not running`);
    return 1;
  }
  // each pod's /tmp is a folder of its own here; /topobench/NAME.js (an image's bundle) is
  // this checkout's entry
  const root = join(dir, "pods", pos[1]);
  await Deno.mkdir(join(root, "tmp"), { recursive: true });
  const args = rest.map((a) => {
    const m = /^\/topobench\/(\w+)\.js$/.exec(a);
    if (m && BUNDLES[m[1]]) return join(ROOT, BUNDLES[m[1]]);
    // a path the pod printed is already here
    return a.includes(root) ? a : a.replaceAll("/tmp/", `${root}/tmp/`);
  });
  const cmd = args[0] === "deno" ? Deno.execPath() : args[0];
  const child = new Deno.Command(cmd, {
    args: args.slice(1),
    cwd: dirname(dir),
    // a pod's shell finds `deno` as the image's PATH would
    env: { PATH: `${dirname(Deno.execPath())}:${Deno.env.get("PATH") ?? ""}` },
    stdin: flags.i || flags.stdin ? "inherit" : "null",
    stdout: "inherit",
    stderr: "inherit",
  }).spawn();
  const stop = () => child.kill("SIGTERM");
  Deno.addSignalListener("SIGTERM", stop);
  const st = await child.status;
  Deno.removeSignalListener("SIGTERM", stop);
  return st.code;
}

const VERBS: Record<string, (c: Ctx) => number | Promise<number>> = {
  version,
  "api-resources": apiResources,
  apply,
  "get --raw": getRaw,
  get,
  logs,
  delete: del,
  exec,
};

if (import.meta.main) Deno.exit(await main(Deno.args));

/**
 * Replays recorded calls through a real `kubectl` (when `realBin` exists)
 * against a server that refuses connections: every argv must get past
 * kubectl's own flag parsing. Returns the argvs it rejected; null when there
 * is no real kubectl here.
 */
export async function rejectedByRealKubectl(
  calls: { argv: string[] }[],
  realBin = "/usr/bin/kubectl",
): Promise<string[] | null> {
  try {
    await Deno.stat(realBin);
  } catch {
    return null;
  }
  const shapes = new Map<string, string[]>();
  for (const c of calls) {
    const key = [c.argv[0], c.argv[1], ...c.argv.filter((a) => a.startsWith("-")).sort()].join(" ");
    if (!shapes.has(key)) shapes.set(key, c.argv);
  }
  const rejected: string[] = [];
  for (const argv of shapes.values()) {
    const child = new Deno.Command(realBin, {
      args: ["--server", "http://127.0.0.1:1", "--namespace", "ns", ...argv],
      env: { KUBECONFIG: "/dev/null" },
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    // apply needs an object to get as far as the server
    const w = child.stdin.getWriter();
    await w.write(
      new TextEncoder().encode(
        '{"apiVersion":"v1","kind":"List","items":[{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x"}}]}',
      ),
    ).catch(() => {});
    await w.close().catch(() => {});
    const out = await child.output();
    const err = new TextDecoder().decode(out.stderr);
    if (!/connection refused|127\.0\.0\.1:1/.test(err)) {
      rejected.push(`${argv.join(" ")}: ${err.trim()}`);
    }
  }
  return rejected;
}
