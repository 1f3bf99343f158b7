/**
 * Token chunks from byte templates are the bytes the JSON path writes
 * (`sseEventBytes(JSON.stringify(chunk(...)))`), for both endpoints, every
 * finish reason, ids outside the vocabulary and odd model names.
 */
import assert from "node:assert/strict";
import { loadTokenizer } from "../../../lib/tokenizer.ts";
import { sseEventBytes } from "../../../lib/sse.ts";
import { buildVocab, tokenText } from "../core/vocab.ts";
import { chunk, type Endpoint } from "../core/openai.ts";
import { TokenChunks } from "./_sse_chunks.ts";

Deno.test("sse chunks: templates give the JSON path's bytes", async () => {
  const vocab = buildVocab(await loadTokenizer(undefined, { buildOnUse: true }));
  const ids = [...vocab.ids.slice(0, 50), ...vocab.punct, ...vocab.firstIds.slice(0, 5), 7, -1];
  const models = ["meta-llama/Llama-3.1-8B-Instruct", 'a "quoted" \\ model', "modèle ✓"];
  for (const endpoint of ["chat", "completion"] as Endpoint[]) {
    for (const model of models) {
      const t = new TokenChunks(endpoint, "cmpl-abc\u2028", 1765000000, model, vocab);
      for (const reason of [null, "length", "stop"]) {
        for (const id of ids) {
          const want = sseEventBytes(
            JSON.stringify(
              chunk(endpoint, "cmpl-abc\u2028", 1765000000, model, tokenText(vocab, id), reason),
            ),
          );
          assert.deepEqual(t.bytes(id, reason), want, `${endpoint} ${model} ${reason} ${id}`);
        }
      }
    }
  }
});
