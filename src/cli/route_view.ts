/**
 * How routes (`on_fail`) read in the CLI: live, and in `lily run show`.
 *
 * @module
 */

import type { RunEvent, RunEventBody } from "../runtime/run_events.ts";

type RouteTaken = Extract<RunEventBody, { type: "route_taken" }>;

/**
 * Names a route as a person wrote it.
 *
 * @param event The `route_taken` event.
 * @returns E.g. `gate tests on_fail → edit` or `step build on_fail → fix`.
 */
export function routeLabel(event: RouteTaken): string {
  const [list, id] = event.route.split(".");
  return `${list === "gates" ? "gate" : "step"} ${id} on_fail → ${event.goto}`;
}

/**
 * Says what a taken route did and how much of its bounds it used.
 *
 * @param event The `route_taken` event.
 * @returns E.g. `after edit#1, 1 of max 3 (run: 1 of max_transitions 100); feedback <id>; reset edit, test`.
 */
export function routeDetails(event: RouteTaken): string {
  return `after ${event.step}#${event.attempt}, ${event.count} of max ${event.max} ` +
    `(run: ${event.transitions} of max_transitions ${event.max_transitions}); ` +
    `feedback ${event.feedback}; reset ${event.reset.join(", ")}`;
}

/**
 * The `Routes:` section of `lily run show`: one line per route taken, in order.
 *
 * @param events The run's journal.
 * @returns The lines (none when no route was taken).
 */
export function describeRoutes(events: readonly RunEvent[]): string[] {
  const taken = events.filter((e): e is RouteTaken & RunEvent => e.type === "route_taken");
  if (taken.length === 0) return [];
  return [
    "Routes taken:",
    ...taken.map((e, i) => `  ${i + 1}. ${routeLabel(e)}: ${routeDetails(e)}`),
  ];
}
