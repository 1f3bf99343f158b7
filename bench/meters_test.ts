import assert from "node:assert/strict";
import { chunkText, plainChunkText } from "./_meters.ts";

const completions = (text: string, tail = ',"usage":null}') =>
  `{"id":"cmpl-1","object":"text_completion","created":1,"model":"m","choices":[{"index":0,"text":${
    JSON.stringify(text)
  },"logprobs":null,"finish_reason":null,"stop_reason":null}]${tail}`;
const chat = (delta: Record<string, unknown>) =>
  JSON.stringify({
    id: "chatcmpl-1",
    object: "chat.completion.chunk",
    created: 1,
    model: "m",
    choices: [{ index: 0, delta, logprobs: null, finish_reason: null }],
  });

Deno.test("plainChunkText: a plain chunk's text, as a parse reads it", () => {
  const plain = [
    completions(" Hello"),
    completions(""),
    completions(" héllo 世界"),
    completions(" tok", "}"),
    chat({ content: " world" }),
    chat({ content: "" }),
  ];
  for (const data of plain) {
    const obj = JSON.parse(data);
    assert.equal(plainChunkText(data), chunkText(obj), data);
    assert.equal(obj.usage ?? null, null);
  }
});

Deno.test("plainChunkText: every other event is left to the parse", () => {
  const others = [
    completions('say "hi"'), // an escape in the text
    completions("a\\b"),
    completions(" x", ',"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}'),
    completions(" x", ',"error":null,"usage":null}'),
    completions("error"),
    chat({ role: "assistant", content: "" }),
    chat({ content: null, reasoning_content: "think" }),
    '{"id":"c","choices":[],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}',
    '{"error":{"message":"boom","code":500}}',
    '{"choices": [{"delta": ',
    "not json",
    "",
  ];
  for (const data of others) assert.equal(plainChunkText(data), null, data);
});
