/**
 * Compiles a {@linkcode Confinement} into the ordered mounts of a
 * bubblewrap sandbox with an empty root, so that the access inside equals
 * what `decideAccess` says. Pure: the runtime gathers the facts (which paths
 * exist and how, where tools are) and applies the result.
 *
 * Order, each later mount winning on a nested path:
 *
 * 1. What programs need: `/usr`, `/bin`, `/sbin`, `/lib*` read-only (links
 *    kept as links). With a `tools` list only the library dirs (`/usr/lib*`,
 *    `/usr/libexec`, `/usr/share`, `/lib*`) and each tool's file are bound:
 *    tools find their shared libraries there, and no other program exists.
 * 2. A minimal `/etc` (name service, hosts, DNS, certificates, timezone,
 *    the loader cache, `alternatives`), read-only.
 * 3. A private `/tmp` and `$HOME` (empty tmpfs), then the runtime's own
 *    read-only paths (the Deno binary and module cache for `deno` steps).
 * 4. The allowed paths, general before specific: read-only, or writable.
 *    An entry under a denied or hidden path is dropped (so a later specific
 *    rule never re-opens a deny), as is a read entry under a write entry;
 *    a write entry under an always read-only path is bound read-only.
 * 5. `.git/` and the workflow file read-only where visible.
 * 6. Denied paths masked: a dir by an empty tmpfs, a file by `/dev/null`
 *    read-only.
 * 7. `.iris/` hidden by an empty tmpfs, then the attempt's input copies
 *    (read-only), output and scratch dirs (writable), then every tmpfs of
 *    steps 6 and 7 made read-only (the staging binds under them stay as
 *    they are; made read-only first, they could not hold the binds' mount
 *    points).
 * 8. A private `/dev` and the sandbox's own `/proc`, last, so no allowed
 *    path covers them; then the root itself read-only, so the dirs bwrap
 *    made for mount points take no files.
 *
 * @module
 */

import { type Confinement, isWithin } from "./policy_model.ts";

/** One mount of a sandbox, at `path` inside. */
export type BubblewrapMount =
  | {
    /** Bind the host's `source` (default: the same path) read-only or writable. */
    readonly mode: "read-only" | "writable";
    /** The absolute path inside. */
    readonly path: string;
    /** The host path bound there, when not `path` itself. */
    readonly source?: string;
  }
  | {
    /**
     * `hidden`: an empty tmpfs; `masked-file`: `/dev/null` read-only;
     * `sealed`: the mount at the path
     * made read-only, those under it unchanged (`--remount-ro`);
     * `devices`: a private `/dev`; `proc`: the sandbox's `/proc`.
     */
    readonly mode: "hidden" | "masked-file" | "sealed" | "devices" | "proc";
    /** The absolute path inside. */
    readonly path: string;
  }
  | {
    /** A symbolic link (e.g. `/bin` → `usr/bin`). */
    readonly mode: "symlink";
    /** The absolute path of the link. */
    readonly path: string;
    /** What the link points to, as `readlink` shows it. */
    readonly target: string;
  };

/** A host path as the runtime found it: a dir, a file, or a link and its target. */
export type HostEntry =
  | { readonly path: string; readonly kind: "dir" | "file" }
  | { readonly path: string; readonly kind: "symlink"; readonly target: string };

/** The confinement's paths with globs expanded and only those that exist (absolute). */
export interface ExpandedPaths {
  /** Readable paths. */
  readonly read: readonly string[];
  /** Writable paths. */
  readonly write: readonly string[];
  /** Denied paths and what they are. */
  readonly deny: readonly HostEntry[];
  /** Always read-only paths. */
  readonly readOnly: readonly string[];
  /** Hidden paths. */
  readonly hidden: readonly string[];
}

/** An attempt's staging dirs: input (read), output and scratch (read and write); absolute. */
export interface StagingDirs {
  /** Where the attempt's inputs are materialized. */
  readonly inputDir: string;
  /** Where it writes its outputs. */
  readonly outputDir: string;
  /** Its scratch dir. */
  readonly scratchDir: string;
}

