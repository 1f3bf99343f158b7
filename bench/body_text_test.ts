import assert from "node:assert/strict";
import { Rng } from "../lib/rng.ts";
import { BodyText } from "./_body_text.ts";

Deno.test("body text: any split of a body reads as one streaming TextDecoder reads it", () => {
  const enc = new TextEncoder();
  const bodies = [
    enc.encode("\ufeffdata: é 日本 🙂\n\n".repeat(3)),
    enc.encode("data: plain ascii\n\n\ufeff mid-stream BOM kept"),
    Uint8Array.from([0xef, 0xbb, 0xbf, 0x61, 0xe6, 0x97, 0x0a, 0xff, 0x62, 0xf0, 0x9f, 0x99]),
  ];
  const rng = new Rng("body-text");
  for (const body of bodies) {
    const stream = new TextDecoder();
    const want = stream.decode(body, { stream: true }) + stream.decode();
    for (let n = 0; n < 300; n++) {
      const t = new BodyText();
      let got = "";
      for (let at = 0; at < body.length;) {
        const len = Math.floor(rng.next() * 6); // empty reads too
        got += t.decode(body.subarray(at, at + len));
        at += len;
      }
      assert.equal(got + t.end(), want);
    }
  }
});
