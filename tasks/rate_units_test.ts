/**
 * Conversations/s and requests/s keep their own names end to end: real
 * virtual-time runs (`deno task predict`) of a multi-turn, a ShareGPT
 * multi-turn and a single-turn workload, then the result block they print,
 * their `summary.json`, the report's summary table and the figures' axis titles.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { readExperiment } from "../plot/_runs.ts";
import { summaryTable } from "../plot/report.ts";
import { buildFigures } from "../plot/_figures.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const AGG = "fixtures/topologies/sim_agg.yaml";
const CHAT = ["--endpoint", "/v1/chat/completions", "--rate", "4"];

/** Runs `deno task predict` for one load point into `dir`; returns its stderr (the result block). */
async function predict(dir: string, args: string[]): Promise<string> {
  const o = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "tasks/predict.ts", "--topology", AGG, ...args, "--out", join(dir, "p")],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const err = new TextDecoder().decode(o.stderr);
  assert.equal(o.code, 0, err);
  return err;
}

/** The table's header cells, in order. */
function headers(html: string): string[] {
  return [...html.matchAll(/<th>([^<]*)<\/th>/g)].map((m) => m[1]);
}

/** The axis titles of the throughput-vs-offered-rate figure. */
async function throughputTitles(dir: string): Promise<string> {
  const data = await readExperiment(dir);
  const fig = buildFigures(data).find((f) => f.name.startsWith("throughput_rate"));
  assert.ok(fig && "spec" in fig.result, `no throughput_rate figure in ${dir}`);
  const titles = [...JSON.stringify(fig.result.spec).matchAll(/"title":"([^"]*)"/g)];
  return titles.map((m) => m[1]).join(" | ");
}

/** Checks one multi-turn run directory: block, summary, table, figure. */
async function checkConversations(dir: string, block: string): Promise<void> {
  assert.match(block, /Conversation rate target \(conv\/s\):\s+4\n/);
  assert.match(block, /Conversation rate achieved \(conv\/s\):\s+[\d.]+\n/);
  assert.match(block, /Request rate achieved \(req\/s\):\s+[\d.]+\n/);
  assert.doesNotMatch(block, /Request rate target/);
  const data = await readExperiment(dir);
  const [row] = data.rows;
  // both rates are measured: conversations started and requests sent (every turn) per second
  assert.ok(Number(row.conversation_rate_achieved) > 0, `${row.conversation_rate_achieved}`);
  assert.ok(Number(row.rate_achieved) > 0, `${row.rate_achieved}`);
  const h = headers(summaryTable(data.rows));
  assert.deepEqual(h.slice(2, 5), ["Offered (conv/s)", "Started (conv/s)", "Sent (req/s)"]);
  assert.ok(!h.includes("Offered (req/s)"), h.join(", "));
  const titles = await throughputTitles(dir);
  assert.match(titles, /Offered load \(conversations\/s\)/);
  assert.match(titles, /Request throughput \(req\/s\)/);
}

Deno.test("multi-turn runs: offered load in conv/s, achieved both in conv/s and req/s (block, table, axes)", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "rate_units_" });
  try {
    const mt = join(tmp, "mt");
    const synthetic = await predict(mt, [
      ...CHAT,
      ...["--dataset", "multiturn", "--preset", "W1", "--turns", "3", "--duration", "6"],
    ]);
    await checkConversations(mt, synthetic);
    const file = join(tmp, "chats.json");
    const chat = (k: number) => ({
      id: `c${k}`,
      conversations: [1, 2].flatMap((t) => [
        { from: "human", value: `Question ${t} of chat ${k}: how do rivers form?` },
        { from: "gpt", value: "Rain gathers in valleys and runs down to the sea." },
      ]),
    });
    await Deno.writeTextFile(file, JSON.stringify([1, 2, 3, 4, 5, 6].map(chat)));
    const sg = join(tmp, "sg");
    const shared = await predict(sg, [
      ...CHAT,
      ...["--dataset", "sharegpt-multiturn", "--dataset-path", file, "--turns", "2"],
      ...["--num-requests", "6"],
    ]);
    await checkConversations(sg, shared);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("single-turn runs: offered and achieved both in req/s, no conversation columns", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "rate_units_" });
  try {
    const block = await predict(tmp, [
      ...CHAT,
      ...["--dataset", "random", "--input-len", "64", "--output-len", "16", "--duration", "4"],
    ]);
    assert.match(block, /Request rate target \(req\/s\):\s+4\n/);
    assert.doesNotMatch(block, /conv\/s|Steady-state/);
    const data = await readExperiment(tmp);
    assert.equal(data.rows[0].conversation_rate_achieved, null);
    const h = headers(summaryTable(data.rows));
    assert.deepEqual(h.slice(2, 5), ["Offered (req/s)", "Sent (req/s)", "Completed (req/s)"]);
    assert.ok(!h.some((x) => x.includes("conv/s")), h.join(", "));
    const titles = await throughputTitles(tmp);
    assert.match(titles, /Offered request rate \(req\/s\)/);
    assert.doesNotMatch(titles, /conversations/);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
