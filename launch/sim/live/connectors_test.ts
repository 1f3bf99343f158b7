/**
 * P2P-NCCL and LMCache between two engine processes (NIXL is in behaviour_test).
 */
import assert from "node:assert/strict";
import { freePort } from "../../../lib/net.ts";
import { startSim } from "./start_sim.ts";

const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });

const prompt = (tag: string) => `${tag} ` + "one two three four five six ".repeat(40);

Deno.test("sim: P2P-NCCL pushes KV to the decode address in the request id", async () => {
  const [pp, pd] = [await freePort(), await freePort()];
  const cfg = (role: string, port: number) =>
    JSON.stringify({ kv_connector: "P2pNcclConnector", kv_role: role, kv_port: port });
  const p = await startSim(["--speed", "20", "--kv-transfer-config", cfg("kv_producer", pp)]);
  const d = await startSim(["--speed", "20", "--kv-transfer-config", cfg("kv_consumer", pd)]);
  try {
    const id = `___prefill_addr_127.0.0.1:${pp}___decode_addr_127.0.0.1:${pd}_0123abcd`;
    const text = prompt("p2p");
    const pre = await (await post(`${p.url}/v1/completions`, { prompt: text, max_tokens: 1 }, {
      "X-Request-Id": id,
    })).json();
    assert.equal(pre.usage.completion_tokens, 1);
    const dec = await (await post(`${d.url}/v1/completions`, {
      prompt: text,
      max_tokens: 8,
      ignore_eos: true,
    }, { "X-Request-Id": id })).json();
    assert.equal(dec.usage.completion_tokens, 8);
    assert.equal(dec.usage.prompt_tokens_details.cached_tokens, dec.usage.prompt_tokens);
  } finally {
    await Promise.all([p.stop(), d.stop()]);
  }
});

Deno.test("sim: LMCache producer stores prefixes a consumer loads", async () => {
  const dir = await Deno.makeTempDir({ prefix: "lmcache_" });
  const cfg = (role: string) =>
    JSON.stringify({
      kv_connector: "LMCacheConnectorV1",
      kv_role: role,
      kv_connector_extra_config: { shared_storage_path: dir },
    });
  const p = await startSim(["--speed", "20", "--kv-transfer-config", cfg("kv_producer")]);
  const d = await startSim(["--speed", "20", "--kv-transfer-config", cfg("kv_consumer")]);
  try {
    const text = prompt("lmcache");
    const cold =
      await (await post(`${d.url}/v1/completions`, { prompt: prompt("cold"), max_tokens: 2 }))
        .json();
    assert.equal(cold.usage.prompt_tokens_details.cached_tokens, 0);
    const pre = await (await post(`${p.url}/v1/completions`, { prompt: text, max_tokens: 1 }))
      .json();
    const dec = await (await post(`${d.url}/v1/completions`, { prompt: text, max_tokens: 4 }))
      .json();
    const cached = dec.usage.prompt_tokens_details.cached_tokens;
    assert.equal(cached, Math.floor((pre.usage.prompt_tokens) / 16) * 16);
  } finally {
    await Promise.all([p.stop(), d.stop()]);
    await Deno.remove(dir, { recursive: true });
  }
});
