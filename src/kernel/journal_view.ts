/**
 * `lily journal`'s data: a run's access journal (`runtime/access_journal.ts`)
 * grouped by step and attempt, each attempt beside its status from the run's
 * events, with its gates' attempts under it. Data only; the CLI words it.
 *
 * @module
 */

import { UsageError } from "../core/errors.ts";
import type { Store } from "../store/store.ts";
import type {
  AccessEntry,
  AccessEntryBody,
  CommittedOutput,
  StagedOutput,
} from "../runtime/access_entry.ts";
import { readAccessJournal } from "../runtime/access_journal.ts";
import { type AttemptState, foldEvents, type InputRecord } from "../runtime/run_events.ts";
import { readJournal } from "../runtime/run_journal.ts";

/** What an attempt's process was granted (the access journal's `grant` entry). */
export type JournalGrant = Omit<Extract<AccessEntryBody, { type: "grant" }>, "type">;

/** One permission decision of a `deno` attempt's broker. */
export type JournalPermission = Omit<Extract<AccessEntryBody, { type: "permission" }>, "type"> & {
  /** When it was journaled (ISO-8601). */
  readonly at: string;
};

/** What one attempt (of a step or of a gate) read, was granted and allowed, staged and committed. */
export interface JournalAccess {
  /** Each input's artifact id and sha256, by input name; empty without inputs. */
  readonly inputs: Readonly<Record<string, InputRecord>>;
  /** What its process was granted; `null` for an in-process executor, or before a spawn. */
  readonly grant: JournalGrant | null;
  /** Every permission decision, in order (only `deno` attempts have any). */
  readonly permissions: readonly JournalPermission[];
  /** The outputs it left, before commit; `null` when it declares none or never ended. */
  readonly staged: Readonly<Record<string, StagedOutput>> | null;
  /** The outputs committed; `null` when nothing was committed. */
  readonly committed: Readonly<Record<string, CommittedOutput>> | null;
}

/** One gate's attempt of a step attempt. */
export interface JournalGate extends JournalAccess {
  /** The gate. */
  readonly gate: string;
  /** Its outcome (`pass`, `fail`, …), or `null` when it has none yet. */
  readonly status: string | null;
}

/** One attempt of a step. */
export interface JournalAttempt extends JournalAccess {
  /** The attempt number. */
  readonly attempt: number;
  /** How it ended (`succeeded`, `failed`, `interrupted`, …), or `running`; `null` when the run's events do not have it. */
  readonly status: string | null;
  /** Its gates' attempts, in the order they were journaled. */
  readonly gates: readonly JournalGate[];
}

/** One step's attempts. */
export interface JournalStep {
  /** The step. */
  readonly step: string;
  /** Its attempts, oldest first. */
  readonly attempts: readonly JournalAttempt[];
}

/** A run's access journal, grouped. */
export interface JournalView {
  /** The run. */
  readonly run_id: string;
  /** The steps, in the run's order, each with its attempts. */
  readonly steps: readonly JournalStep[];
  /** How many entries were read. */
  readonly entries: number;
  /** Whether a torn last entry (the trace of a crash mid-append) was skipped. */
  readonly torn_tail: boolean;
  /** What a reader should know, e.g. that a torn last entry was skipped. */
  readonly warnings: readonly string[];
}

/** Options of {@linkcode readJournalView}. */
export interface JournalViewOptions {
  /** Only this step. */
  readonly step?: string;
}

interface MutableAccess {
  inputs: Record<string, InputRecord>;
  grant: JournalGrant | null;
  permissions: JournalPermission[];
  staged: Record<string, StagedOutput> | null;
  committed: Record<string, CommittedOutput> | null;
}

function emptyAccess(): MutableAccess {
  return { inputs: {}, grant: null, permissions: [], staged: null, committed: null };
}

