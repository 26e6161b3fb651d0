import { assert, assertEquals } from "./_assert.ts";
import { join } from "node:path";
import { lily, runEvents, SANDBOX_ENV, withTempDir } from "./_helpers.ts";

/** An OTLP/HTTP span as Deno's exporter sends it with `http/json`. */
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  status: { code?: number };
  attributes: { key: string; value: Record<string, unknown> }[];
}

/** Reads an OTLP attribute value (string, number, bool or array); Deno sends JS numbers as `doubleValue`. */
function valueOf(value: Record<string, unknown>): unknown {
  if ("stringValue" in value) return value.stringValue;
  if ("intValue" in value) return Number(value.intValue);
  if ("doubleValue" in value) return value.doubleValue;
  if ("boolValue" in value) return value.boolValue;
  if ("arrayValue" in value) {
    const values = (value.arrayValue as { values?: Record<string, unknown>[] }).values ?? [];
    return values.map(valueOf);
  }
  return value;
}

function attrs(span: OtlpSpan): Record<string, unknown> {
  return Object.fromEntries(span.attributes.map((a) => [a.key, valueOf(a.value)]));
}

/** Starts an OTLP/HTTP receiver on 127.0.0.1 that keeps the spans it is sent. */
function receiver(): {
  url: string;
  spans: OtlpSpan[];
  services: string[];
  close(): Promise<void>;
} {
  const spans: OtlpSpan[] = [];
  const services: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const body = await req.text();
    if (new URL(req.url).pathname === "/v1/traces") {
      const doc = JSON.parse(body);
      for (const rs of doc.resourceSpans ?? []) {
        for (const a of rs.resource?.attributes ?? []) {
          if (a.key === "service.name") services.push(a.value.stringValue);
        }
        for (const ss of rs.scopeSpans ?? []) {
          if (ss.scope?.name === "lily") spans.push(...ss.spans);
        }
      }
    }
    return Response.json({});
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    spans,
    services,
    close: () => server.shutdown(),
  };
}

const FLOW = [
  "name: traced",
  "steps:",
  "  - id: make",
  "    shell: echo made > $LILY_OUTPUT_DIR/out.txt; echo made-log",
  "    outputs: { out: { type: note.v1, path: out.txt, kind: text } }",
  "  - id: use",
  "    needs: [make]",
  "    shell: exit 3",
  "gates:",
  "  - { id: check, step: make, shell: echo checking; exit 0 }",
  "",
].join("\n");

Deno.test("OTEL_DENO=true: a run is a trace with one span per runner, attempt and gate, sent over OTLP/HTTP", async () => {
  const otlp = receiver();
  try {
    await withTempDir(async (ws) => {
      await Deno.writeTextFile(join(ws, "flow.yaml"), FLOW);
      const run = await lily(["run", "start", "flow.yaml", "--json"], {
        workspace: ws,
        env: {
          ...SANDBOX_ENV,
          OTEL_DENO: "true",
          OTEL_SERVICE_NAME: "lily-test",
          OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url,
          OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
        },
      });
      assertEquals(run.code, 1, run.stderr);
      const runId = JSON.parse(run.stdout).run_id as string;
      const events = await runEvents(ws, runId);
      const made = events.find((e) => e.type === "attempt_finished" && e.step === "make")!;
      const gate = events.find((e) => e.type === "gate_finished")!.gate as { result_id: string };

      // Deno sends what is left when the process exits; the receiver may get it just after.
      for (let i = 0; i < 100 && otlp.spans.length < 4; i++) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      assertEquals(otlp.services.includes("lily-test"), true);
      const byName = (name: string) => otlp.spans.filter((s) => s.name === name);
      assertEquals(
        otlp.spans.map((s) => s.name).sort(),
        ["lily.attempt", "lily.attempt", "lily.gate", "lily.run"],
      );
      const traceId = runId.replaceAll("-", "");
      assert(otlp.spans.every((s) => s.traceId === traceId), "every span is in the run's trace");

      const [root] = byName("lily.run");
      assertEquals(root.parentSpanId, traceId.slice(16));
      assertEquals(attrs(root)["lily.run_id"], runId);
      assertEquals(attrs(root)["lily.status"], "failed");
      assertEquals(attrs(root)["lily.workflow"], "traced");
      assertEquals(root.status.code, 2);

      const attempts = Object.fromEntries(
        byName("lily.attempt").map((s) => [attrs(s)["lily.step"], s]),
      );
      const make = attrs(attempts.make);
      assertEquals(attempts.make.parentSpanId, root.spanId);
      assertEquals(
        [make["lily.run_id"], make["lily.attempt"], make["lily.status"], make["lily.exit_code"]],
        [runId, 1, "succeeded", 0],
      );
      assertEquals(make["lily.output_artifact_ids"], Object.values(made.outputs as object));
      assertEquals(make["lily.log_artifact_ids"], Object.values(made.logs as object));
      const use = attrs(attempts.use);
      assertEquals([use["lily.status"], use["lily.exit_code"]], ["failed", 3]);
      assertEquals(attempts.use.status.code, 2);
      assertEquals(use["lily.input_artifact_ids"], []);

      const [gateSpan] = byName("lily.gate");
      const g = attrs(gateSpan);
      assertEquals(gateSpan.parentSpanId, attempts.make.spanId);
      assertEquals(
        [g["lily.run_id"], g["lily.step"], g["lily.attempt"], g["lily.gate"], g["lily.status"]],
        [runId, "make", 1, "check", "pass"],
      );
      assertEquals([g["lily.exit_code"], g["lily.gate_result_id"]], [0, gate.result_id]);
      assertEquals((g["lily.artifact_ids"] as string[])[0], gate.result_id);
      assertEquals((g["lily.artifact_ids"] as string[]).length, 2);
    });
  } finally {
    await otlp.close();
  }
});

