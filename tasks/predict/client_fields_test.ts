import assert from "node:assert/strict";
import { openaiFields } from "../../bench/request_body.ts";
import type { RequestSpec } from "../../bench/workload/types.ts";
import { IDS_TEXT, IdsText } from "../../lib/lazy_text.ts";
import { ApiError, clientRequest, parseRequest } from "../../launch/sim/core/openai.ts";

const base = { requestId: "r1", conversationId: "r1", turn: 1, promptTokens: 3, ignoreEos: true };

/** The fields the frontend reads of a parsed request. */
function seen(read: () => ReturnType<typeof parseRequest>) {
  try {
    const p = read();
    return {
      endpoint: p.endpoint,
      model: p.model,
      prompt: p.prompt,
      promptText: p.promptText,
      messages: p.messages,
      maxTokens: p.maxTokens,
      minTokens: p.minTokens,
      ignoreEos: p.ignoreEos,
      stream: p.stream,
      includeUsage: p.includeUsage,
      continuousUsage: p.continuousUsage,
      kvTransferParams: p.kvTransferParams,
    };
  } catch (e) {
    assert.ok(e instanceof ApiError);
    return { status: e.status, message: e.message };
  }
}

Deno.test("virtual sender's fields: the same request and the same errors as parsing the body bench's client sends", () => {
  const known = new IdsText([0, 1, 1], ["a", "b"]);
  const lazy = { ...base, maxTokens: 4, [IDS_TEXT]: known } as RequestSpec;
  Object.defineProperty(lazy, "prompt", { get: () => known.toString(), enumerable: true });
  const specs: RequestSpec[] = [
    { ...base, prompt: "hello there", maxTokens: 8 },
    { ...base, prompt: "no eos", maxTokens: 8, ignoreEos: false },
    { ...base, messages: [{ role: "user", content: "hi" }], maxTokens: 5 },
    lazy,
    { ...base, prompt: "zero", maxTokens: 0 }, // refused: at least 1
    { ...base, prompt: "half", maxTokens: 2.5 }, // refused: an integer
    { ...base, messages: [{ role: "user", content: "x" }], maxTokens: -1 },
    { ...base, messages: [], maxTokens: 5 } as RequestSpec, // refused: empty
    { ...base, messages: [{ content: "no role" }], maxTokens: 5 } as unknown as RequestSpec,
    { ...base, maxTokens: undefined } as unknown as RequestSpec, // no prompt, no cap
  ];
  for (const spec of specs) {
    const body = openaiFields(spec, "");
    const endpoint = body.messages !== undefined ? "chat" : "completion";
    assert.deepEqual(
      seen(() => clientRequest(spec)),
      seen(() => parseRequest(endpoint, body)),
      JSON.stringify(spec),
    );
  }
  // a prompt of known ids is built only when read
  const before = IdsText.built;
  const p = clientRequest(lazy);
  assert.equal(IdsText.built, before);
  assert.equal(p.prompt, "abb");
});
