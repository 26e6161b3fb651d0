/**
 * Scheduling decisions, free of I/O: which steps are ready, in which order.
 *
 * The ordering key is the step's declaration index: among ready steps, the
 * one declared first starts first. With one job, two runs of the same
 * workflow therefore run their steps in the same order. Every transition
 * costs O(out-degree · log ready), independent of the graph's size.
 *
 * @module
 */

import type { WorkflowGraph } from "./workflow_graph.ts";

/** A binary min-heap of step indexes. */
class IndexHeap {
  #items: number[] = [];

  get size(): number {
    return this.#items.length;
  }

  push(value: number): void {
    const items = this.#items;
    items.push(value);
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (items[parent] <= value) break;
      items[i] = items[parent];
      i = parent;
    }
    items[i] = value;
  }

  pop(): number | undefined {
    const items = this.#items;
    const top = items[0];
    const last = items.pop();
    if (items.length === 0 || last === undefined) return top;
    let i = 0;
    while (true) {
      const left = 2 * i + 1;
      if (left >= items.length) break;
      const right = left + 1;
      const child = right < items.length && items[right] < items[left] ? right : left;
      if (items[child] >= last) break;
      items[i] = items[child];
      i = child;
    }
    items[i] = last;
    return top;
  }
}

/**
 * Tracks which steps can start. Tell it when steps succeed; take ready steps
 * in key order; reset the steps a route runs again.
 */
export class Scheduler {
  #graph: WorkflowGraph;
  #waitingOn: Int32Array;
  #ready = new IndexHeap();
  /** How many heap entries are live (not withdrawn by a reset). */
  #readyLive = 0;
  /** 1 once a step was made ready (or succeeded before), until a reset. */
  #queued: Uint8Array;
  /** 1 while a step's index is in the heap. */
  #inHeap: Uint8Array;
  /** 1 for heap entries a reset withdrew; skipped when popped. */
  #withdrawn: Uint8Array;
  /** 1 for steps that succeeded. */
  #done: Uint8Array;

  /**
   * Starts scheduling a graph where some steps may already have succeeded
   * (a resumed run).
   *
   * @param graph The workflow graph.
   * @param succeeded Ids of steps that need not run again.
   */
  constructor(graph: WorkflowGraph, succeeded: ReadonlySet<string> = new Set()) {
    this.#graph = graph;
    const n = graph.steps.length;
    this.#waitingOn = new Int32Array(n);
    this.#queued = new Uint8Array(n);
    this.#inHeap = new Uint8Array(n);
    this.#withdrawn = new Uint8Array(n);
    this.#done = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      if (succeeded.has(graph.steps[i].id)) {
        this.#queued[i] = 1;
        this.#done[i] = 1;
        continue;
      }
      this.#waitingOn[i] = graph.upstream[i].filter((u) => !succeeded.has(graph.steps[u].id))
        .length;
      if (this.#waitingOn[i] === 0) this.#enqueue(i);
    }
  }

  #enqueue(i: number): void {
    this.#queued[i] = 1;
    this.#readyLive++;
    if (this.#inHeap[i]) {
      this.#withdrawn[i] = 0;
      return;
    }
    this.#inHeap[i] = 1;
    this.#ready.push(i);
  }

  /** How many steps are ready and not yet taken. */
  get readyCount(): number {
    return this.#readyLive;
  }

  /**
   * Takes up to `limit` ready steps, lowest key first.
   *
   * @param limit The most to take.
   * @returns Step ids.
   */
  take(limit: number): string[] {
    const out: string[] = [];
    while (out.length < limit && this.#ready.size > 0) {
      const i = this.#ready.pop()!;
      this.#inHeap[i] = 0;
      if (this.#withdrawn[i]) {
        this.#withdrawn[i] = 0;
        continue;
      }
      this.#readyLive--;
      out.push(this.#graph.steps[i].id);
    }
    return out;
  }

  /**
   * Records that a step succeeded and releases its dependents.
   *
   * @param stepId The step.
   * @returns Ids of steps that became ready.
   */
  succeeded(stepId: string): string[] {
    const i = this.#graph.indexOf.get(stepId)!;
    this.#done[i] = 1;
    const released: string[] = [];
    for (const d of this.#graph.downstream[i]) {
      if (this.#queued[d]) continue;
      if (--this.#waitingOn[d] === 0) {
        this.#enqueue(d);
        released.push(this.#graph.steps[d].id);
      }
    }
    return released;
  }

  /**
   * Schedules steps again that a route reset: each is no longer succeeded
   * nor taken, and becomes ready once its upstream steps have succeeded. The
   * set must be closed downstream (a step and all its descendants), as a
   * route's reset is; steps in it that were ready but not taken wait again
   * until their reset upstream steps succeed.
   *
   * @param stepIds The steps to schedule again.
   */
  reset(stepIds: Iterable<string>): void {
    const members = [...stepIds].map((id) => this.#graph.indexOf.get(id)!);
    for (const i of members) {
      if (this.#inHeap[i] && !this.#withdrawn[i]) {
        this.#withdrawn[i] = 1;
        this.#readyLive--;
      }
      this.#queued[i] = 0;
      this.#done[i] = 0;
    }
    for (const i of members) {
      this.#waitingOn[i] = this.#graph.upstream[i].filter((u) => !this.#done[u]).length;
      if (this.#waitingOn[i] === 0) this.#enqueue(i);
    }
  }
}
