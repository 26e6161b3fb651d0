/**
 * Globs in policy paths: `*` (any characters but `/`), `**` (any path,
 * including none), `?` (one character but `/`) and `[…]` classes, as in
 * POSIX `fnmatch` with `FNM_PATHNAME` plus the `**` of gitignore. A policy
 * glob is expanded against the files that exist when an attempt is spawned.
 *
 * Pure: no I/O.
 *
 * @module
 */

/**
 * Whether a policy path is a glob.
 *
 * @param path The path as written.
 * @returns Whether it has `*`, `?` or `[`.
 */
export function isGlob(path: string): boolean {
  return /[*?[]/.test(path);
}

/**
 * The longest leading part of an absolute glob without glob characters:
 * the dir to walk when expanding it.
 *
 * @param glob An absolute glob.
 * @returns Its fixed prefix dir.
 */
export function globBase(glob: string): string {
  const parts = glob.split("/");
  const fixed: string[] = [];
  for (const part of parts) {
    if (isGlob(part)) break;
    fixed.push(part);
  }
  const base = fixed.join("/");
  return base === "" ? "/" : base;
}

/**
 * Compiles a glob into a regular expression over whole paths.
 *
 * @example
 * ```ts
 * import { globRegExp } from "./policy_glob.ts";
 * console.assert(globRegExp("/ws/**\/*.key").test("/ws/a/b/c.key"));
 * console.assert(!globRegExp("/ws/*.key").test("/ws/a/c.key"));
 * ```
 *
 * @param glob The glob.
 * @returns An anchored expression.
 */
export function globRegExp(glob: string): RegExp {
  let out = "";
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === "*" && glob[i + 1] === "*") {
      const slash = glob[i + 2] === "/";
      out += slash ? "(?:.*/)?" : ".*";
      i += slash ? 2 : 1;
    } else if (c === "*") out += "[^/]*";
    else if (c === "?") out += "[^/]";
    else if (c === "[") {
      const end = glob.indexOf("]", i + 2);
      if (end === -1) out += "\\[";
      else {
        const body = glob.slice(i + 1, end).replace(/^!/, "^").replace(/\\/g, "\\\\");
        out += `[${body}]`;
        i = end;
      }
    } else out += c.replace(/[.+^${}()|\\]/g, "\\$&");
  }
  return new RegExp(`^${out}$`);
}
