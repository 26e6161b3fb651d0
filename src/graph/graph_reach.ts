/**
 * What a step reaches in the workflow graph: its ancestors (what it depends
 * on, directly or not) and its descendants (what depends on it). Routes
 * use both: a route's target must be an ancestor of the failing step (or
 * the step itself), and taking it resets the target's descendants.
 *
 * @module
 */

import type { WorkflowGraph } from "./workflow_graph.ts";

/**
 * Every node reachable from `from` along `edges`, `from` included,
 * ascending. Breadth-first: O(nodes + edges) at most.
 *
 * @param edges For each node, its neighbours (e.g. a graph's `upstream` or `downstream`).
 * @param from The start node.
 * @returns The reached nodes' indexes, sorted.
 */
export function reachable(edges: readonly (readonly number[])[], from: number): number[] {
  const seen = new Uint8Array(edges.length);
  seen[from] = 1;
  const queue = [from];
  for (let head = 0; head < queue.length; head++) {
    for (const next of edges[queue[head]]) {
      if (!seen[next]) {
        seen[next] = 1;
        queue.push(next);
      }
    }
  }
  return queue.sort((a, b) => a - b);
}

/**
 * A step and everything downstream of it, in declaration order: what a
 * route to that step runs again.
 *
 * @param graph The workflow graph.
 * @param stepId The step.
 * @returns Step ids, the step included.
 */
export function stepAndDescendants(graph: WorkflowGraph, stepId: string): string[] {
  return reachable(graph.downstream, graph.indexOf.get(stepId)!).map((i) => graph.steps[i].id);
}