/** Top-level system dirs a program may need. */
export const SYSTEM_DIRS: readonly string[] = [
  "/usr",
  "/bin",
  "/sbin",
  "/lib",
  "/lib32",
  "/lib64",
  "/libx32",
];

/** Dirs under `/usr` that hold libraries and data, not programs. */
export const USR_LIBRARY_DIRS: readonly string[] = [
  "/usr/lib",
  "/usr/lib32",
  "/usr/lib64",
  "/usr/libx32",
  "/usr/libexec",
  "/usr/share",
];

/** The minimal `/etc` a sandbox gets (those that exist). */
export const ETC_ENTRIES: readonly string[] = [
  "/etc/passwd",
  "/etc/group",
  "/etc/hosts",
  "/etc/nsswitch.conf",
  "/etc/resolv.conf",
  "/etc/localtime",
  "/etc/ld.so.cache",
  "/etc/ld.so.conf",
  "/etc/ld.so.conf.d",
  "/etc/alternatives",
  "/etc/ssl",
  "/etc/ca-certificates",
  "/etc/pki",
  "/etc/mime.types",
];

/** What the runtime found on the host for one attempt. */
export interface SandboxFacts {
  /** The existing entries among `SYSTEM_DIRS` (and `USR_LIBRARY_DIRS` with tools). */
  readonly system: readonly HostEntry[];
  /** The existing entries among `ETC_ENTRIES`. */
  readonly etc: readonly string[];
  /** Each allowed tool: where it is found on the kernel's PATH and the file it is. */
  readonly tools: readonly { readonly path: string; readonly source: string }[] | null;
  /** Read-only paths the runtime itself needs (the Deno binary's dir, its cache). */
  readonly runtime: readonly string[];
  /** The private `$HOME`, when it is an absolute path other than `/`. */
  readonly home?: string;
  /** The confinement's paths with globs expanded and only those that exist. */
  readonly paths: ExpandedPaths;
  /** The attempt's staging dirs. */
  readonly staging: StagingDirs;
}

const depth = (path: string) => (path === "/" ? 0 : path.split("/").length - 1);

function systemMounts(facts: SandboxFacts, tools: SandboxFacts["tools"]): BubblewrapMount[] {
  const mounts: BubblewrapMount[] = [];
  for (const entry of facts.system) {
    if (entry.kind === "symlink") {
      mounts.push({ mode: "symlink", path: entry.path, target: entry.target });
    } else if (entry.kind === "dir") {
      const programDir = entry.path === "/usr" || /^\/s?bin$/.test(entry.path);
      if (tools === null || !programDir) {
        mounts.push({ mode: "read-only", path: entry.path });
      }
    }
  }
  for (const tool of tools ?? []) {
    mounts.push({ mode: "read-only", path: tool.path, source: tool.source });
  }
  return mounts;
}

/**
 * The allowed paths to bind, general before specific: entries under a deny
 * or a hidden path dropped, write entries under an always read-only path
 * made read entries, read entries under a write entry dropped, and entries
 * under another of the same mode dropped.
 */
function allowMounts(facts: SandboxFacts): BubblewrapMount[] {
  const blocked = [...facts.paths.deny.map((d) => d.path), ...facts.paths.hidden];
  const free = (path: string) => !blocked.some((b) => isWithin(path, b));
  const frozen = (path: string) => facts.paths.readOnly.some((r) => isWithin(path, r));
  const write = facts.paths.write.filter((p) => free(p) && !frozen(p));
  const read = [...facts.paths.read, ...facts.paths.write.filter(frozen)].filter((p) =>
    free(p) && !write.some((w) => isWithin(p, w))
  );
  const outermost = (list: string[]) =>
    [...new Set(list)].filter((p, _, all) => !all.some((q) => q !== p && isWithin(p, q)));
  const mounts: BubblewrapMount[] = [
    ...outermost(read).map((path) => ({ mode: "read-only", path }) as const),
    ...outermost(write).map((path) => ({ mode: "writable", path }) as const),
  ];
  return mounts.sort((a, b) => depth(a.path) - depth(b.path));
}

