/** A test pack that needs a Lily from the future. @module */
import { z } from "zod";
import { definePack, stepTemplate } from "../../../../pack.ts";

export default definePack({
  name: "future",
  version: "2.0.0",
  lily: ">=9.0.0",
  steps: {
    later: stepTemplate({
      description: "not yet",
      params: z.strictObject({}),
      expand: () => ({ command: ["true"] }),
    }),
  },
});
