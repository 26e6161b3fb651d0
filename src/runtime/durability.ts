/**
 * How durable a run's journal is: the `--durability` choice of
 * `lily run start` and `lily run resume`.
 *
 * @module
 */

/**
 * How durable an event is before the runner acts on it (LangGraph calls the
 * same choice "durability modes"):
 *
 * - `fsync` (the default): written and fsynced, so it survives a crash of
 *   Lily and of the machine (a power loss).
 * - `process`: written to the file (the kernel's page cache) but not
 *   fsynced: it survives a crash or `kill -9` of Lily, not a crash of the
 *   machine (a power loss), which may lose the journal's last events or
 *   leave its end damaged. Stored artifacts are fsynced in both modes.
 */
export type Durability = (typeof DURABILITY_MODES)[number];

/** The {@linkcode Durability} modes, default first. */
export const DURABILITY_MODES = ["fsync", "process"] as const;
