import assert from "node:assert/strict";
import { encode } from "@msgpack/msgpack";
import { decodeRegistration } from "./p2p_registration.ts";

Deno.test("decodeRegistration: addresses must be a strict host:port (no user info, paths, zone ids, unspecified hosts)", () => {
  const reg = (http: string) => encode({ type: "D", http_address: http, zmq_address: "h:1" });
  assert.equal(decodeRegistration(reg("127.0.0.1:8100")).http_address, "127.0.0.1:8100");
  for (const bad of ["a@b:80", "x/../y:80", "0.0.0.0:80", "[fe80::1%eth0]:80", "h:0", "1.2.3:80"]) {
    assert.throws(
      () => decodeRegistration(reg(bad)),
      new RegExp(
        `^TypeError: Cannot use http_address as a "host:port" .*current value is "${
          bad.replace(/[.[\]]/g, "\\$&")
        }"$`,
      ),
    );
  }
});
