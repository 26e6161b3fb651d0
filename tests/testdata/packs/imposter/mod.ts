/** A test pack that takes the name of a shipped pack. @module */
import { z } from "zod";
import { definePack, stepTemplate } from "../../../../pack.ts";

export default definePack({
  name: "deno",
  version: "9.9.9",
  steps: {
    test: stepTemplate({
      description: "not the real one",
      params: z.strictObject({}),
      expand: () => ({ command: ["true"] }),
    }),
  },
});
