import assert from "node:assert/strict";
import { join } from "node:path";
import { Supervisor } from "../lib/supervisor.ts";
import { Reader } from "../lib/schema.ts";
import { readEvents } from "../lib/scenario_events.ts";
import type { TopologyState } from "../launch/_state.ts";
import { checkLiveEvents, liveSpares, START_LEAD_MS, startLiveScenario } from "./_live_scenario.ts";
import { readState, writeState } from "../launch/_state.ts";
import { down } from "../launch/down.ts";
import { freePort } from "../lib/net.ts";

/** The one-letter state of `pid` in /proc (R, S, T stopped, Z), or "gone". */
function procState(pid: number): string {
  try {
    return /^State:\s+(\w)/m.exec(Deno.readTextFileSync(`/proc/${pid}/status`))?.[1] ?? "?";
  } catch {
    return "gone";
  }
}

Deno.test({
  name:
    "live scenario: the supervisor's signals reach the tracked process group at the events' times",
  ignore: Deno.build.os !== "linux",
}, async () => {
  const dir = await Deno.makeTempDir({ prefix: "topobench_live_scenario_" });
  const sup = new Supervisor();
  try {
    const m = sup.spawn({
      name: "decode-0",
      cmd: "sleep",
      args: ["30"],
      logPath: join(dir, "d.log"),
    });
    const state = {
      processes: [{ name: "decode-0", role: "decode", pid: m.pid, pgid: m.pgid }],
    } as unknown as TopologyState;
    // server time at speed 10: pause at 1 s for 2 s (0.1 s .. 0.3 s wall), kill at 5 s (0.5 s)
    const events = readEvents(Reader.root("t.yaml", {
      events: [
        { at: 1, action: "pause", target: "decode[0]", duration: 2 },
        { at: 5, action: "kill", target: "decode[0]" },
      ],
    }, null));
    const sc = startLiveScenario(state, events, { timeScale: 10, log: () => {} });
    const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));
    await wait(sc.startAtMs - Date.now() + 200);
    assert.equal(procState(m.pid), "T");
    await wait(200);
    assert.notEqual(procState(m.pid), "T");
    await wait(300);
    assert.ok(["gone", "Z"].includes(procState(m.pid)), procState(m.pid));
    const { records } = await sc.stop();
    assert.deepEqual(records.map((r) => r.detail), [
      "1 s pause decode[0]",
      "1 s pause decode[0]: resumed",
      "5 s kill decode[0]",
    ]);
    assert.ok(records.every((r, i) => Math.abs(r.tMs - [1000, 3000, 5000][i]) < 500));
    assert.ok(START_LEAD_MS > 0);
  } finally {
    await sup.stopAll(500);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("live scenario: slow is refused on the live clock, naming the action", () => {
  const events = readEvents(Reader.root("t.yaml", {
    events: [{ at: 1, action: "slow", target: "decode[0]", factor: 2, duration: 1 }],
  }, null));
  assert.throws(
    () => checkLiveEvents(events, "x.yaml"),
    /action slow in x\.yaml.*allowed live: kill/,
  );
});

Deno.test({
  name:
    "live scenario: start runs the planned spare in its own process group, the state file lists it, and down stops it",
  ignore: Deno.build.os !== "linux",
}, async () => {
  const dir = await Deno.makeTempDir({ prefix: "topobench_live_start_" });
  let pgid = 0;
  try {
    const port = await freePort();
    const state = {
      name: "t-start",
      processes: [],
      spares: [{
        name: "decode-1",
        role: "decode",
        cmd: "sleep",
        args: ["30"],
        env: {},
        cwd: dir,
        url: `http://127.0.0.1:${port}`,
        healthUrl: `http://127.0.0.1:${port}/health`,
        ports: [port],
        logPath: join(dir, "decode-1.log"),
        command: "sleep 30",
      }],
    } as unknown as TopologyState;
    await writeState(dir, state);
    const events = readEvents(Reader.root("t.yaml", {
      events: [{ at: 1, action: "start", target: "decode" }],
    }, null));
    assert.deepEqual(liveSpares(events), { decode: 1 });
    const sc = startLiveScenario(state, events, { timeScale: 10, log: () => {}, stateDir: dir });
    await new Promise((r) => setTimeout(r, sc.startAtMs - Date.now() + 400));
    const { records } = await sc.stop();
    const onDisk = (await readState(dir, "t-start"))!;
    assert.deepEqual(onDisk.processes.map((p) => p.name), ["decode-1"]);
    assert.deepEqual(onDisk.spares, []);
    pgid = onDisk.processes[0].pgid;
    assert.equal(procState(pgid), "S");
    assert.deepEqual(records.map((r) => [r.instance, r.detail]), [[
      "decode-1",
      "1 s start decode",
    ]]);
    await down({ target: "t-start", stateDir: dir, graceMs: 500, log: () => {} });
    assert.ok(["gone", "Z"].includes(procState(pgid)), procState(pgid));
  } finally {
    if (pgid && procState(pgid) !== "gone") Deno.kill(-pgid, "SIGKILL");
    await Deno.remove(dir, { recursive: true });
  }
});
