import assert from "node:assert/strict";
import { KvCache } from "./kv_cache.ts";
import { extendHashes, keepHashes, Seq } from "./_seq.ts";
import { MAX_SESSIONS } from "./_hash_chains.ts";
import type { EngineRequest } from "./engine.ts";

const B = 4;
/** The hashes `seq` holds, as an array. */
const hashesOf = (seq: Seq) => Array.from(seq.hashes.subarray(0, seq.numHashes));
const ids = (n: number, start: number) => Array.from({ length: n }, (_, i) => start + i);

/** A request of `session` whose stream is `prompt` then `out`, its blocks hashed as the engine hashes them. */
function hashed(session: string | undefined, prompt: number[], out: number[], blocks: number): Seq {
  const req: EngineRequest = {
    id: `r${Math.random()}`,
    promptTokens: prompt,
    outputIds: out,
    finishReason: "length",
    session,
    sink: { onFinish: () => {} },
  };
  const seq = new Seq(req, 0);
  extendHashes(seq, blocks, B);
  return seq;
}

/** The hashes of a stream as the KV cache computes them from scratch. */
const fresh = (stream: number[]) => new KvCache({ numBlocks: 1, blockSize: B }).hashes(stream);

Deno.test("hash chains: a session's next turn starts from the hashes of what it repeats, the same numbers", () => {
  const p1 = ids(10, 100), out1 = ids(6, 500);
  const first = hashed("conv-a", p1, out1, 4); // 16 tokens: prompt and answer
  assert.deepEqual(hashesOf(first), fresh([...p1, ...out1]));
  keepHashes(first, B);
  const p2 = [...p1, ...out1, ...ids(9, 900)];
  const next = hashed("conv-a", p2, [7, 7, 7], 6);
  assert.deepEqual(hashesOf(next), fresh(p2).slice(0, 6));
  // a prompt that differs inside block 2 reuses blocks 0 and 1 only, and still hashes right
  const p3 = [...p2];
  p3[9] = 1;
  const other = hashed("conv-a", p3, [], 6);
  assert.deepEqual(hashesOf(other), fresh(p3).slice(0, 6));
});

Deno.test("hash chains: another block size, another session or a forgotten one hashes from scratch", () => {
  const p = ids(16, 7);
  keepHashes(hashed("conv-b", p, [], 4), B);
  const differentSize = new Seq({
    id: "x",
    promptTokens: p,
    outputIds: [],
    finishReason: "length",
    session: "conv-b",
    sink: { onFinish: () => {} },
  }, 0);
  extendHashes(differentSize, 2, 8);
  assert.deepEqual(hashesOf(differentSize), new KvCache({ numBlocks: 1, blockSize: 8 }).hashes(p));
  assert.deepEqual(hashesOf(hashed("conv-c", p, [], 4)), fresh(p));
  // more sessions than are held: the oldest are forgotten, the results stay the same
  for (let i = 0; i <= 2 * MAX_SESSIONS; i++) {
    keepHashes(hashed(`filler-${i}`, ids(4, i), [], 1), B);
  }
  assert.deepEqual(hashesOf(hashed("conv-b", p, [], 4)), fresh(p));
});
