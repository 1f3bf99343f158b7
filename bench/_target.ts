/**
 * What a bench run measures against, found out before it starts: how the
 * server is reached (directly, or through the Kubernetes API server), its
 * model and version, the tokenizer, and the body each request sends.
 *
 * @module
 */
import { clusterFetch, Kubectl } from "../lib/kubectl.ts";
import type { Logger } from "../lib/log.ts";
import { LazyTokenizer, loadTokenizer, type Tokenizer } from "../lib/tokenizer.ts";
import type { BenchConfig } from "./bench_config.ts";
import { type BodyPayload, loadTemplate, openaiBodyWriter, templateBody } from "./request_body.ts";
import type { RequestSpec } from "./workload/types.ts";
import { firstModel, type HttpGet, serverVersion } from "./_server_info.ts";

/** The server under test and what is sent to it. */
export interface Target {
  /** The cluster with `--platform kubernetes`, else null. */
  kube: Kubectl | null;
  /** GETs to the server: `fetch`, or through the API server to in-cluster URLs. */
  get: HttpGet;
  /** The model asked for (`--model`, else the server's first). */
  model: string;
  /** The server's model list, when it was asked for. */
  serverModels: unknown;
  /** `GET /version`, or null. */
  version: string | null;
  /** The server is our simulated engine. */
  simulated: boolean;
  tok: Tokenizer;
  /** JSON body of a request. */
  body: (spec: RequestSpec) => BodyPayload;
  /** The full endpoint URL. */
  url: string;
  /** Whether the bodies ask for a stream; undefined with a template (the body is the user's). */
  streamAsked: boolean | undefined;
}

/** Finds out the target of a run (model, version, tokenizer, body); logs what the user should know. */
export async function openTarget(cfg: BenchConfig, log: Logger): Promise<Target> {
  // --platform kubernetes: in-cluster URLs are read through the API server from here
  const kube = cfg.kubernetes
    ? new Kubectl({ namespace: cfg.kubernetes.namespace, context: cfg.kubernetes.context })
    : null;
  const get = kube ? clusterFetch(kube) : fetch;
  if (kube && /^(localhost|127\.|\[::1\]$)/.test(new URL(cfg.url).hostname)) {
    log.warn(
      `--url ${cfg.url} is a loopback address: inside a pod it is the pod itself, not a port-forward on this machine; give the in-cluster URL (deno task up prints it)`,
    );
  }
  const server = await modelOf(cfg, get);
  const version = await serverVersion(cfg.url, get);
  const tok = await tokenizerOf(cfg, version, log);
  return {
    kube,
    get,
    model: server.id,
    serverModels: server.models,
    version,
    simulated: version?.startsWith("topobench-sim") ?? false,
    tok,
    body: await bodyOf(cfg, server.id),
    url: /^https?:\/\//.test(cfg.endpoint) ? cfg.endpoint : cfg.url + cfg.endpoint,
    // a template's body is the user's: whether it asks for a stream is not ours to know
    streamAsked: cfg.requestBodyTemplate ? undefined : cfg.stream,
  };
}

/** `--model`, else the server's first model; a non-OpenAI server may have no model list. */
async function modelOf(cfg: BenchConfig, get: HttpGet): Promise<{ id: string; models: unknown }> {
  if (cfg.model) return { id: cfg.model, models: null };
  const openaiEndpoint = /\/v1\/(chat\/)?completions\/?$/.test(cfg.endpoint);
  // the template names the model, if any
  return openaiEndpoint
    ? await firstModel(cfg.url, get)
    : await firstModel(cfg.url, get).catch(() => ({ id: "", models: null }));
}

/**
 * The random datasets' prompts need no tokenizing (the shipped word list): the
 * tokenizer is loaded after the run for the checks, and before it when the
 * server may send no usage (it does not answer /version as vLLM and our engine
 * do), never in the middle of a run.
 */
async function tokenizerOf(
  cfg: BenchConfig,
  version: string | null,
  log: Logger,
): Promise<Tokenizer> {
  // every class's dataset counts (the shared config is the first class's)
  const datasets = cfg.classes.length
    ? cfg.classes.map((c) => c.cfg.dataset.name)
    : [cfg.dataset.name];
  const lazy = cfg.tokenizer === undefined &&
    datasets.every((d) => d === "random" || d === "prefix-repetition");
  const usageExpected = version !== null || cfg.responseTokensPath !== undefined;
  if (lazy && !usageExpected) {
    log.info("the server does not answer /version: loading the client tokenizer before the run");
  }
  return lazy && usageExpected ? new LazyTokenizer() : await loadTokenizer(cfg.tokenizer);
}

/** The request body of a run: `--request-body-template`, else an OpenAI body (also built in each sender thread). */
export async function bodyOf(
  cfg: BenchConfig,
  model: string,
): Promise<(spec: RequestSpec) => BodyPayload> {
  const template = cfg.requestBodyTemplate ? await loadTemplate(cfg.requestBodyTemplate) : null;
  return template
    ? (s) => templateBody(template, s, model)
    : openaiBodyWriter(model, cfg.sampling, { stream: cfg.stream });
}
