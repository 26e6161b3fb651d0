/**
 * The `lily` command-line entry point.
 *
 * ```sh
 * deno run -A jsr:@lily/cli/cli run new --work-order work_order.json
 * ```
 *
 * @module
 */

import { main } from "./src/cli/main.ts";

if (import.meta.main) Deno.exit(await main(Deno.args));
