import { assertEquals, assertMatch } from "./_assert.ts";
import { type AccessRules, decideBrokerCheck } from "../src/policy/broker_decision.ts";
import { parseNetRules } from "../src/policy/net_allow.ts";

const rules: AccessRules = {
  read: ["/ws", "/opt/data"],
  write: ["/ws/out"],
  deny: ["/ws/.iris", "/opt/data/private"],
  readOnly: ["/ws/out/.git"],
  net: parseNetRules(["127.0.0.1:8080", "api.example.com"]),
  env: ["HOME", "TOKEN"],
  run: ["/usr/bin/git"],
  sys: ["hostname"],
};

function path(permission: string, lexical: string, real: string | undefined = lexical) {
  return decideBrokerCheck(rules, { permission, value: lexical, path: { lexical, real } });
}

Deno.test("a path is allowed only when where it is written and where it leads are both allowed", () => {
  assertEquals(path("read", "/ws/data/real.txt").allowed, true);
  const escape = path("read", "/ws/data/link", "/etc/shadow");
  assertEquals(escape.allowed, false);
  assertEquals(escape.target, "/etc/shadow");
  assertMatch(escape.reason, /\/ws\/data\/link leads to \/etc\/shadow, outside every read path/);
  assertEquals(path("read", "/tmp/link", "/ws/a").allowed, false);
  assertEquals(path("read", "/ws2/x").allowed, false);
  assertEquals(path("read", "/opt/data/x").allowed, true);
  assertEquals(path("read", "/ws/link", "/opt/data/private/key").allowed, false);
  assertMatch(path("read", "/ws/.iris/index.db").reason, /under the denied path \/ws\/\.iris/);
  const unresolved = { lexical: "/ws/x", real: undefined };
  assertMatch(
    decideBrokerCheck(rules, { permission: "read", value: "x", path: unresolved }).reason,
    /could not be resolved/,
  );
  assertEquals(path("write", "/ws/out/a.txt").allowed, true);
  assertEquals(path("write", "/ws/a.txt").allowed, false);
  assertMatch(path("write", "/ws/out/.git/hooks/pre-commit").reason, /under the read-only path/);
  assertEquals(path("read", "/ws/out/.git/config").allowed, true);
  assertEquals(path("read", "/ws/out/a.txt").allowed, true);
  assertEquals(decideBrokerCheck(rules, { permission: "read", value: null }).allowed, false);
});

Deno.test("env, sys, run, ffi and unknown checks follow the rules and never grant all", () => {
  const check = (permission: string, value: string | null) =>
    decideBrokerCheck(rules, { permission, value });
  assertEquals(check("env", "TOKEN").allowed, true);
  assertEquals(check("env", "AWS_SECRET").allowed, false);
  assertEquals(check("env", null).target, "*");
  assertEquals(check("env", null).allowed, false);
  assertEquals(check("sys", "hostname").allowed, true);
  assertEquals(check("sys", "osRelease").allowed, false);
  assertEquals(check("run", "/usr/bin/git").allowed, true);
  assertMatch(check("run", null).reason, /does not name the program/);
  assertEquals(
    decideBrokerCheck({ ...rules, run: "any" }, { permission: "run", value: null }).allowed,
    true,
  );
  assertEquals(check("ffi", "/lib/x.so").allowed, false);
  assertEquals(check("ffi", "/lib/x.so").kind, "ffi");
  assertEquals(check("telepathy", null).kind, "sys");
});

Deno.test("net checks use the allowlist, with the host's addresses", () => {
  const net = (value: string | null, addresses: string[]) =>
    decideBrokerCheck(rules, { permission: "net", value, addresses });
  assertEquals(net("127.0.0.1:8080", ["127.0.0.1"]).allowed, true);
  assertEquals(net("127.0.0.1:8081", ["127.0.0.1"]).target, "127.0.0.1:8081");
  assertEquals(net("127.0.0.1:8081", ["127.0.0.1"]).allowed, false);
  assertEquals(net("api.example.com:443", ["93.184.216.34"]).allowed, true);
  assertEquals(net("api.example.com", ["93.184.216.34"]).allowed, true);
  assertEquals(net("api.example.com:443", ["10.0.0.1"]).allowed, false);
  assertEquals(net("unix:/run/docker.sock", []).allowed, false);
  assertEquals(net(null, []).allowed, false);
});

Deno.test("a staging dir inside the denied .iris/ is open, its siblings and a link out of it are not", () => {
  const staged: AccessRules = {
    ...rules,
    read: [...rules.read, "/ws/.iris/runs/r/tmp/in"],
    write: [...rules.write, "/ws/.iris/runs/r/tmp/out"],
    staged: ["/ws/.iris/runs/r/tmp/in", "/ws/.iris/runs/r/tmp/out"],
  };
  const check = (permission: string, lexical: string, real = lexical) =>
    decideBrokerCheck(staged, { permission, value: lexical, path: { lexical, real } });
  assertEquals(check("read", "/ws/.iris/runs/r/tmp/in/a.json").allowed, true);
  assertEquals(check("write", "/ws/.iris/runs/r/tmp/out/b.txt").allowed, true);
  assertEquals(check("write", "/ws/.iris/runs/r/tmp/in/a.json").allowed, false);
  assertMatch(check("read", "/ws/.iris/index.db").reason, /under the denied path \/ws\/\.iris/);
  assertMatch(
    check("read", "/ws/.iris/runs/r/tmp/out/l", "/ws/.iris/index.db").reason,
    /under the denied path/,
  );
});
