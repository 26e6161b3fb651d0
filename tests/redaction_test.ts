/** The secret redactor: text, environments and byte streams split anywhere. */

import { assertEquals } from "./_assert.ts";
import { isSecretName, MIN_SECRET_LENGTH, Redactor, runSecrets } from "../src/core/redaction.ts";

Deno.test("secret names: TOKEN, SECRET, KEY, PASSWORD in any case", () => {
  for (const name of ["GITHUB_TOKEN", "aws_secret_access_key", "ApiKey", "DB_PASSWORD"]) {
    assertEquals(isSecretName(name), true, name);
  }
  for (const name of ["PATH", "HOME", "DB_URL"]) assertEquals(isSecretName(name), false, name);
});

Deno.test("a run's secrets: pattern names from the kernel, listed names, values set", () => {
  const secrets = runSecrets(
    { GH_TOKEN: "gh-1234", DB_URL: "pg://x", PATH: "/bin", UNUSED: "zzzz" },
    { names: ["DB_URL"], set: [{ MODE: "strict" }] },
  );
  assertEquals(secrets, { GH_TOKEN: "gh-1234", DB_URL: "pg://x", MODE: "strict" });
});

Deno.test("text: every value replaced, the longer of two overlapping ones wins, short values kept", () => {
  const r = new Redactor({
    A_TOKEN: "s3cr3t-long",
    B: "s3cr3t",
    SHORT: "x".repeat(MIN_SECRET_LENGTH - 1),
  });
  assertEquals(r.text("s3cr3t-long s3cr3t xxx"), "[REDACTED:A_TOKEN] [REDACTED:B] xxx");
  assertEquals(r.value({ m: ["s3cr3t"], n: 1 }), { m: ["[REDACTED:B]"], n: 1 });
  assertEquals(r.env({ A_TOKEN: "s3cr3t-long", X_KEY: "other-value", P: "/s3cr3t" }), {
    A_TOKEN: "[REDACTED:A_TOKEN]",
    X_KEY: "[REDACTED:X_KEY]",
    P: "/[REDACTED:B]",
  });
  assertEquals(new Redactor({}).text("s3cr3t"), "s3cr3t");
});

Deno.test("streams: a secret split across chunks at every position is redacted, other bytes kept", () => {
  const r = new Redactor({ A_TOKEN: "s3cr3t-long", B: "s3cr3t", C: "héllo-wörld" });
  const text = "a s3cr3t-long b s3cr3t c s3cr3t-lon d héllo-wörld e s3cr";
  const want = "a [REDACTED:A_TOKEN] b [REDACTED:B] c [REDACTED:B]-lon d [REDACTED:C] e s3cr";
  const bytes = new TextEncoder().encode(text);
  for (let size = 1; size <= bytes.length; size++) {
    const stream = r.stream();
    const parts: Uint8Array[] = [];
    for (let i = 0; i < bytes.length; i += size) parts.push(stream.push(bytes.slice(i, i + size)));
    parts.push(stream.end());
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    assertEquals(new TextDecoder().decode(out), want, `chunks of ${size}`);
  }
});
