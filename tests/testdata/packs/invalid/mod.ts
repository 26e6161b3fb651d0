/** A test pack with invalid items (its definition is exported without definePack's check). @module */
import { z } from "zod";

export default {
  name: "invalid",
  version: "1.0.0",
  steps: {
    nothing: { description: "expands nothing", params: z.object({}) },
  },
  executors: [{
    kind: "other/run",
    execute: () => {},
    specSchema: z.object({}),
    capabilities: { roles: ["step"] },
  }],
};
