/**
 * The cluster client: `kubectl`, run as a subprocess. Why kubectl and not
 * `@kubernetes/client-node`: it is what a cluster's users already have, set up
 * with their context and credential plugins (EKS, GKE, OIDC `exec` entries
 * that a library would have to re-implement), it speaks every API version the
 * server does, and a recording fake on PATH (`tasks/dev/fake_kubectl.ts`)
 * tests the whole flow without a cluster. `TOPOBENCH_KUBECTL` names another
 * binary. Shared by `launch/` (up, down, status) and `bench/` (load pods).
 *
 * @module
 */

/** Labels every object topobench creates carries. */
export const LABELS = {
  partOf: "app.kubernetes.io/part-of",
  component: "app.kubernetes.io/component",
  topology: "topobench.io/topology",
  instance: "topobench.io/instance",
  run: "topobench.io/run",
} as const;

/** kubectl's `--request-timeout` of one-shot requests. */
export const REQUEST_TIMEOUT = "60s";

/** Where commands go. */
export interface KubeTarget {
  namespace: string;
  /** kubeconfig context. @default the current context */
  context?: string;
}

/** A finished kubectl command. */
export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

type Obj = Record<string, unknown>;

/** Runs kubectl against one namespace (and context). */
export class Kubectl {
  /** The binary: `TOPOBENCH_KUBECTL`, else `kubectl` on PATH. */
  readonly bin: string;
  constructor(readonly target: KubeTarget) {
    this.bin = Deno.env.get("TOPOBENCH_KUBECTL") || "kubectl";
  }

  /**
   * `--context`/`--namespace` flags then `args`; one-shot requests (`get`,
   * `apply`, `logs`) give up after {@linkcode REQUEST_TIMEOUT} (an API server
   * that does not answer must not hang us), never `exec` streams or waits.
   */
  argv(args: string[]): string[] {
    const ctx = this.target.context ? ["--context", this.target.context] : [];
    const oneShot = ["get", "apply", "logs", "api-resources"].includes(args[0]);
    return [
      ...ctx,
      "--namespace",
      this.target.namespace,
      ...args,
      ...(oneShot ? [`--request-timeout=${REQUEST_TIMEOUT}`] : []),
    ];
  }

  /** Runs one command to its end (or until `signal`); never throws for a non-zero exit. */
  async run(args: string[], stdin?: string, signal?: AbortSignal): Promise<KubectlResult> {
    let child: Deno.ChildProcess;
    try {
      child = new Deno.Command(this.bin, {
        args: this.argv(args),
        stdin: stdin === undefined ? "null" : "piped",
        stdout: "piped",
        stderr: "piped",
        ...(signal ? { signal } : {}),
      }).spawn();
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) {
        throw new Error(
          `Cannot run ${this.bin} as the cluster client: current value is not on PATH (install kubectl and check kubectl config current-context, or set TOPOBENCH_KUBECTL)`,
        );
      }
      throw e;
    }
    // collect the output while stdin is written: a child that answers before it has read
    // all of its input must not block on a full pipe
    const done = child.output();
    if (stdin !== undefined) {
      const w = child.stdin.getWriter();
      await w.write(new TextEncoder().encode(stdin)).catch(() => {});
      await w.close().catch(() => {});
    }
    const r = await done;
    const dec = new TextDecoder();
    return { code: r.code, stdout: dec.decode(r.stdout), stderr: dec.decode(r.stderr) };
  }

  /** Runs a command that must succeed; throws with kubectl's own message. */
  async ok(args: string[], stdin?: string): Promise<string> {
    const r = await this.run(args, stdin);
    if (r.code !== 0) {
      throw new Error(
        `Cannot run kubectl ${
          args.slice(0, 3).join(" ")
        } in namespace ${this.target.namespace}: current value is exit ${r.code}: ${
          (r.stderr || r.stdout).trim().split("\n").slice(-3).join(" | ")
        }`,
      );
    }
    return r.stdout;
  }

  /** `kubectl get ... -o json`, parsed. */
  async json<T = Obj>(args: string[]): Promise<T> {
    const text = await this.ok([...args, "-o", "json"]);
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new SyntaxError(
        `Cannot parse kubectl ${args.join(" ")} output as JSON: current value starts ${
          JSON.stringify(text.slice(0, 80))
        }`,
      );
    }
  }

  /** Items of `kubectl get KIND -l SELECTOR -o json`. */
  async items(kind: string, selector: string): Promise<Obj[]> {
    const list = await this.json<{ items?: Obj[] }>(["get", kind, "-l", selector]);
    return list.items ?? [];
  }

  /** GET a path of a Service through the API server proxy (`kubectl get --raw`). */
  serviceProxy(
    service: string,
    port: string,
    path: string,
    signal?: AbortSignal,
  ): Promise<KubectlResult> {
    const p = path.startsWith("/") ? path : `/${path}`;
    return this.run(
      [
        "get",
        "--raw",
        `/api/v1/namespaces/${this.target.namespace}/services/${service}:${port}/proxy${p}`,
      ],
      undefined,
      signal,
    );
  }
}

/** `NAME.NAMESPACE.svc[.cluster.local]` of an in-cluster Service URL, or null. */
export function serviceOfUrl(url: string): { service: string; namespace: string } | null {
  const m = /^([a-z0-9-]+)\.([a-z0-9-]+)\.svc(\.cluster\.local)?\.?$/.exec(new URL(url).hostname);
  return m ? { service: m[1], namespace: m[2] } : null;
}

/**
 * A `fetch` for GETs from outside the cluster: in-cluster Service URLs
 * (`http://NAME.NS.svc.cluster.local:PORT/path`) go through the API server's
 * service proxy, any other URL to `fetch`.
 */
export function clusterFetch(k: Kubectl): (url: string, init?: RequestInit) => Promise<Response> {
  return async (url, init) => {
    const svc = serviceOfUrl(url);
    if (!svc) return await fetch(url, init);
    if ((init?.method ?? "GET").toUpperCase() !== "GET") {
      throw new TypeError(
        `Cannot send ${init?.method} ${url} through the API server from here: current value is a ${init?.method}; only GETs are proxied`,
      );
    }
    const kk = svc.namespace === k.target.namespace
      ? k
      : new Kubectl({ namespace: svc.namespace, context: k.target.context });
    const u = new URL(url);
    const r = await kk.serviceProxy(
      svc.service,
      u.port || "80",
      u.pathname + u.search,
      init?.signal ?? undefined,
    );
    return new Response(r.code === 0 ? r.stdout : r.stderr, { status: r.code === 0 ? 200 : 502 });
  };
}
