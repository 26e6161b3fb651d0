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
 * in key order.
 */
export class Scheduler {
  #graph: WorkflowGraph;
  #waitingOn: Int32Array;
  #ready = new IndexHeap();
  #queued: Uint8Array;

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
    for (let i = 0; i < n; i++) {
      if (succeeded.has(graph.steps[i].id)) {
        this.#queued[i] = 1;
        continue;
      }
      this.#waitingOn[i] = graph.upstream[i].filter((u) => !succeeded.has(graph.steps[u].id))
        .length;
      if (this.#waitingOn[i] === 0) this.#enqueue(i);
    }
  }

  #enqueue(i: number): void {
    this.#queued[i] = 1;
    this.#ready.push(i);
  }

  /** How many steps are ready and not yet taken. */
  get readyCount(): number {
    return this.#ready.size;
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
      out.push(this.#graph.steps[this.#ready.pop()!].id);
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
}
