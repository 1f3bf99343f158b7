import assert from "node:assert/strict";
import { join } from "node:path";
import { prepare } from "./up.ts";
import { ROOT, routerConfig } from "./_launch.ts";
import { parseSet } from "./topology_set.ts";
import { validateRouterConfig } from "./router/core/config.ts";

const file = join(ROOT, "fixtures/topologies/sim_pd_2p2d_p2pnccl.yaml");

Deno.test("spares: planned on free loopback ports, not started, a spare in the static list", async () => {
  const { plan, procs, spares } = await prepare({ file, spares: { decode: 1 } });
  assert.deepEqual(plan.spares, ["decode-2"]);
  assert.ok(!procs.some((p) => p.name === "decode-2"));
  assert.deepEqual(spares.map((p) => p.name), ["decode-2"]);
  const d2 = plan.instances.find((i) => i.name === "decode-2")!;
  assert.match(spares[0].url, /^http:\/\/127\.0\.0\.1:\d+$/);
  assert.ok(spares[0].ports.includes(d2.port) && spares[0].ports.includes(d2.kvPort!));
  const cfg = validateRouterConfig(routerConfig(plan), "t");
  assert.deepEqual(cfg.decode.map((b) => [b.name, b.spare ?? false]), [
    ["decode-0", false],
    ["decode-1", false],
    ["decode-2", true],
  ]);
});

Deno.test("spares: with discovery a spare is only on the allow-list, by its exact addresses", async () => {
  const { plan } = await prepare({
    file,
    sets: [parseSet("router.discovery=zmq")],
    spares: { decode: 1 },
  });
  const d2 = plan.instances.find((i) => i.name === "decode-2")!;
  const cfg = validateRouterConfig(routerConfig(plan), "t");
  assert.deepEqual(cfg.decode.map((b) => b.name), ["decode-0", "decode-1"]);
  assert.deepEqual(cfg.discovery!.allow, [`127.0.0.1:${d2.port}`, `127.0.0.1:${d2.kvPort}`]);
  await assert.rejects(
    () => prepare({ file, spares: { encode: 1 } }),
    /spare encode instance.*allowed: prefill, decode/,
  );
});
