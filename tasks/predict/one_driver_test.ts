import assert from "node:assert/strict";
import { join } from "node:path";
import { loadTopology, type Topology } from "../../launch/topology.ts";
import { planTopology } from "../../launch/_plan.ts";
import { SIM_ENTRY, simCommand } from "../../launch/vllm.ts";
import { buildVocab } from "../../launch/sim/core/vocab.ts";
import { EventLoop } from "../../lib/event_loop.ts";
import { PromptTokens } from "../../lib/prompt_tokens.ts";
import { type ReadyProcess, startReady } from "../../lib/ready_process.ts";
import { loadTokenizer, type Tokenizer } from "../../lib/tokenizer.ts";
import {
  type DriveOptions,
  type Finished,
  type LoadPlan,
  runLoad as drive,
} from "../../bench/load_driver.ts";
import { runLoad } from "../../bench/runner.ts";
import { Waker } from "../../bench/_waker.ts";
import { openaiBody } from "../../bench/request_body.ts";
import type { Job } from "../../bench/work_source.ts";
import type { RequestSpec } from "../../bench/workload/types.ts";
import { ROOT } from "../_experiment.ts";
import { VirtualTopology } from "./virtual_topology.ts";
import { VirtualSender } from "./virtual_sender.ts";
import { predictTokens } from "./predict_tokens.ts";

/** What the test compares of each request: when it was due, sent and ended. */
interface Sched {
  id: string;
  scheduled: number;
  sent: number;
  end: number;
  className: string;
}

const words = (n: number, seed: number) =>
  Array.from({ length: n }, (_, i) => ["alpha", "bravo", "delta", "echo"][(i + seed) % 4]).join(
    " ",
  );

function single(id: string, session: string, offsetMs: number, prompt: number, out: number): Job {
  const request: RequestSpec = {
    requestId: id,
    conversationId: session,
    turn: 1,
    prompt: words(prompt, id.length),
    promptTokens: prompt,
    maxTokens: out,
    ignoreEos: true,
  };
  return { offsetMs, request, session };
}

/**
 * One plan of every kind of work: a 3-turn conversation with 500 ms think
 * time, two trace sessions (A's second request is due while its first runs),
 * a request class, and a cap of 2 in flight (B's request waits for a slot).
 * Its events lie far enough apart (> 150 ms) that a loaded host's delays do
 * not reorder them.
 */
function mixedJobs(): Job[] {
  return [
    {
      offsetMs: 0,
      conversation: {
        conversationId: "c0",
        turns: [60, 30, 20].map((n, t) => ({ user: words(30, t), maxTokens: n })),
        thinkTimeMs: [500, 500],
      },
    },
    single("a1", "A", 100, 120, 70),
    { ...single("b1", "B", 150, 40, 10), className: "gold" },
    single("a2", "A", 200, 60, 30),
    { ...single("g1", "g1", 1400, 40, 10), session: undefined, className: "gold" },
  ];
}

/** The plan's cap on requests in flight. */
const CAP = 2;

function plan(tok: Tokenizer, jobs: Job[], more: Partial<LoadPlan> = {}): LoadPlan {
  return {
    tokenizer: tok,
    endpoint: "completions",
    jobs: jobs.values(),
    closedLoop: false,
    concurrency: CAP,
    ...more,
  };
}

const sched = (f: Finished): Sched => ({
  id: f.spec.requestId,
  scheduled: f.scheduledMs,
  sent: f.result.sentMs,
  end: f.result.endMs,
  className: f.spec.className ?? "",
});

/** A virtual agg topology on a fresh loop, and a sender into it. */
function virtual(topo: Topology, tok: Tokenizer) {
  const loop = new EventLoop();
  const prompts = new PromptTokens(tok);
  const vocab = buildVocab(tok);
  const vt = new VirtualTopology(topo, loop, { routerHopMs: 0 }, {
    tokenizer: tok,
    prompts,
    vocab,
    seed: 1,
  });
  return { loop, sender: new VirtualSender(loop, vt, predictTokens(prompts, vocab)) };
}

async function virtualRun(topo: Topology, p: LoadPlan, o: DriveOptions = {}): Promise<Sched[]> {
  const { loop, sender } = virtual(topo, p.tokenizer);
  const out: Sched[] = [];
  const done = drive(p, loop, sender, {
    ...o,
    onResult: (f) => {
      out.push(sched(f));
      o.onResult?.(f);
    },
  });
  loop.run();
  await done;
  return out;
}

/** `deno task sim` started with the topology's own command line, on a free loopback port. */
function startSim(topo: Topology): Promise<ReadyProcess> {
  const tplan = planTopology(topo);
  const cmd = simCommand(tplan, tplan.instances[0]);
  const args = cmd.args.slice(cmd.args.indexOf(SIM_ENTRY) + 1);
  args[args.indexOf("--port") + 1] = "0";
  return startReady({
    cmd: Deno.execPath(),
    args: ["run", "-A", join(ROOT, SIM_ENTRY), ...args],
    ready: /Starting vLLM API server 0 on (http:\/\/\S+)/,
  });
}

