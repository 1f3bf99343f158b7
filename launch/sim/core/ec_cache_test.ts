import assert from "node:assert/strict";
import { ecStorePath, MemoryEcStore, parseEcTransferConfig } from "./ec_cache.ts";

const ec = (role: string, path = "/tmp/ec") => ({
  ec_connector: "ECExampleConnector",
  ec_role: role,
  ec_connector_extra_config: { shared_storage_path: path },
});

Deno.test("encoder cache: a consumer skips the images its store holds; producers store; others encode all", () => {
  const store = new MemoryEcStore();
  const a = { key: "a", tokens: 100 };
  const b = { key: "b", tokens: 40 };
  assert.deepEqual(store.toEncode([a, b], ec("ec_consumer")), [100, 40]);
  store.store([a], ec("ec_consumer")); // a consumer writes nothing
  store.store([a], undefined);
  assert.deepEqual(store.toEncode([a, b], ec("ec_consumer")), [100, 40]);
  store.store([a], ec("ec_producer"));
  assert.deepEqual(store.toEncode([a, b], ec("ec_consumer")), [40]);
  // another store path, or no consumer role: encoded again
  assert.deepEqual(store.toEncode([a, b], ec("ec_consumer", "/tmp/other")), [100, 40]);
  assert.deepEqual(store.toEncode([a, b], ec("ec_producer")), [100, 40]);
  assert.deepEqual(store.toEncode([a, b], undefined), [100, 40]);
  assert.equal(ecStorePath(ec("ec_producer"), "ec_consumer"), null);
  assert.equal(ecStorePath(ec("ec_producer"), "ec_producer"), "/tmp/ec");
});

Deno.test("encoder cache: --ec-transfer-config is JSON of a known connector with a role", () => {
  assert.equal(parseEcTransferConfig(JSON.stringify(ec("ec_producer"))).ec_role, "ec_producer");
  assert.throws(() => parseEcTransferConfig("{"), SyntaxError);
  assert.throws(() => parseEcTransferConfig("{}"), /expected \{"ec_connector", "ec_role"/);
  assert.throws(
    () =>
      parseEcTransferConfig(
        JSON.stringify({ ...ec("ec_consumer"), ec_connector: "ECSharedStorageConnector" }),
      ),
    /vLLM renamed it ECExampleConnector/,
  );
});
