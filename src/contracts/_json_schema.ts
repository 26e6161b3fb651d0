/**
 * Compiling plain JSON Schema documents with Ajv. The dialect comes from the
 * document's `$schema` (draft-07, 2019-09 or 2020-12; 2020-12 when absent);
 * formats such as `date-time` are checked (ajv-formats); Ajv's strict mode
 * rejects unknown keywords, so a misspelt keyword cannot silently switch a
 * check off. Module-private to the contracts layer.
 *
 * @module
 */

import { Ajv, type AnySchemaObject, type ValidateFunction } from "ajv";
import { Ajv2019 } from "ajv/dist/2019.js";
import { Ajv2020 } from "ajv/dist/2020.js";
import ajvFormats from "ajv-formats";

type AjvInstance = Ajv | Ajv2019 | Ajv2020;

const AJV_OPTIONS = { allErrors: true, strict: true } as const;

const DIALECTS: Record<string, () => AjvInstance> = {
  "https://json-schema.org/draft/2020-12/schema": () => new Ajv2020(AJV_OPTIONS),
  "https://json-schema.org/draft/2019-09/schema": () => new Ajv2019(AJV_OPTIONS),
  "http://json-schema.org/draft-07/schema": () => new Ajv(AJV_OPTIONS),
};

const DEFAULT_DIALECT = "https://json-schema.org/draft/2020-12/schema";

/** Compiles JSON Schema documents, one Ajv instance per dialect in use. */
export class JsonSchemaCompiler {
  #instances = new Map<string, AjvInstance>();

  /**
   * Compiles a document.
   *
   * @param document The JSON Schema document.
   * @returns Ajv's validate function.
   * @throws {Error} With a reason when the dialect is unsupported or the
   * document is not a valid schema of its dialect.
   */
  compile(document: AnySchemaObject): ValidateFunction {
    const declared = typeof document.$schema === "string" ? document.$schema : DEFAULT_DIALECT;
    const dialect = declared.replace(/#$/, "");
    const make = DIALECTS[dialect];
    if (!make) {
      throw new Error(
        `unsupported $schema ${JSON.stringify(declared)}; expected one of ${
          Object.keys(DIALECTS).join(", ")
        }`,
      );
    }
    let ajv = this.#instances.get(dialect);
    if (!ajv) {
      ajv = make();
      // A CommonJS module typed as an ES one: the plugin is its `default`
      // both in the types and at run time.
      ajvFormats.default(ajv);
      this.#instances.set(dialect, ajv);
    }
    return ajv.compile(document);
  }
}