function apply(access: MutableAccess, entry: AccessEntry): void {
  switch (entry.type) {
    case "inputs":
      Object.assign(access.inputs, entry.inputs);
      return;
    case "grant": {
      const { sandbox, mounts, env, net, tools } = entry;
      access.grant = { sandbox, mounts, env, net, tools };
      return;
    }
    case "permission": {
      const { permission, value, kind, target, decision, reason, pid, at } = entry;
      access.permissions.push({ permission, value, kind, target, decision, reason, pid, at });
      return;
    }
    case "staged":
      access.staged = { ...entry.outputs };
      return;
    case "committed":
      access.committed = { ...entry.outputs };
  }
}

/** The entries of each attempt, and of each gate's attempt under it. */
interface Grouped {
  readonly attempts: Map<string, MutableAccess>;
  readonly gates: Map<string, Map<string, MutableAccess>>;
}

function keyOf(step: string, attempt: number): string {
  return `${step}\u0000${attempt}`;
}

function group(entries: readonly AccessEntry[]): Grouped {
  const grouped: Grouped = { attempts: new Map(), gates: new Map() };
  for (const entry of entries) {
    const key = keyOf(entry.step, entry.attempt);
    if (!grouped.attempts.has(key)) grouped.attempts.set(key, emptyAccess());
    if (entry.gate === undefined) {
      apply(grouped.attempts.get(key)!, entry);
      continue;
    }
    if (!grouped.gates.has(key)) grouped.gates.set(key, new Map());
    const byGate = grouped.gates.get(key)!;
    if (!byGate.has(entry.gate)) byGate.set(entry.gate, emptyAccess());
    apply(byGate.get(entry.gate)!, entry);
  }
  return grouped;
}

function stepView(step: string, recorded: readonly AttemptState[], grouped: Grouped): JournalStep {
  const numbers = new Set(recorded.map((a) => a.attempt));
  for (const key of grouped.attempts.keys()) {
    if (key.startsWith(`${step}\u0000`)) numbers.add(Number(key.slice(step.length + 1)));
  }
  const attempts = [...numbers].sort((a, b) => a - b).map((n): JournalAttempt => {
    const known = recorded.find((a) => a.attempt === n);
    const byGate = grouped.gates.get(keyOf(step, n)) ?? new Map<string, MutableAccess>();
    return {
      attempt: n,
      status: known?.status ?? null,
      ...(grouped.attempts.get(keyOf(step, n)) ?? emptyAccess()),
      gates: [...byGate].map(([gate, access]) => ({
        gate,
        status: known?.gates[gate]?.status ?? null,
        ...access,
      })),
    };
  });
  return { step, attempts };
}

/**
 * Reads a run's access journal and groups it by step and attempt, with
 * each attempt's status from the run's events. Steps are in the run's order
 * (then any the journal names that the run does not), attempts oldest first.
 *
 * @param store The open store.
 * @param runId The run.
 * @param options Only one step.
 * @returns The grouped journal; a torn last entry is skipped with a warning.
 * @throws {NotFoundError} When there is no such run.
 * @throws {UsageError} When `runId` is not a UUID, or the step is not one of the run's.
 * @throws {IntegrityError} When an entry other than the last is damaged.
 */
export async function readJournalView(
  store: Store,
  runId: string,
  options: JournalViewOptions = {},
): Promise<JournalView> {
  await store.runs.get(runId);
  const state = foldEvents(runId, (await readJournal(store.events, runId)).events);
  const { entries, tornTail } = await readAccessJournal(store.access, runId);
  const stepIds = Object.keys(state.steps);
  for (const e of entries) if (!stepIds.includes(e.step)) stepIds.push(e.step);
  if (options.step !== undefined && !stepIds.includes(options.step)) {
    throw new UsageError(
      `Run ${runId} has no step ${JSON.stringify(options.step)}; its steps: ` +
        (stepIds.join(", ") || "none"),
    );
  }
  const grouped = group(entries);
  return {
    run_id: runId,
    steps: stepIds.filter((id) => options.step === undefined || id === options.step)
      .map((id) => stepView(id, state.steps[id]?.attempts ?? [], grouped)),
    entries: entries.length,
    torn_tail: tornTail,
    warnings: tornTail
      ? [
        `The access journal ${store.access.location(runId)} ends in a torn entry (the trace of ` +
        "a crash while it was written); it was skipped",
      ]
      : [],
  };
}
