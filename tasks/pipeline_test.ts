/**
 * `deno task bench:agg` on the live clock as a terminal runs it: Ctrl-C to the
 * whole process group (and `deno task`'s forwarded copy ~1 ms later) stops the
 * run, stops the topology it launched and exits 130, leaving no process and no
 * live state file behind.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import {
  isAlive,
  isGroupAlive,
  killGroup,
  spawnSession,
  terminalCtrlC,
} from "../lib/_process_group.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

/** The topology's state file once its processes are up, with their pids. */
async function upState(stateDir: string): Promise<{ path: string; pids: number[] } | null> {
  try {
    for await (const e of Deno.readDir(stateDir)) {
      if (!e.name.endsWith(".json")) continue;
      const path = join(stateDir, e.name);
      const s = JSON.parse(await Deno.readTextFile(path));
      if (s.status === "up") return { path, pids: s.processes.map((p: { pid: number }) => p.pid) };
    }
  } catch { /* not written yet */ }
  return null;
}

Deno.test("Ctrl-C on `deno task bench:agg` (live) stops the topology it launched and exits 130", async () => {
  const out = await Deno.makeTempDir({ prefix: "pipeline_test_" });
  const stateDir = join(out, "agg", ".state");
  const { child, stdout, stderr } = spawnSession(Deno.execPath(), [
    ...["task", "bench:agg", "--clock", "live", "--out", out],
    ...["--rates", "2", "--num-requests", "400", "--no-plot"],
  ], ROOT);
  try {
    let state: Awaited<ReturnType<typeof upState>> = null;
    for (let i = 0; i < 600 && !state; i++) {
      await new Promise((r) => setTimeout(r, 50));
      state = await upState(stateDir);
    }
    assert.ok(state, "the topology came up within 30 s");
    assert.ok(state.pids.length >= 1 && state.pids.every(isAlive), `pids ${state.pids}`);
    await new Promise((r) => setTimeout(r, 1000)); // load flowing
    await terminalCtrlC(child.pid);
    const st = await child.status;
    const err = await stderr;
    await stdout;
    assert.equal(st.code, 130, err);
    assert.deepEqual(state.pids.filter(isAlive), [], "every process of the topology stopped");
    assert.equal(isGroupAlive(child.pid), false);
    const left = await Deno.readTextFile(state.path).catch(() => null);
    assert.equal(left, null, `state file left: ${left}`);
  } finally {
    if (isGroupAlive(child.pid)) killGroup(child.pid, "SIGKILL");
    await child.status;
    await Deno.remove(out, { recursive: true }).catch(() => {});
  }
});
