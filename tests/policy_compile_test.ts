/**
 * The pure policy compilers: merge of top-level and own policies, the
 * confinement, the bubblewrap mount order, globs and code-running tools.
 */

import { assert, assertEquals } from "./_assert.ts";
import { bubblewrapMounts, type SandboxFacts } from "../src/policy/bubblewrap_mounts.ts";
import { globRegExp } from "../src/policy/policy_glob.ts";
import {
  codeRunningTools,
  confinementFor,
  DEFAULT_POLICY,
  effectivePolicy,
} from "../src/policy/policy_model.ts";

Deno.test("a step's own policy replaces only the fields it names; a gate writes only when its own policy says so", () => {
  const top = { read: ["src"], tools: ["git"], env: ["TOKEN"] };
  assertEquals(effectivePolicy(top, { tools: ["tar"] }), {
    ...DEFAULT_POLICY,
    read: ["src"],
    tools: ["tar"],
    env: ["TOKEN"],
  });
  assertEquals(effectivePolicy(undefined, undefined), DEFAULT_POLICY);
  assertEquals(effectivePolicy({ write: ["."] }, undefined, { gate: true }).write, []);
  assertEquals(effectivePolicy(undefined, { write: ["out"] }, { gate: true }).write, ["out"]);
});

Deno.test("confinementFor resolves paths, hides .iris, freezes .git and the workflow file, and adds sh to a shell step's tools", () => {
  const c = confinementFor({ ...DEFAULT_POLICY, read: ["./src/", "/opt/data"], tools: ["git"] }, {
    workspace: "/ws",
    mode: "sandbox",
    workflowFile: "flows/ci.yaml",
    shell: true,
  });
  assertEquals(c.read, ["/ws/src", "/opt/data"]);
  assertEquals(c.hidden, ["/ws/.iris"]);
  assertEquals(c.readOnly, ["/ws/.git", "/ws/flows/ci.yaml"]);
  assertEquals(c.tools, ["git", "sh"]);
  assertEquals(codeRunningTools(c.tools), ["sh"]);
  assertEquals(codeRunningTools(["git", "/usr/bin/python3"]), ["/usr/bin/python3"]);
});

function facts(
  paths: Partial<SandboxFacts["paths"]>,
  tools: SandboxFacts["tools"] = null,
): SandboxFacts {
  return {
    system: [
      { path: "/usr", kind: "dir" },
      { path: "/usr/lib", kind: "dir" },
      { path: "/bin", kind: "symlink", target: "usr/bin" },
    ],
    etc: ["/etc/passwd"],
    tools,
    runtime: [],
    home: "/home/u",
    paths: { read: [], write: [], deny: [], readOnly: [], hidden: [], ...paths },
    staging: {
      inputDir: "/ws/.iris/t/in",
      outputDir: "/ws/.iris/t/out",
      scratchDir: "/ws/.iris/t/s",
    },
  };
}

Deno.test("bubblewrapMounts never lets a later specific allow re-open a deny, and puts /dev and /proc last", () => {
  const c = confinementFor(
    { ...DEFAULT_POLICY, read: [".", "secrets/public"], deny: ["secrets"] },
    { workspace: "/ws", mode: "sandbox" },
  );
  const mounts = bubblewrapMounts(
    c,
    facts({
      read: ["/ws", "/ws/secrets/public"],
      write: ["/ws"],
      deny: [{ path: "/ws/secrets", kind: "dir" }],
      readOnly: ["/ws/.git"],
      hidden: ["/ws/.iris"],
    }),
  );
  const paths = mounts.map((m) => `${m.mode} ${m.path}`);
  assert(!paths.some((p) => p.endsWith("/ws/secrets/public")), "the allow under a deny is dropped");
  const at = (p: string) => paths.indexOf(p);
  assert(at("writable /ws") < at("read-only /ws/.git"));
  assert(at("read-only /ws/.git") < at("hidden /ws/secrets"));
  assert(at("hidden /ws/.iris") < at("writable /ws/.iris/t/out"));
  assert(at("writable /ws/.iris/t/out") < at("sealed /ws/.iris"));
  assert(at("writable /ws/.iris/t/s") < at("sealed /ws/secrets"));
  assertEquals(paths.slice(-3), ["devices /dev", "proc /proc", "sealed /"]);
  assert(at("hidden /home/u") < at("writable /ws"));
});

Deno.test("bubblewrapMounts with tools binds the library dirs and each tool, not /usr or the program dirs", () => {
  const c = confinementFor({ ...DEFAULT_POLICY, tools: ["git"] }, {
    workspace: "/ws",
    mode: "sandbox",
  });
  const mounts = bubblewrapMounts(
    c,
    facts({ read: ["/ws"] }, [{ path: "/usr/bin/git", source: "/usr/bin/git" }]),
  );
  const paths = mounts.map((m) => `${m.mode} ${m.path}`);
  assert(!paths.includes("read-only /usr"));
  assert(paths.includes("read-only /usr/lib"));
  assert(paths.includes("read-only /usr/bin/git"));
  assert(paths.includes("symlink /bin"));
  const any = bubblewrapMounts(
    confinementFor(DEFAULT_POLICY, { workspace: "/ws", mode: "sandbox" }),
    facts({ read: ["/ws"] }),
  );
  assert(any.some((m) => m.mode === "read-only" && m.path === "/usr"));
});

Deno.test("policy globs: * within a segment, ** across segments, ? and classes", () => {
  assert(globRegExp("/ws/*.key").test("/ws/a.key"));
  assert(!globRegExp("/ws/*.key").test("/ws/d/a.key"));
  assert(globRegExp("/ws/**/*.key").test("/ws/d/e/a.key"));
  assert(globRegExp("/ws/**/*.key").test("/ws/a.key"));
  assert(globRegExp("/ws/f?.[ab]").test("/ws/f1.b"));
  assert(!globRegExp("/ws/f?.[!ab]").test("/ws/f1.b"));
});
