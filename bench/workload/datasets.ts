/**
 * One entry point for every dataset: builds the requests (single-turn) or the
 * conversations (multi-turn) a run sends, from resolved options.
 *
 * @module
 */
import { parseTrace, type TraceOptions, traceRequests } from "./trace.ts";
import { distLabel, type LengthDist } from "./lengths.ts";
import type { Tokenizer } from "../../lib/tokenizer.ts";
import type { Conversation, RequestSpec } from "./types.ts";
import type { EndpointKind } from "./_spec.ts";
import { randomDataset } from "./random.ts";
import { prefixRepetitionDataset } from "./prefix_repetition.ts";
import { sharegptConversations, sharegptDataset } from "./sharegpt.ts";
import { promptsFileDataset } from "./prompts_file.ts";
import { multiturnDataset, type MultiturnOptions, presetName } from "./multiturn.ts";
import { randomMmDataset } from "./random_mm.ts";

/** Dataset names. */
export const DATASETS = [
  "random",
  "sharegpt",
  "prompts-file",
  "prefix-repetition",
  "multiturn",
  "random-mm",
  "mooncake",
  "trace",
  "sharegpt-multiturn",
] as const;
/** One of {@linkcode DATASETS}. */
export type DatasetName = typeof DATASETS[number];

/** Resolved dataset options (the bench config's workload part). */
export interface DatasetOptions {
  name: DatasetName;
  seed: number;
  endpoint: EndpointKind;
  inputLen: number;
  outputLen: number;
  /** Explicit output length for sharegpt (else the recorded answers'). */
  outputLenGiven: boolean;
  rangeRatio: number;
  /** `--input-dist` (random): input lengths drawn from it. */
  inputDist?: LengthDist;
  /** `--output-dist` (random): output lengths drawn from it. */
  outputDist?: LengthDist;
  prefixLen: number;
  numPrefixes: number;
  /** File for sharegpt / prompts-file / mooncake / trace. */
  path?: string;
  /** mooncake / trace: divide the trace's times by this. @default 1 */
  traceSpeedup?: number;
  turns: number;
  /** Multiturn: turn 1's user tokens. @default inputLen */
  firstInputLen?: number;
  /** Multiturn: turn 1's output tokens. @default outputLen */
  firstOutputLen?: number;
  thinkTimeMs: number;
  imageSizes: { width: number; height: number }[];
  imagesPerRequest: number;
  ignoreEos: boolean;
  /**
   * Multiturn, random and random-mm: keep prompts' token ids, and random-mm's images known by
   * size (`deno task predict`). @default false
   */
  tokenIds?: boolean;
}

/** What a run sends: single-turn requests or multi-turn conversations. */
export interface Workload {
  requests: RequestSpec[];
  conversations: Conversation[];
}

/** The trace options of a dataset config. */
export function traceOptions(o: DatasetOptions): TraceOptions {
  return {
    endpoint: o.endpoint,
    seed: o.seed,
    ignoreEos: o.ignoreEos,
    speedup: o.traceSpeedup,
    tokenIds: o.tokenIds,
  };
}

/** Builds `count` requests (or conversations for `multiturn`). */
export async function buildWorkload(
  tok: Tokenizer,
  o: DatasetOptions,
  count: number,
): Promise<Workload> {
  switch (o.name) {
    case "multiturn":
    case "sharegpt-multiturn":
      return { requests: [], conversations: await conversationsOf(tok, o, o.name, count) };
    case "sharegpt":
    case "prompts-file":
    case "mooncake":
    case "trace":
      return { requests: await fileRequests(tok, o, o.name, count), conversations: [] };
    case "random":
    case "prefix-repetition":
    case "random-mm":
      return { requests: generatedRequests(tok, o, o.name, count), conversations: [] };
  }
}

/** Single-turn requests drawn from the seed alone (no file). */
function generatedRequests(
  tok: Tokenizer,
  o: DatasetOptions,
  name: "random" | "prefix-repetition" | "random-mm",
  count: number,
): RequestSpec[] {
  const common = { count, seed: o.seed, endpoint: o.endpoint };
  switch (name) {
    case "random":
      return randomDataset(tok, {
        ...common,
        inputLen: o.inputLen,
        outputLen: o.outputLen,
        rangeRatio: o.rangeRatio,
        prefixLen: o.prefixLen,
        ignoreEos: o.ignoreEos,
        inputDist: o.inputDist,
        outputDist: o.outputDist,
        tokenIds: o.tokenIds,
      });
    case "prefix-repetition":
      return prefixRepetitionDataset(tok, {
        ...common,
        prefixLen: o.prefixLen,
        suffixLen: o.inputLen,
        numPrefixes: o.numPrefixes,
        outputLen: o.outputLen,
        ignoreEos: o.ignoreEos,
      });
    case "random-mm":
      return randomMmDataset(tok, {
        count,
        seed: o.seed,
        inputLen: o.inputLen,
        outputLen: o.outputLen,
        rangeRatio: o.rangeRatio,
        imageSizes: o.imageSizes,
        imagesPerRequest: o.imagesPerRequest,
        tokenIds: o.tokenIds,
      });
  }
}

