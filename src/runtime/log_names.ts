/**
 * How an attempt's and a gate's live log files are named in the run's
 * `logs/` (`RunStore.scratch`): `<label>.<stream>.log`, where the label is
 * `<step>.<attempt>` for a step's attempt and `gate.<gate>.<step>.<attempt>`
 * for a gate judging it. Labels are never reused, so each file holds one
 * attempt's stream from its first byte to its last.
 *
 * @module
 */

/** The two captured streams. */
export type LogStream = "stdout" | "stderr";

/** Both streams, stdout first. */
export const LOG_STREAMS: readonly LogStream[] = ["stdout", "stderr"];

/**
 * The label of a step's attempt.
 *
 * @param stepId The step.
 * @param attempt The attempt number (from 1).
 * @returns `<step>.<attempt>`.
 */
export function attemptLabel(stepId: string, attempt: number): string {
  return `${stepId}.${attempt}`;
}

/**
 * The label of a gate run for a step's attempt.
 *
 * @param gateId The gate.
 * @param stepId The step it judges.
 * @param attempt The attempt it judges.
 * @returns `gate.<gate>.<step>.<attempt>`.
 */
export function gateLabel(gateId: string, stepId: string, attempt: number): string {
  return `gate.${gateId}.${stepId}.${attempt}`;
}

/**
 * The file name of a label's stream in the run's `logs/`.
 *
 * @param label An {@linkcode attemptLabel} or {@linkcode gateLabel}.
 * @param stream The stream.
 * @returns `<label>.<stream>.log`.
 */
export function logFileName(label: string, stream: LogStream): string {
  return `${label}.${stream}.log`;
}
