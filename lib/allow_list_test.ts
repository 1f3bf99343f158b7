import assert from "node:assert/strict";
import { AllowList, isHostName, parseAllowRule, parseHostPort, parseIpv6 } from "./allow_list.ts";

Deno.test("parseHostPort: IPv4, [IPv6] and DNS-safe names with a port of 1-65535", () => {
  assert.deepEqual(parseHostPort("127.0.0.1:8100"), {
    kind: "ipv4",
    host: "127.0.0.1",
    port: 8100,
    ip: 0x7f000001n,
  });
  assert.equal(parseHostPort("[::1]:80").ip, 1n);
  assert.equal(parseHostPort("[fd00::1.2.3.4]:80").kind, "ipv6");
  assert.deepEqual(parseHostPort("Prefill-0.default.svc.cluster.local:65535"), {
    kind: "name",
    host: "prefill-0.default.svc.cluster.local",
    port: 65535,
  });
  assert.equal(parseHostPort("localhost:1").kind, "name");
});

Deno.test("parseHostPort: malformed, odd and never-backend addresses are refused", () => {
  for (
    const bad of [
      "a@b:80", // user info
      "x/../y:80", // path
      "evil:80/", // path
      "host:0",
      "host:65536",
      "host:080",
      "host:",
      ":80",
      "host",
      "host:80:81",
      "ho st:80",
      "[::1]",
      "::1:80", // IPv6 without brackets
      "[127.0.0.1]:80", // IPv4 in brackets
      "[fe80::1%eth0]:80", // zone id
      "1.2.3:80", // short IPv4 form, read as a number by resolvers
      "0x7f000001:80",
      "017.0.0.1:80", // leading zero (octal to some resolvers)
      "256.1.1.1:80",
      "-a.com:80",
      "a_b.com:80",
      "0.0.0.0:80",
      "[::]:80",
      "224.0.0.1:80",
      "[ff02::1]:80",
      "255.255.255.255:80",
      "[::ffff:0.0.0.0]:80",
      "a".repeat(64) + ".com:80",
      "",
      42,
      null,
    ]
  ) {
    assert.throws(() => parseHostPort(bad, "http_address"), TypeError, JSON.stringify(bad));
  }
  assert.throws(
    () => parseHostPort("a@b:80", "http_address"),
    /^TypeError: Cannot use http_address as a "host:port" \(IPv4, \[IPv6\] or DNS name, port 1-65535\): host "a@b"; current value is "a@b:80"$/,
  );
  assert.equal(isHostName("evil"), true);
  assert.equal(parseIpv6("1:2:3:4:5:6:7:8:9"), null);
  assert.equal(parseIpv6("1::2::3"), null);
});

Deno.test("allow rules: hosts, CIDRs, port ranges; malformed rules throw", () => {
  const r = parseAllowRule("10.1.2.3/8:8000-8999,21001");
  assert.deepEqual([r.kind, r.ip, r.bits, r.ports], ["ipv4", 0x0a000000n, 8, [[8000, 8999], [
    21001,
    21001,
  ]]]);
  assert.deepEqual(parseAllowRule("[fd00::/8]:80").ports, [[80, 80]]);
  assert.equal(parseAllowRule("fd00::/8").bits, 8);
  assert.equal(parseAllowRule("svc.local").kind, "name");
  for (
    const bad of ["10.0.0.0/33", "name/8", "10.0.0.0/8:0", "h:9-8", "h:a", "[h]:80", "x/../y", ""]
  ) {
    assert.throws(() => parseAllowRule(bad, "discovery.allow[0]"), TypeError, bad);
  }
  assert.throws(
    () => new AllowList(["ok", "a@b"]),
    /Cannot use discovery\.allow\[1\] as an allow rule .*current value is "a@b"/,
  );
});

Deno.test("AllowList: exact host:port by default; CIDR rules match IP literals only; link-local only when named", () => {
  const own = new AllowList(["127.0.0.1:8100", "127.0.0.1:21001", "p.ns.svc:8100"]);
  assert.equal(own.refusal("127.0.0.1:8100"), null);
  assert.equal(own.refusal("P.ns.svc:8100"), null);
  assert.match(own.refusal("127.0.0.2:8100")!, /"127\.0\.0\.2:8100" is not in the allow-list/);
  assert.match(own.refusal("127.0.0.1:8101")!, /not in the allow-list/);
  assert.match(own.refusal("evil:80")!, /not in the allow-list/);
  assert.match(own.refusal("a@b:80", "http_address")!, /Cannot use http_address as a "host:port"/);

  const pods = new AllowList(["10.0.0.0/8:8000-8999", "[fd00::/8]", "0.0.0.0/0:9000"]);
  assert.equal(pods.refusal("10.244.1.7:8100"), null);
  assert.equal(pods.refusal("[fd12::7]:1"), null);
  assert.match(pods.refusal("10.244.1.7:9001")!, /not in the allow-list/);
  assert.match(pods.refusal("11.0.0.1:8100")!, /not in the allow-list/);
  assert.match(pods.refusal("ten.example:8100")!, /not in the allow-list/); // no DNS lookups
  assert.equal(pods.refusal("8.8.8.8:9000"), null);
  // 0.0.0.0/0 does not reach the metadata service; a link-local rule does
  assert.match(pods.refusal("169.254.169.254:9000")!, /link-local addresses need a rule/);
  assert.match(new AllowList(["[::/0]"]).refusal("[fe80::1]:80")!, /link-local/);
  assert.match(new AllowList(["[::/0]"]).refusal("[::ffff:169.254.1.1]:80")!, /link-local/);
  assert.equal(new AllowList(["169.254.0.0/16"]).refusal("169.254.169.254:80"), null);
  assert.equal(new AllowList(["[fe80::/10]:80"]).refusal("[fe80::1]:80"), null);
});
