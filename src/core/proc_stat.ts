/**
 * What `/proc/<pid>/stat` says about a process: its parent, group, session
 * and start time. Linux only; every reader returns `undefined` where there
 * is no `/proc`.
 *
 * @module
 */

/** The fields of `/proc/<pid>/stat` Lily reads (proc(5) fields 4, 5, 6 and 22). */
export interface ProcStat {
  /** The parent's pid. */
  readonly ppid: number;
  /** The process group id. */
  readonly pgrp: number;
  /** The session id. */
  readonly session: number;
  /** When it started, in clock ticks since boot. */
  readonly startTicks: number;
}

/**
 * Reads a process's `/proc/<pid>/stat`.
 *
 * @param pid The process id (a number or a `/proc` entry name).
 * @returns Its fields, or `undefined` when the process or `/proc` is missing.
 */
export async function readProcStat(pid: number | string): Promise<ProcStat | undefined> {
  let text: string;
  try {
    text = await Deno.readTextFile(`/proc/${pid}/stat`);
  } catch {
    return undefined;
  }
  // Field 2 (comm) is parenthesised and may itself contain spaces or ")".
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  // fields[0] is field 3 of proc(5), so field N is fields[N - 3].
  // A missing field reads as NaN, which the check below refuses.
  const ppid = Number(fields[1]);
  const pgrp = Number(fields[2]);
  const session = Number(fields[3]);
  const startTicks = Number(fields[19]);
  if (![ppid, pgrp, session, startTicks].every(Number.isSafeInteger)) return undefined;
  return { ppid, pgrp, session, startTicks };
}

/**
 * Reads when a process started, in clock ticks since boot (field 22 of
 * `/proc/<pid>/stat`). Together with the pid it identifies a process even
 * after the pid number has been reused.
 *
 * @param pid The process id.
 * @returns The start time, or `undefined` when the process does not exist or
 * there is no `/proc`.
 */
export async function processStartTicks(pid: number): Promise<number | undefined> {
  return (await readProcStat(pid))?.startTicks;
}
