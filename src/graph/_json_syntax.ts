/**
 * Locating JSON syntax errors (RFC 8259 grammar): `JSON.parse` names the
 * position of some errors only, so a failed parse is scanned again to find
 * the offset of the first error and say in one line what was expected.
 *
 * @module
 */

/** The first syntax error of a JSON text. */
export interface JsonSyntaxError {
  /** The UTF-16 offset of the error in the text. */
  readonly offset: number;
  /** What is wrong, in one line. */
  readonly message: string;
}

const WS = new Set([" ", "\t", "\n", "\r"]);
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const LITERAL = /true|false|null/y;
// deno-lint-ignore no-control-regex -- RFC 8259 forbids unescaped U+0000..U+001F in strings
const STRING = /"(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"/y;

class Fail extends Error {
  constructor(readonly offset: number, message: string) {
    super(message);
  }
}

function describe(text: string, at: number): string {
  return at >= text.length ? "end of input" : JSON.stringify(text[at]);
}

/**
 * Finds the first syntax error in a JSON text.
 *
 * @param text The JSON text.
 * @returns The error's offset and message, or `undefined` when the text is valid JSON.
 */
export function findJsonSyntaxError(text: string): JsonSyntaxError | undefined {
  let i = 0;
  const skip = () => {
    while (i < text.length && WS.has(text[i])) i++;
  };
  const expect = (what: string): never => {
    throw new Fail(i, `expected ${what}, found ${describe(text, i)}`);
  };
  const match = (pattern: RegExp): boolean => {
    pattern.lastIndex = i;
    if (!pattern.test(text)) return false;
    i = pattern.lastIndex;
    return true;
  };
  const string = () => {
    if (!match(STRING)) {
      throw new Fail(i, "invalid string (an unescaped control character or a bad escape)");
    }
  };
  const member = (): void => {
    skip();
    if (text[i] !== '"') expect("a double-quoted property name");
    string();
    skip();
    if (text[i] !== ":") expect('":"');
    i++;
  };
  // Containers are tracked on an explicit stack, so deep nesting cannot overflow.
  const stack: ("{" | "[")[] = [];
  let needValue = true;
  try {
    while (true) {
      skip();
      if (needValue) {
        const c = text[i];
        needValue = false;
        if (c === "{" || c === "[") {
          i++;
          skip();
          if (text[i] === (c === "{" ? "}" : "]")) i++;
          else {
            stack.push(c);
            if (c === "{") member();
            needValue = true;
          }
        } else if (c === '"') string();
        else if (!match(NUMBER) && !match(LITERAL)) expect("a value");
        continue;
      }
      const open = stack.at(-1);
      if (open === undefined) break;
      const close = open === "{" ? "}" : "]";
      if (text[i] === close) {
        i++;
        stack.pop();
        continue;
      }
      if (text[i] !== ",") expect(`"," or "${close}"`);
      i++;
      skip();
      if (text[i] === close) {
        throw new Fail(i, `a trailing comma before "${close}" is not allowed in JSON`);
      }
      if (open === "{") member();
      needValue = true;
    }
    if (i < text.length) expect("nothing after the JSON value");
    return undefined;
  } catch (err) {
    if (err instanceof Fail) return { offset: err.offset, message: err.message };
    throw err;
  }
}