/** Single-turn requests read from `o.path` (a dataset, a prompts file or a trace). */
async function fileRequests(
  tok: Tokenizer,
  o: DatasetOptions,
  name: "sharegpt" | "prompts-file" | "mooncake" | "trace",
  count: number,
): Promise<RequestSpec[]> {
  const common = { count, seed: o.seed, endpoint: o.endpoint };
  switch (name) {
    case "sharegpt":
      return await sharegptDataset(tok, {
        ...common,
        path: o.path!,
        outputLen: o.outputLenGiven ? o.outputLen : undefined,
      });
    case "prompts-file":
      return await promptsFileDataset(tok, {
        ...common,
        path: o.path!,
        outputLen: o.outputLen,
        ignoreEos: o.ignoreEos,
      });
    case "mooncake":
    case "trace": {
      const records = parseTrace(await Deno.readTextFile(o.path!), o.path!).slice(0, count);
      return traceRequests(tok, records, traceOptions(o)).requests;
    }
  }
}

/** Multi-turn conversations: synthetic (`multiturn`) or from a ShareGPT file. */
async function conversationsOf(
  tok: Tokenizer,
  o: DatasetOptions,
  name: "multiturn" | "sharegpt-multiturn",
  count: number,
): Promise<Conversation[]> {
  if (name === "sharegpt-multiturn") {
    return await sharegptConversations(tok, {
      path: o.path!,
      count,
      seed: o.seed,
      turns: o.turns,
      thinkTimeMs: o.thinkTimeMs,
      outputLen: o.outputLenGiven ? o.outputLen : undefined,
    });
  }
  return multiturnDataset(tok, { count, ...multiturnOptions(o) });
}

/**
 * The workload part of a run's identity: the dataset with what sets its shape
 * (preset or lengths, turns, prefixes, images, file), e.g. `multiturn W1 t3`,
 * `random 1024/128`. Runs with different labels never pool.
 */
export function workloadLabel(o: DatasetOptions): string {
  const io = `${o.inputLen}/${o.outputLen}`;
  const file = o.path ? ` ${o.path.split("/").at(-1)}` : "";
  switch (o.name) {
    case "multiturn": {
      const first = o.firstInputLen !== undefined || o.firstOutputLen !== undefined
        ? ` first ${o.firstInputLen ?? o.inputLen}/${o.firstOutputLen ?? o.outputLen}`
        : "";
      return `multiturn ${presetName(o) ?? io + first} t${o.turns}`;
    }
    case "random":
      return `random ${o.inputDist ? distLabel(o.inputDist) : o.inputLen}/${
        o.outputDist ? distLabel(o.outputDist) : o.outputLen
      }${o.prefixLen ? ` p${o.prefixLen}` : ""}${o.rangeRatio ? ` ±${o.rangeRatio}` : ""}`;
    case "prefix-repetition":
      return `prefix-repetition ${o.numPrefixes}x${o.prefixLen}+${io}`;
    case "random-mm":
      return `random-mm ${io} ${o.imagesPerRequest}img`;
    case "sharegpt":
      return `sharegpt${file}${o.outputLenGiven ? ` out${o.outputLen}` : ""}`;
    case "prompts-file":
      return `prompts-file${file} out${o.outputLen}`;
    case "sharegpt-multiturn":
      return `sharegpt-multiturn${file} t${o.turns}`;
    case "mooncake":
    case "trace":
      return `${o.name}${file}${(o.traceSpeedup ?? 1) !== 1 ? ` x${o.traceSpeedup}` : ""}`;
  }
}

/** The synthetic multi-turn dataset's options from a config's dataset options. */
export function multiturnOptions(o: DatasetOptions): Omit<MultiturnOptions, "count"> {
  return {
    seed: o.seed,
    turns: o.turns,
    inputLen: o.inputLen,
    outputLen: o.outputLen,
    firstInputLen: o.firstInputLen,
    firstOutputLen: o.firstOutputLen,
    thinkTimeMs: o.thinkTimeMs,
    tokenIds: o.tokenIds,
  };
}
