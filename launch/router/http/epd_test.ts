/**
 * epd through the router CLI: image parts go to the encoder first (one
 * request per part), then prefill and decode over NIXL; text-only requests
 * skip the encoder.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import {
  onePd,
  post,
  readStream,
  scrape,
  type Server,
  startRouter,
  startSim,
  stopAll,
  sumOf,
} from "./_harness.ts";

/** A PNG data URL (signature, IHDR of `w`x`h`, IEND), enough for an engine to size it. */
function pngDataUrl(w: number, h: number, salt: number): string {
  const b = Buffer.alloc(8 + 25 + 12);
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]).copy(b, 0);
  b.writeUInt32BE(13, 8);
  b.write("IHDR", 12, "ascii");
  b.writeUInt32BE(w, 16);
  b.writeUInt32BE(h, 20);
  b.set([8, 2, 0, 0, 0], 24);
  b.writeUInt32BE(salt, 29); // CRC field; engines here do not check it
  b.writeUInt32BE(0, 33);
  b.write("IEND", 37, "ascii");
  return `data:image/png;base64,${b.toString("base64")}`;
}

Deno.test("router epd: image parts go to the encoder, then P->D; text-only skips it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ec_router_" });
  const ec = (role: string) =>
    JSON.stringify({
      ec_connector: "ECExampleConnector",
      ec_role: role,
      ec_connector_extra_config: { shared_storage_path: dir },
    });
  const nixl = JSON.stringify({ kv_connector: "NixlConnector", kv_role: "kv_both" });
  const model = ["--model-profile", "qwen2.5-vl-3b", "--model", "Qwen/Qwen2.5-VL-3B-Instruct"];
  const base = ["--speed", "20", ...model];
  const [e, p, d] = await Promise.all([
    startSim([...base, "--ec-transfer-config", ec("ec_producer")]),
    startSim([...base, "--ec-transfer-config", ec("ec_consumer"), "--kv-transfer-config", nixl]),
    startSim([...base, "--ec-transfer-config", ec("ec_consumer"), "--kv-transfer-config", nixl]),
  ]);
  let r: Server | undefined;
  try {
    r = await startRouter({
      name: "epd-1e1p1d",
      kind: "epd",
      connector: "nixl",
      encode: [{ name: "encode-0", url: e.url }],
      ...onePd(p, d),
    });
    const encoded = async () => sumOf(await scrape(e.url), "vllm:request_success_total");
    const res = await post(`${r.url}/v1/chat/completions`, {
      model: "Qwen/Qwen2.5-VL-3B-Instruct",
      messages: [{
        role: "user",
        content: [
          { type: "text", text: "What differs between these two pictures?" },
          { type: "image_url", image_url: { url: pngDataUrl(448, 448, 1) } },
          { type: "image_url", image_url: { url: pngDataUrl(224, 336, 2) } },
        ],
      }],
      max_tokens: 8,
      stream: true,
      stream_options: { include_usage: true },
    });
    assert.equal(res.status, 200, await res.clone().text());
    assert.ok(Number(res.headers.get("x-topobench-encode-ms")) > 0);
    assert.equal(res.headers.get("x-topobench-encode-backend"), "encode-0");
    assert.ok(Number(res.headers.get("x-topobench-prefill-ms")) > 0);
    assert.equal(res.headers.get("x-backend"), "decode-0");
    const s = await readStream(res);
    assert.equal(s.usage!.prompt_tokens_details!.cached_tokens, s.usage!.prompt_tokens);
    assert.equal(await encoded(), 2, "one encoder request per image");
    assert.ok(d.lines.some((l) => /NIXL handshake/.test(l)));

    const text = await post(`${r.url}/v1/chat/completions`, {
      messages: [{ role: "user", content: "no pictures here" }],
      max_tokens: 4,
    });
    assert.equal(text.status, 200);
    assert.equal(text.headers.get("x-topobench-encode-ms"), null);
    assert.ok(Number(text.headers.get("x-topobench-prefill-ms")) > 0);
    await text.body?.cancel();
    assert.equal(await encoded(), 2, "text-only skipped the encoder");
  } finally {
    await stopAll([r, e, p, d]);
    await Deno.remove(dir, { recursive: true });
  }
});
