import assert from "node:assert/strict";
import { asciiSplit, isAscii } from "./_ascii_split.ts";
import { PRE_TOKENIZE } from "./llama3_bpe.ts";
import { Rng } from "./rng.ts";

const byRegex = (s: string) => s.match(new RegExp(PRE_TOKENIZE)) ?? [];
const byHand = (s: string) => {
  const out: string[] = [];
  asciiSplit(s, (p) => out.push(p));
  return out;
};

Deno.test("asciiSplit: the pre-tokenizer regex's pieces on ASCII text", () => {
  for (
    const s of [
      "",
      "Hello world",
      "I'm DON'T they'll we've you'RE she'd it's 'S 'sS ''s 'x 'r 'lx",
      "  hello\t\tworld \n\n  x\r\n \r\n  ",
      '12345 1 12 (a) ((b)) ... ?! "q" x=1; y-->z',
      " \u000b\u000c\u0000\u001f\u007f a\u001cb",
    ]
  ) assert.deepEqual(byHand(s), byRegex(s), JSON.stringify(s));
  const rng = new Rng("ascii-split");
  const alphabet = "  \t\n\r\u000b\u000c'sStTrReEvVmMlLdDx09(.\u0000\u007f";
  for (let k = 0; k < 3000; k++) {
    const s = Array.from(
      { length: rng.int(1, 30) },
      () =>
        rng.next() < 0.9
          ? alphabet[rng.int(0, alphabet.length - 1)]
          : String.fromCharCode(rng.int(0, 127)),
    ).join("");
    assert.deepEqual(byHand(s), byRegex(s), JSON.stringify(s));
  }
  assert.ok(isAscii("plain \u007f") && !isAscii("é") && !isAscii("🚀"));
});
