/**
 * OpenTelemetry tracing of runs, through `npm:@opentelemetry/api`: a run is
 * a trace, each runner of it a `lily.run` span, each attempt a `lily.attempt`
 * span and each gate a `lily.gate` span, built from the run's events as they
 * become durable (a {@linkcode RunObserver}). Nothing here exports: with
 * `OTEL_DENO=true`, Deno's built-in OTLP exporter is the API's provider and
 * sends the spans (`docs/observability.md`); without it the API's tracer is
 * a no-op.
 *
 * The trace id is the run id's 32 hex digits, so every runner of a run
 * (start, then each resume) adds to one trace. A trace cannot be started
 * with a chosen id through the API, so each `lily.run` span's parent is a
 * remote span context with that trace id and span id the run id's last 16
 * hex digits, which no process reports. Span times are the events' `at`
 * (the kernel's clock); a gate's span starts where the event before it for
 * the same attempt (the attempt's end, or the gate before) was journaled,
 * as gates of an attempt run one after the other.
 *
 * @module
 */

import {
  type Attributes,
  type Context,
  ROOT_CONTEXT,
  type Span,
  SpanStatusCode,
  trace,
  TraceFlags,
  type Tracer,
} from "@opentelemetry/api";
import { KERNEL_VERSION } from "../core/version.ts";
import type { GateResultPayload } from "../gates/gate_evaluator.ts";
import { foldEvents, type RunEvent, type RunState } from "../runtime/run_events.ts";
import { readJournal } from "../runtime/run_journal.ts";
import type { RunObserver } from "../runtime/run_observer.ts";
import type { Store } from "../store/store.ts";

/** The instrumentation scope name the spans are created under. */
export const TRACER_NAME = "lily";

/** Options of {@linkcode createRunTracer}. */
export interface RunTracerOptions {
  /**
   * The tracer spans are made with.
   * @default {trace.getTracer("lily", KERNEL_VERSION)}
   */
  readonly tracer?: Tracer;
}

/**
 * The remote parent every span of a run descends from: trace id = the run
 * id's hex digits.
 *
 * @param runId The run id (a UUID).
 * @returns The context to start a runner's span in.
 */
export function runTraceContext(runId: string): Context {
  const hex = runId.replaceAll("-", "").toLowerCase();
  return trace.setSpanContext(ROOT_CONTEXT, {
    traceId: hex,
    spanId: hex.slice(16),
    traceFlags: TraceFlags.SAMPLED,
    isRemote: true,
  });
}

function failed(span: Span, ok: boolean, message: string | null): void {
  if (!ok) span.setStatus({ code: SpanStatusCode.ERROR, message: message ?? undefined });
}

/** Builds the spans of one runner from its events. */
class RunTracer implements RunObserver {
  readonly #store: Store;
  readonly #tracer: Tracer;
  #runId = "";
  #run: Span | undefined;
  #runContext: Context | undefined;
  #lastAt: Date | undefined;
  readonly #attempts = new Map<string, Span>();
  /** Where each attempt's next gate starts: the time of the attempt's last event. */
  readonly #gateStarts = new Map<string, Date>();
  readonly #pending: Promise<void>[] = [];
  /** Whether the events are a runner's (under a `lily.run` span) or a decision made without one. */
  readonly #runner: boolean;

  constructor(store: Store, tracer: Tracer, runner: boolean) {
    this.#store = store;
    this.#tracer = tracer;
    this.#runner = runner;
  }

  #base(step: string, attempt: number): Attributes {
    return { "lily.run_id": this.#runId, "lily.step": step, "lily.attempt": attempt };
  }

  #runSpan(at: Date): Context {
    if (!this.#runner) return runTraceContext(this.#runId);
    if (this.#runContext) return this.#runContext;
    this.#run = this.#tracer.startSpan("lily.run", {
      startTime: at,
      attributes: { "lily.run_id": this.#runId },
    }, runTraceContext(this.#runId));
    this.#runContext = trace.setSpan(ROOT_CONTEXT, this.#run);
    return this.#runContext;
  }

  observe(event: RunEvent, state: RunState): void {
    const at = new Date(event.at);
    this.#lastAt = at;
    this.#runId = state.run_id;
    const parent = this.#runSpan(at);
    if (state.workflow_name !== null) this.#run?.setAttribute("lily.workflow", state.workflow_name);
    const key = "step" in event ? `${event.step}#${event.attempt}` : "";
    switch (event.type) {
      case "runner_started":
        this.#run?.setAttributes({ "lily.resumed": event.resumed, "lily.runner_pid": event.pid });
        return;
      case "attempt_started": {
        const span = this.#tracer.startSpan("lily.attempt", {
          startTime: at,
          attributes: {
            ...this.#base(event.step, event.attempt),
            "lily.cause": event.cause ?? "first",
            "lily.input_artifact_ids": Object.values(event.inputs ?? {}).map((i) => i.artifact_id),
          },
        }, parent);
        this.#attempts.set(key, span);
        return;
      }
      case "attempt_finished":
        this.#endAttempt(event, at, parent);
        this.#gateStarts.set(key, at);
        return;
      case "gate_waiting":
        // A person's decision comes later, from `approve`: its span starts here.
        this.#gateStarts.set(key, at);
        return;
      case "gate_finished": {
        const start = this.#gateStarts.get(key) ?? at;
        this.#gateStarts.set(key, at);
        const attemptSpan = this.#attempts.get(key);
        const span = this.#tracer.startSpan("lily.gate", {
          startTime: start,
          attributes: {
            ...this.#base(event.step, event.attempt),
            "lily.gate": event.gate.gate_id,
            "lily.status": event.gate.status,
            "lily.required": event.gate.required,
            "lily.gate_result_id": event.gate.result_id,
          },
        }, attemptSpan ? trace.setSpan(ROOT_CONTEXT, attemptSpan) : parent);
        this.#pending.push(this.#endGate(span, event.gate.result_id, at));
        return;
      }
      case "run_finished":
        if (!this.#run) return;
        this.#run.setAttribute("lily.status", event.status);
        failed(this.#run, event.status === "succeeded" || event.status === "waiting", event.reason);
        return;
    }
  }