/** The plan over HTTP against the engine at `base`, on the wall clock (bench's live path). */
async function liveRun(base: string, model: string, p: LoadPlan): Promise<Sched[]> {
  // one request first: the first connection and tokenizing are not the plan's
  const warm = await fetch(`${base}/v1/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model, prompt: words(10, 0), max_tokens: 2 }),
  });
  await warm.text();
  const out: Sched[] = [];
  using waker = new Waker();
  await waker.ready(); // its thread up before the clock starts, as bench does
  await runLoad({
    ...p,
    waker,
    url: `${base}/v1/completions`,
    body: (s) => openaiBody(s, model),
    timeoutMs: 30_000,
    originMs: performance.now(),
    stop: new AbortController().signal,
    cancel: new AbortController().signal,
    onResult: (f) => out.push(sched(f)),
  });
  return out;
}

const byId = (xs: Sched[]) => new Map(xs.map((x) => [x.id, x]));

/** Most requests in flight at once ([sent, end) intervals). */
function peak(xs: Sched[]): number {
  const ev = xs.flatMap((x) => [[x.sent, 1], [x.end, -1]]).sort((a, b) =>
    a[0] - b[0] || a[1] - b[1]
  );
  let n = 0, max = 0;
  for (const [, d] of ev) max = Math.max(max, n += d);
  return max;
}

/**
 * Why each request of the mixed plan was due and sent when it was, read from
 * its times: due at its offset, a think time after its previous turn ended, or
 * when its session's previous request ended; sent on time, or when another
 * request ended and freed a slot. `slackMs`: the host's delays (0: virtual).
 */
function reasons(xs: Sched[], slackMs: number, clock: string): Map<string, string> {
  const r = byId(xs);
  const jobs = new Map(mixedJobs().map((j) => [j.request?.requestId ?? "c0-t1", j]));
  const near = (a: number, b: number) => Math.abs(a - b) <= slackMs;
  /** The request among `ids` whose end is nearest `t` (and not after it). */
  const endedAt = (t: number, ids: string[]) =>
    ids.map((id) => r.get(id)!).filter((p) => p.end <= t + 1e-9 && near(p.end, t))
      .sort((a, b) => b.end - a.end)[0];
  const out = new Map<string, string>();
  for (const x of xs) {
    const turn = /^c0-t(\d)$/.exec(x.id);
    const job = jobs.get(x.id);
    const others = [...r.keys()].filter((id) => id !== x.id);
    let due = "";
    if (turn && turn[1] !== "1") {
      const prev = r.get(`c0-t${Number(turn[1]) - 1}`)!;
      if (near(x.scheduled, prev.end + 500)) due = `think after ${prev.id}`;
    } else if (job && x.scheduled === job.offsetMs) due = "offset";
    else if (job?.session) {
      const mates = others.filter((id) => jobs.get(id)?.session === job.session);
      const prev = endedAt(x.scheduled, mates);
      if (prev) due = `after ${prev.id}`;
    }
    assert.ok(due, `${clock}: ${x.id} due at ${x.scheduled}: no reason`);
    // on time: sent when due; live, also a request due while a slot was free (a loaded host may
    // still send it late: that lag is bounded by the send-time tolerance below, not here)
    const busy = others.filter((id) =>
      r.get(id)!.sent <= x.scheduled && r.get(id)!.end > x.scheduled
    );
    const freed = endedAt(x.sent, others);
    const onTime = x.sent - x.scheduled <= slackMs || (slackMs > 0.001 && busy.length < CAP);
    const sent = onTime ? "on time" : freed ? `slot of ${freed.id}` : "";
    assert.ok(sent, `${clock}: ${x.id} sent ${x.sent - x.scheduled} ms after due: no reason`);
    out.set(x.id, `${due}, ${sent}`);
  }
  assert.ok(peak(xs) <= CAP, `${clock}: ${peak(xs)} in flight (cap ${CAP})`);
  return out;
}

Deno.test("one load driver: one plan (turns, think time, sessions, a class, a cap) has the same per-request schedule live (HTTP, deno task sim) and in virtual time", async () => {
  const topo = await loadTopology(join(ROOT, "fixtures/topologies/sim_agg.yaml"));
  topo.sim.extraArgs.push("--jitter", "0");
  const starting = startSim(topo); // it starts while the virtual run plays
  let live: Sched[], virt: Sched[];
  try {
    const tok = await loadTokenizer();
    virt = await virtualRun(topo, plan(tok, mixedJobs()));
    live = await liveRun((await starting).match[1], topo.model, plan(tok, mixedJobs()));
  } finally {
    await (await starting).stop();
  }
  const why = reasons(virt, 1e-9, "virtual");
  // what the plan asks for: turns chained by think time, A's second request after its first,
  // B's waiting for a slot under the cap of 2
  assert.deepEqual(Object.fromEntries(why), {
    "c0-t1": "offset, on time",
    "a1": "offset, on time",
    "b1": "offset, slot of c0-t1",
    "a2": "after a1, on time",
    "c0-t2": "think after c0-t1, on time",
    "g1": "offset, on time",
    "c0-t3": "think after c0-t2, on time",
  });
  // live: the same requests for the same reasons, in the same order, at about the same times
  // (the live engine's steps run late on a loaded host; that adds up along a chain)
  assert.deepEqual(
    Object.fromEntries(reasons(live, LIVE_SLACK_MS, "live")),
    Object.fromEntries(why),
  );
  // the same order, but for sends the virtual run puts closer together than a loaded host's lag
  // (two such sends swapped at load 13)
  const v = byId(virt);
  const liveOrder = [...live].sort((a, b) => a.sent - b.sent);
  liveOrder.forEach((a, i) =>
    liveOrder.slice(i + 1).forEach((b) => {
      const gapMs = v.get(b.id)!.sent - v.get(a.id)!.sent;
      assert.ok(
        gapMs > -LIVE_SLACK_MS,
        `live sent ${a.id} before ${b.id}; virtual ${-gapMs} ms after`,
      );
    })
  );
  for (const l of live) {
    const x = v.get(l.id)!;
    assert.equal(l.className, x.className, l.id);
    const tol = 100 + 0.5 * x.sent;
    assert.ok(Math.abs(l.sent - x.sent) <= tol, `${l.id} sent ${l.sent} live, ${x.sent} virtual`);
  }
});

/** A live request's send may lag the event it waited for by this much on a loaded host. */
const LIVE_SLACK_MS = 150;

Deno.test("one load driver, virtual clock: a closed loop's users each start their next job when theirs ended, until the duration", async () => {
  const topo = await loadTopology(join(ROOT, "fixtures/topologies/sim_agg.yaml"));
  const tok = await loadTokenizer();
  const jobs = Array.from({ length: 20 }, (_, i) => single(`r${i}`, `r${i}`, 0, 50, 20 + 5 * i));
  const xs = await virtualRun(
    topo,
    plan(tok, jobs.map((j) => ({ ...j, session: undefined })), {
      closedLoop: true,
      concurrency: 2,
      durationMs: 600,
    }),
  );
  assert.deepEqual(xs.filter((x) => x.sent === 0).map((x) => x.id).sort(), ["r0", "r1"]);
  for (const x of xs) {
    if (x.sent > 0) {
      assert.ok(xs.some((p) => p.end === x.sent), `${x.id} sent when a user was free`);
    }
    assert.equal(x.scheduled, x.sent);
  }
  assert.equal(peak(xs), 2);
  const last = xs.reduce((m, x) => Math.max(m, x.sent), 0);
  assert.ok(last < 600 && xs.length < 20, `sends stop at the duration: ${xs.length}, last ${last}`);
});

Deno.test("one load driver, virtual clock: jobs are drawn one arrival ahead, never the whole schedule", async () => {
  const topo = await loadTopology(join(ROOT, "fixtures/topologies/sim_agg.yaml"));
  const tok = await loadTokenizer();
  const { loop, sender } = virtual(topo, tok);
  const drawnAt: number[] = [];
  function* jobs() {
    for (let i = 0; i < 5; i++) {
      drawnAt.push(loop.nowMs());
      yield single(`r${i}`, `r${i}`, 1000 * (i + 1), 20, 5);
    }
  }
  const done = drive({ ...plan(tok, []), jobs: jobs() }, loop, sender);
  loop.run();
  assert.equal((await done).done, 5);
  assert.deepEqual(drawnAt, [0, 1000, 2000, 3000, 4000]); // job k when job k-1 is due
});

Deno.test("one load driver, virtual clock: stop ends sending, the run settles when nothing is in flight; a throw fails it", async () => {
  const topo = await loadTopology(join(ROOT, "fixtures/topologies/sim_agg.yaml"));
  const tok = await loadTokenizer();
  const jobs = () =>
    Array.from({ length: 10 }, (_, i) => single(`r${i}`, `r${i}`, 100 * i, 50, 20));
  const stop = new AbortController();
  let stoppedAt = -1;
  const xs = await virtualRun(topo, plan(tok, jobs(), { concurrency: undefined }), {
    stop: stop.signal,
    onResult: (f) => {
      if (stoppedAt >= 0) return;
      stoppedAt = f.result.endMs;
      stop.abort();
    },
  });
  assert.ok(xs.length >= 2 && xs.length < 10, `${xs.length} sent`);
  assert.ok(xs.every((x) => x.sent <= stoppedAt), "nothing sent after the stop");
  const { loop, sender } = virtual(topo, tok);
  const failing = drive(plan(tok, jobs()), loop, sender, {
    onResult: () => {
      throw new RangeError("row cannot be written");
    },
  });
  loop.run();
  await assert.rejects(failing, /row cannot be written/);
});
