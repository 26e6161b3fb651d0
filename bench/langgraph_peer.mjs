// The LangGraph JS side of bench/langgraph_bench.ts, run by Node.js from the
// temp directory the bench installed LangGraph into with npm:
//
//   node langgraph_peer.mjs <sqlite|memory> <nodes> <dir>
//
// It builds a chain of <nodes> trivial nodes (each returns no update), runs it
// once untimed to warm the JIT, then once timed with a fresh checkpointer, and
// prints {"ms": <wall time of the timed invoke>} on stdout. Building the graph
// and opening the checkpointer are not timed, as Lily's side does not time
// defining the workflow or opening its store.
//
// Durability: `durability: "sync"` (each step's checkpoint is written before
// the next step starts). The SQLite checkpointer runs on a file in <dir> with
// better-sqlite3's journal_mode=WAL (set by SqliteSaver.setup()) and
// `synchronous = FULL`, so every commit fsyncs the WAL; better-sqlite3 builds
// SQLite with SQLITE_DEFAULT_WAL_SYNCHRONOUS=1 (NORMAL, no fsync per commit),
// which would not match Lily's fsync before acting.
//
// Imports are dynamic so that `deno check bench/` does not try to resolve the
// npm packages, which only exist in the bench's temp directory.

const [saverKind, nodesArg, dir] = process.argv.slice(2);
const nodes = Number(nodesArg);
if (!["sqlite", "memory"].includes(saverKind) || !(nodes > 0) || !dir) {
  console.error("Usage: node langgraph_peer.mjs <sqlite|memory> <nodes> <dir>");
  process.exit(2);
}
const { Annotation, END, MemorySaver, START, StateGraph } = await import("@langchain/langgraph");
const { join } = await import("node:path");

async function openSaver(name) {
  if (saverKind === "memory") return { saver: new MemorySaver(), close() {} };
  const { SqliteSaver } = await import("@langchain/langgraph-checkpoint-sqlite");
  const { default: Database } = await import("better-sqlite3");
  const db = new Database(join(dir, `${name}.sqlite`));
  const saver = new SqliteSaver(db);
  saver.setup();
  db.pragma("synchronous = FULL");
  return { saver, close: () => db.close() };
}

function chain(n) {
  let graph = new StateGraph(Annotation.Root({ n: Annotation() }));
  for (let i = 0; i < n; i++) graph = graph.addNode(`s${i}`, () => ({}));
  graph = graph.addEdge(START, "s0");
  for (let i = 1; i < n; i++) graph = graph.addEdge(`s${i - 1}`, `s${i}`);
  return graph.addEdge(`s${n - 1}`, END);
}

async function runOnce(name) {
  const { saver, close } = await openSaver(name);
  try {
    const app = chain(nodes).compile({ checkpointer: saver });
    const config = {
      configurable: { thread_id: name },
      recursionLimit: nodes + 1,
      durability: "sync",
    };
    const start = performance.now();
    await app.invoke({ n: 0 }, config);
    return performance.now() - start;
  } finally {
    close();
  }
}

await runOnce("warmup");
console.log(JSON.stringify({ ms: await runOnce("timed") }));