  #endAttempt(event: Extract<RunEvent, { type: "attempt_finished" }>, at: Date, parent: Context) {
    const key = `${event.step}#${event.attempt}`;
    // An attempt a dead runner left (recorded `interrupted` by this one) started before it.
    const span = this.#attempts.get(key) ??
      this.#tracer.startSpan("lily.attempt", {
        startTime: new Date(at.getTime() - event.duration_ms),
        attributes: this.#base(event.step, event.attempt),
      }, parent);
    this.#attempts.set(key, span);
    span.setAttributes({
      "lily.status": event.status,
      "lily.duration_ms": event.duration_ms,
      "lily.output_artifact_ids": Object.values(event.outputs),
      "lily.log_artifact_ids": Object.values(event.logs),
      "lily.violation_ids": [...(event.violations ?? [])],
      ...(event.exit_code === null ? {} : { "lily.exit_code": event.exit_code }),
    });
    failed(span, event.status === "succeeded", event.message);
    span.end(at);
  }

  /** Ends a gate's span once its stored result (exit code, logs) is read. */
  async #endGate(span: Span, resultId: string, at: Date): Promise<void> {
    try {
      const result = (await this.#store.artifacts.get(resultId)).value as GateResultPayload;
      const logs = [result.stdout_artifact_id, result.stderr_artifact_id].filter((id) =>
        id !== null
      );
      span.setAttributes({
        "lily.duration_ms": result.duration_ms,
        "lily.log_artifact_ids": logs as string[],
        "lily.artifact_ids": [resultId, ...logs as string[]],
        ...(result.exit_code === null ? {} : { "lily.exit_code": result.exit_code }),
        ...(result.decided_by === undefined ? {} : { "lily.decided_by": result.decided_by }),
      });
      failed(
        span,
        result.status === "pass" || result.status === "skipped",
        result.reasons.join("; "),
      );
    } catch {
      // The span goes out without what the result would have added.
    } finally {
      span.end(at);
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.#pending);
    const at = this.#lastAt ?? new Date();
    for (const span of this.#attempts.values()) {
      if (span.isRecording()) {
        span.setAttribute("lily.status", "unfinished");
        span.end(at);
      }
    }
    this.#run?.end(at);
  }
}

function tracerOf(options: RunTracerOptions): Tracer {
  return options.tracer ?? trace.getTracer(TRACER_NAME, KERNEL_VERSION);
}

/**
 * Creates the observer that traces one runner of a run (the run its events'
 * state names); one observer per `executeRun`.
 *
 * @param store The open store (gate results are read from it).
 * @param options The tracer.
 * @returns The observer; give it to the run loop, which closes it.
 */
export function createRunTracer(store: Store, options: RunTracerOptions = {}): RunObserver {
  return new RunTracer(store, tracerOf(options), true);
}

/**
 * Traces the decision a person just recorded on a human gate (`approve`,
 * outside any runner): a `lily.gate` span in the run's trace, from the
 * run's `gate_waiting` for that gate to its `gate_finished`, with
 * `lily.decided_by`; its parent is the run's remote parent.
 *
 * @param store The open store.
 * @param runId The run whose journal ends in the decision.
 * @param options The tracer.
 */
export async function traceGateDecision(
  store: Store,
  runId: string,
  options: RunTracerOptions = {},
): Promise<void> {
  const { events } = await readJournal(store.events, runId);
  const decided = events.findLast((e) => e.type === "gate_finished");
  if (decided?.type !== "gate_finished") return;
  const waiting = events.findLast((e) =>
    e.type === "gate_waiting" && e.step === decided.step && e.attempt === decided.attempt &&
    e.gate_id === decided.gate.gate_id
  );
  const state = foldEvents(runId, events);
  const tracer = new RunTracer(store, tracerOf(options), false);
  if (waiting) tracer.observe(waiting, state);
  tracer.observe(decided, state);
  await tracer.close();
}