Deno.test("without OTEL_DENO no span is sent", async () => {
  const otlp = receiver();
  try {
    await withTempDir(async (ws) => {
      await Deno.writeTextFile(join(ws, "flow.yaml"), FLOW);
      const run = await lily(["run", "start", "flow.yaml"], {
        workspace: ws,
        env: {
          ...SANDBOX_ENV,
          OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url,
          OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
        },
      });
      assertEquals(run.code, 1, run.stderr);
      assertEquals(otlp.spans, []);
    });
  } finally {
    await otlp.close();
  }
});

Deno.test("OTEL_DENO=true: a run that waits for a person and is resumed stays one trace: a lily.run span per runner, the decision's gate span from approve", async () => {
  const otlp = receiver();
  const env = {
    ...SANDBOX_ENV,
    OTEL_DENO: "true",
    OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url,
    OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
  };
  try {
    await withTempDir(async (ws) => {
      await Deno.writeTextFile(
        join(ws, "flow.yaml"),
        "name: h\nsteps:\n  - { id: build, shell: echo b }\n" +
          "gates:\n  - { id: ok, step: build, human: { prompt: Ship? } }\n",
      );
      const start = await lily(["run", "start", "flow.yaml", "--json"], { workspace: ws, env });
      assertEquals(start.code, 3, start.stderr);
      const runId = JSON.parse(start.stdout).run_id as string;
      const follow = await lily(["logs", runId, "--follow"], { workspace: ws });
      assertEquals([follow.code, follow.stderr.trim()], [0, `Run ${runId} waiting`]);
      const approved = await lily(["approve", runId, "ok"], {
        workspace: ws,
        env: { ...env, LILY_USER: "ada" },
      });
      assertEquals(approved.code, 0, approved.stderr);
      const resumed = await lily(["run", "resume", runId], { workspace: ws, env });
      assertEquals(resumed.code, 0, resumed.stderr);
      for (let i = 0; i < 100 && otlp.spans.length < 4; i++) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      const traceId = runId.replaceAll("-", "");
      assert(
        otlp.spans.every((s) => s.traceId === traceId),
        "every process adds to the run's trace",
      );
      const runs = otlp.spans.filter((s) => s.name === "lily.run").map(attrs);
      assertEquals(
        runs.map((r) => [r["lily.status"], r["lily.resumed"]]),
        [["waiting", false], ["succeeded", true]],
      );
      const gates = otlp.spans.filter((s) => s.name === "lily.gate");
      assertEquals(
        gates.map(attrs).map((g) => [g["lily.gate"], g["lily.status"], g["lily.decided_by"]]),
        [["ok", "pass", "ada"]],
      );
      // Decided by `approve`, outside any runner: under the run's remote parent.
      assertEquals(gates[0].parentSpanId, traceId.slice(16));
    });
  } finally {
    await otlp.close();
  }
});
