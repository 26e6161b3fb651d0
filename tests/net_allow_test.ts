import { assertEquals, assertMatch, assertThrows } from "./_assert.ts";
import { UsageError } from "../src/core/errors.ts";
import {
  decideNetAccess,
  parseNetRule,
  parseNetRules,
  specialAddressKind,
} from "../src/policy/net_allow.ts";

Deno.test("net rules parse host, host:port, *.domain and bracketed IPv6", () => {
  assertEquals(parseNetRule("Example.COM."), {
    source: "Example.COM.",
    host: "example.com",
    port: undefined,
    wildcard: false,
  });
  assertEquals(parseNetRule("*.example.com:443").port, 443);
  assertEquals(parseNetRule("*.example.com:443").wildcard, true);
  assertEquals(parseNetRule("[::1]:8080").host, "::1");
  assertEquals(parseNetRule("127.0.0.1:80").host, "127.0.0.1");
  for (
    const bad of ["", "*", "*.", "a b", "host:0", "host:65536", "host:x", "*.10.0.0.1", "a*.b"]
  ) {
    assertThrows(() => parseNetRule(bad), UsageError, bad);
  }
  assertThrows(() => parseNetRules(["ok.com", "host:99999"]), /host:99999.*1 to 65535/);
});

Deno.test("special addresses are classified, public ones are not", () => {
  const cases: [string, string | undefined][] = [
    ["127.0.0.1", "loopback"],
    ["127.255.0.9", "loopback"],
    ["10.1.2.3", "private"],
    ["172.16.0.1", "private"],
    ["172.32.0.1", undefined],
    ["192.168.1.1", "private"],
    ["169.254.169.254", "link-local"],
    ["100.64.0.1", "shared (carrier-grade NAT)"],
    ["0.0.0.0", "unspecified"],
    ["224.0.0.1", "multicast"],
    ["8.8.8.8", undefined],
    ["::1", "loopback"],
    ["[::1]", "loopback"],
    ["::", "unspecified"],
    ["fe80::1", "link-local"],
    ["fd00::1", "private"],
    ["::ffff:127.0.0.1", "loopback"],
    ["::ffff:7f00:1", "loopback"],
    ["64:ff9b::10.0.0.1", "private"],
    ["2001:4860:4860::8888", undefined],
    ["localhost", "not an address"],
  ];
  for (const [address, kind] of cases) assertEquals(specialAddressKind(address), kind, address);
});

Deno.test("connections are decided by host, port and wildcard", () => {
  const rules = parseNetRules(["api.example.com:443", "*.cdn.test", "127.0.0.1:8080"]);
  const pub = ["93.184.216.34"];
  const decide = (host: string, port: number, addrs = pub) =>
    decideNetAccess(rules, { host, port }, addrs).allowed;
  assertEquals(decide("api.example.com", 443), true);
  assertEquals(decide("API.example.com.", 443), true);
  assertEquals(decide("api.example.com", 80), false);
  assertEquals(decide("img.cdn.test", 1234), true);
  assertEquals(decide("a.b.cdn.test", 80), true);
  assertEquals(decide("cdn.test", 80), false);
  assertEquals(decide("evilcdn.test", 80), false);
  assertEquals(decide("127.0.0.1", 8080, ["127.0.0.1"]), true);
  assertEquals(decide("127.0.0.1", 8081, ["127.0.0.1"]), false);
  assertMatch(
    decideNetAccess([], { host: "x.test", port: 1 }, pub).reason,
    /x\.test:1 is not allowed: the policy allows no network/,
  );
});

Deno.test("a listed name resolving to a non-public address is refused (DNS rebinding)", () => {
  const rules = parseNetRules(["api.example.com", "*.corp.test", "localhost:9000"]);
  const rebound = decideNetAccess(rules, { host: "api.example.com", port: 443 }, [
    "93.184.216.34",
    "127.0.0.1",
  ]);
  assertEquals(rebound.allowed, false);
  assertMatch(rebound.reason, /resolves to 127\.0\.0\.1, a loopback address/);
  assertEquals(
    decideNetAccess(rules, { host: "db.corp.test", port: 5432 }, ["10.0.0.5"]).allowed,
    false,
  );
  assertEquals(
    decideNetAccess(rules, { host: "localhost", port: 9000 }, ["127.0.0.1", "::1"]).allowed,
    true,
  );
  assertEquals(
    decideNetAccess(rules, { host: "localhost", port: 9000 }, ["10.0.0.1"]).allowed,
    false,
  );
  assertEquals(decideNetAccess(rules, { host: "api.example.com", port: 1 }, []).allowed, false);
  const literal = parseNetRules(["10.0.0.5:5432", "[::1]"]);
  assertEquals(
    decideNetAccess(literal, { host: "10.0.0.5", port: 5432 }, ["10.0.0.5"]).allowed,
    true,
  );
  assertEquals(
    decideNetAccess(literal, { host: "0:0:0:0:0:0:0:1", port: 22 }, ["::1"]).allowed,
    true,
  );
});
