/**
 * A local LLM API server for the provider tests: a real HTTP server on
 * 127.0.0.1 (port 0) that answers each request with the next scripted
 * response and remembers what it was sent and when.
 *
 * @module
 */

/** One scripted answer: a status, a JSON or text body, headers; or `hang` (answers only once the server closes). */
export type ScriptedResponse =
  | {
    readonly status?: number;
    readonly json?: unknown;
    readonly text?: string;
    readonly headers?: Record<string, string>;
  }
  | "hang";

/** A request the server saw. */
export interface SeenRequest {
  /** The request path. */
  readonly path: string;
  /** Its headers, lower-cased names. */
  readonly headers: Record<string, string>;
  /** Its parsed JSON body. */
  readonly body: unknown;
  /** When it arrived (`performance.now()` of this process). */
  readonly at: number;
}

/** A running server. */
export interface LlmServer {
  /** `http://127.0.0.1:<port>`. */
  readonly url: string;
  /** What it was sent, in order. */
  readonly seen: SeenRequest[];
  /** Stops it. */
  close(): Promise<void>;
}

/**
 * Starts a server answering with `script` in order (the last entry repeats).
 *
 * @param script The answers.
 * @returns The running server.
 */
export function startLlmServer(script: readonly ScriptedResponse[]): LlmServer {
  const seen: SeenRequest[] = [];
  const hanging: (() => void)[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const at = performance.now();
    const body = await req.json().catch(() => null);
    const answer = script[Math.min(seen.length, script.length - 1)];
    seen.push({
      path: new URL(req.url).pathname,
      headers: Object.fromEntries(req.headers),
      body,
      at,
    });
    if (answer === "hang") {
      await new Promise<void>((resolve) => hanging.push(resolve));
      return new Response(null, { status: 599 });
    }
    const headers = { ...answer.headers };
    if (answer.json !== undefined) headers["content-type"] = "application/json";
    return new Response(
      answer.json !== undefined ? JSON.stringify(answer.json) : answer.text ?? "",
      {
        status: answer.status ?? 200,
        headers,
      },
    );
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    seen,
    close: () => {
      for (const release of hanging) release();
      return server.shutdown();
    },
  };
}

/** A chat-completions reply with `text`. */
export function openAiOk(text: string): ScriptedResponse {
  return {
    json: {
      id: "chatcmpl-1",
      object: "chat.completion",
      choices: [{ index: 0, message: { role: "assistant", content: text }, finish_reason: "stop" }],
      usage: { prompt_tokens: 7, completion_tokens: 3, total_tokens: 10 },
    },
  };
}

/** A Messages reply with `text`. */
export function anthropicOk(text: string): ScriptedResponse {
  return {
    json: {
      id: "msg_1",
      type: "message",
      role: "assistant",
      content: [{ type: "text", text }],
      stop_reason: "end_turn",
      usage: { input_tokens: 7, output_tokens: 3 },
    },
  };
}
