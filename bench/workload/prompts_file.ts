/**
 * The `prompts-file` dataset: a `.txt` file with one prompt per line, or a
 * `.jsonl` file whose lines are `{"prompt"|"text": "...", "max_tokens"?: n}`.
 * Prompts are used in file order, cycling when more requests are asked for.
 *
 * @module
 */
import type { Tokenizer } from "../../lib/tokenizer.ts";
import type { RequestSpec } from "./types.ts";
import { type EndpointKind, requestId, textSpec } from "./_spec.ts";

/** Options of {@linkcode promptsFileDataset}. */
export interface PromptsFileOptions {
  path: string;
  count: number;
  endpoint: EndpointKind;
  /** max_tokens when a line gives none. */
  outputLen: number;
  /** @default true */
  ignoreEos?: boolean;
}

/** Parses the file text into prompts and optional per-line max_tokens. */
export function parsePromptsFile(
  text: string,
  path: string,
): { prompt: string; maxTokens?: number }[] {
  const jsonl = path.endsWith(".jsonl") || path.endsWith(".json");
  const out: { prompt: string; maxTokens?: number }[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    if (!line.trim()) return;
    if (!jsonl) {
      out.push({ prompt: line });
      return;
    }
    let obj: Record<string, unknown>;
    try {
      obj = JSON.parse(line);
    } catch {
      throw new SyntaxError(
        `Cannot read line ${i + 1} of ${path} as JSON: current value is ${
          JSON.stringify(line.slice(0, 80))
        }`,
      );
    }
    const prompt = obj.prompt ?? obj.text;
    if (typeof prompt !== "string") {
      throw new TypeError(
        `Cannot use line ${
          i + 1
        } of ${path} as a prompt (a "prompt" or "text" string): current value is ${
          JSON.stringify(line.slice(0, 80))
        }`,
      );
    }
    const mt = obj.max_tokens ?? obj.output_len;
    out.push({ prompt, maxTokens: typeof mt === "number" ? mt : undefined });
  });
  if (out.length === 0) {
    throw new RangeError(`Cannot use ${path} as a prompts file: current value has no prompts`);
  }
  return out;
}

/** Builds `count` requests from the file. */
export async function promptsFileDataset(
  tok: Tokenizer,
  o: PromptsFileOptions,
): Promise<RequestSpec[]> {
  const items = parsePromptsFile(await Deno.readTextFile(o.path), o.path);
  return Array.from({ length: o.count }, (_, i) => {
    const it = items[i % items.length];
    return textSpec(tok, o.endpoint, {
      requestId: requestId(i),
      maxTokens: it.maxTokens ?? o.outputLen,
      ignoreEos: o.ignoreEos ?? true,
    }, it.prompt);
  });
}