/**
 * Compiles the mounts of an attempt's sandbox (root empty: nothing exists
 * but what is mounted).
 *
 * @example
 * ```ts
 * import { bubblewrapMounts } from "./bubblewrap_mounts.ts";
 * import { confinementFor, DEFAULT_POLICY } from "./policy_model.ts";
 * const c = confinementFor({ ...DEFAULT_POLICY, deny: ["secret"] }, { workspace: "/ws", mode: "sandbox" });
 * const mounts = bubblewrapMounts(c, {
 *   system: [{ path: "/usr", kind: "dir" }, { path: "/bin", kind: "symlink", target: "usr/bin" }],
 *   etc: ["/etc/passwd"],
 *   tools: null,
 *   runtime: [],
 *   home: "/root",
 *   paths: {
 *     read: ["/ws"],
 *     write: ["/ws"],
 *     deny: [{ path: "/ws/secret", kind: "dir" }],
 *     readOnly: ["/ws/.git"],
 *     hidden: ["/ws/.iris"],
 *   },
 *   staging: { inputDir: "/ws/.iris/t/in", outputDir: "/ws/.iris/t/out", scratchDir: "/ws/.iris/t/s" },
 * });
 * const ws = mounts.findIndex((m) => m.path === "/ws");
 * const secret = mounts.findIndex((m) => m.path === "/ws/secret");
 * console.assert(mounts[ws].mode === "writable" && ws < secret);
 * console.assert(mounts[secret].mode === "hidden");
 * console.assert(mounts.some((m) => m.mode === "sealed" && m.path === "/ws/secret"));
 * ```
 *
 * @param confinement The attempt's confinement.
 * @param facts What the runtime found on the host.
 * @returns The mounts, in the order bubblewrap must apply them.
 */
export function bubblewrapMounts(
  confinement: Confinement,
  facts: SandboxFacts,
): BubblewrapMount[] {
  const allows = allowMounts(facts);
  const visible = (path: string) => allows.some((m) => isWithin(path, m.path));
  const blocked = [...facts.paths.deny.map((d) => d.path), ...facts.paths.hidden];
  const free = (path: string) => !blocked.some((b) => isWithin(path, b));
  const masks = facts.paths.deny.filter((d) => visible(d.path));
  const hidden = facts.paths.hidden.filter(visible);
  return [
    ...systemMounts(facts, confinement.tools === null ? null : facts.tools ?? []),
    ...facts.etc.map((path) => ({ mode: "read-only", path }) as const),
    { mode: "hidden", path: "/tmp" },
    ...(facts.home ? [{ mode: "hidden", path: facts.home } as const] : []),
    ...facts.runtime.map((path) => ({ mode: "read-only", path }) as const),
    ...allows,
    ...facts.paths.readOnly.filter((p) => visible(p) && free(p)).map((path) =>
      ({ mode: "read-only", path }) as const
    ),
    ...masks.map((d) =>
      ({ mode: d.kind === "dir" ? "hidden" : "masked-file", path: d.path }) as const
    ),
    ...hidden.map((path) => ({ mode: "hidden", path }) as const),
    { mode: "read-only", path: facts.staging.inputDir },
    { mode: "writable", path: facts.staging.outputDir },
    { mode: "writable", path: facts.staging.scratchDir },
    ...[...masks.filter((d) => d.kind === "dir").map((d) => d.path), ...hidden].map((path) =>
      ({ mode: "sealed", path }) as const
    ),
    { mode: "devices", path: "/dev" },
    { mode: "proc", path: "/proc" },
    { mode: "sealed", path: "/" },
  ];
}

/**
 * The bubblewrap flags of one mount.
 *
 * @param mount The mount.
 * @returns Its flags.
 */
export function mountFlags(mount: BubblewrapMount): string[] {
  switch (mount.mode) {
    case "read-only":
      return ["--ro-bind", mount.source ?? mount.path, mount.path];
    case "writable":
      return ["--bind", mount.source ?? mount.path, mount.path];
    case "hidden":
      return ["--tmpfs", mount.path];
    case "masked-file":
      return ["--ro-bind", "/dev/null", mount.path];
    case "sealed":
      return ["--remount-ro", mount.path];
    case "devices":
      return ["--dev", mount.path];
    case "proc":
      return ["--proc", mount.path];
    case "symlink":
      return ["--symlink", mount.target, mount.path];
  }
}
