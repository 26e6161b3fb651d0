/**
 * Reading a file a user names, once: a regular file, or a pipe such as
 * `/dev/stdin` or a shell's process substitution (`<(cat f)`), which can be
 * read only once. What is checked and what is stored are then the same bytes.
 *
 * @module
 */

import { basename } from "node:path";
import { NotFoundError, UsageError } from "../core/errors.ts";

/**
 * Tells whether a path names a stream by descriptor (`/dev/stdin`,
 * `/dev/fd/63` from a shell's `<(…)`, `/proc/self/fd/N`): its name says
 * nothing about the data, and it reads differently twice.
 *
 * @param path The path as the user gave it.
 * @returns `true` for such a path.
 */
export function isDescriptorPath(path: string): boolean {
  return /^\/(dev|proc\/self)\/(stdin|fd\/\d+)$/.test(path) || path === "/dev/stdin";
}

/**
 * The name to store a user's file under: its own, or `fallback` when the
 * path names a stream by descriptor (`63` or `stdin` would say nothing).
 *
 * @param path The path as the user gave it.
 * @param fallback The name for a stream.
 * @returns A file name (not yet checked).
 */
export function userFileName(path: string, fallback: string): string {
  return isDescriptorPath(path) ? fallback : basename(path);
}

/**
 * Reads a whole file, pipe or FIFO named by a user.
 *
 * @param path The path (`/dev/stdin` and `/dev/fd/N` work).
 * @param what How messages name it, capitalised, e.g. `Work order`.
 * @returns Its bytes.
 * @throws {NotFoundError} When it does not exist.
 * @throws {UsageError} When it is a directory or cannot be read.
 */
export async function readUserFile(path: string, what: string): Promise<Uint8Array> {
  try {
    return await Deno.readFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new NotFoundError(`${what} ${path} does not exist`, { cause: err });
    }
    if (err instanceof Deno.errors.IsADirectory) {
      throw new UsageError(`${what} ${path} is a directory; expected a file`, { cause: err });
    }
    throw new UsageError(
      `Cannot read ${what.toLowerCase()} ${path}: ${(err as Error).message.split("\n")[0]}`,
      { cause: err },
    );
  }
}

/**
 * Tells whether bytes are UTF-8 JSON holding an object or an array: how
 * data read from a pipe, which has no name ending, is told to be JSON.
 *
 * @param bytes The data.
 * @returns `true` for a JSON object or array.
 */
export function isJsonObject(bytes: Uint8Array): boolean {
  try {
    const value = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
    return typeof value === "object" && value !== null;
  } catch {
    return false;
  }
}
