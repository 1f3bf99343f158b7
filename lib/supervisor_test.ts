import assert from "node:assert/strict";
import { join } from "node:path";
import {
  groupMembers,
  isAlive,
  isGroupAlive,
  killGroup,
  stopGroup,
  Supervisor,
  tailFile,
} from "./supervisor.ts";

/** pgid of `pid` as the kernel sees it. */
function pgidOf(pid: number): number {
  const s = Deno.readTextFileSync(`/proc/${pid}/stat`);
  return Number(s.slice(s.lastIndexOf(")") + 2).split(" ")[2]);
}

/** Polls `f` until it is true or `ms` pass. */
async function until(f: () => boolean | Promise<boolean>, ms = 5000): Promise<boolean> {
  const end = performance.now() + ms;
  while (!(await f())) {
    if (performance.now() > end) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}

async function withTmp(f: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "topobench_sup_" });
  try {
    await f(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("supervisor: child gets its own group, stop ends it, log is appended", async () => {
  await withTmp(async (dir) => {
    await using sup = new Supervisor();
    const logPath = join(dir, "logs", "deep", "sleep.log");
    const p = sup.spawn({
      name: "sleeper",
      cmd: "sh",
      args: ["-c", 'echo "out $GREETING"; echo err >&2; exec sleep 30'],
      env: { GREETING: "hi" },
      logPath,
    });
    assert.equal(p.pgid, p.pid);
    assert.equal(pgidOf(p.pid), p.pid, "setsid: pgid == pid");
    assert.notEqual(pgidOf(p.pid), pgidOf(Deno.pid));
    assert.ok(isAlive(p.pid));
    assert.ok(await until(async () => (await tailFile(logPath)).includes("err")));
    assert.deepEqual((await tailFile(logPath)).split("\n").sort(), ["err", "out hi"]);
    assert.equal(p.exited, false);
    assert.deepEqual(sup.list(), [p]);
    const t0 = performance.now();
    await p.stop(2000);
    assert.ok(performance.now() - t0 < 1500, "sleep dies on SIGTERM, no SIGKILL wait");
    assert.equal(p.exited, true);
    assert.equal((await p.status).signal, "SIGTERM");
    assert.equal(isAlive(p.pid), false);
    assert.equal(isGroupAlive(p.pgid), false);
    assert.equal(killGroup(p.pgid, "SIGTERM"), false, "ESRCH is not an error");
  });
});

Deno.test("supervisor: stop reaches grandchildren and SIGKILLs what ignores SIGTERM", async () => {
  await withTmp(async (dir) => {
    await using sup = new Supervisor();
    const a = sup.spawn({
      name: "tree",
      cmd: "sh",
      args: ["-c", "sleep 30 & sleep 30"],
      logPath: join(dir, "tree.log"),
    });
    const b = sup.spawn({
      name: "stubborn",
      cmd: "sh",
      args: ["-c", "trap '' TERM; sleep 30 & sleep 30 & wait"],
      logPath: join(dir, "stubborn.log"),
    });
    assert.ok(await until(() => (groupMembers(a.pgid) ?? []).length === 3));
    assert.ok(await until(() => (groupMembers(b.pgid) ?? []).length === 3));
    const kids = [...groupMembers(a.pgid)!, ...groupMembers(b.pgid)!];
    const t0 = performance.now();
    await sup.stopAll(300);
    const tookMs = performance.now() - t0;
    assert.ok(tookMs >= 250 && tookMs < 4000, `took ${tookMs} ms`);
    assert.deepEqual(groupMembers(a.pgid), []);
    assert.deepEqual(groupMembers(b.pgid), []);
    for (const pid of kids) assert.equal(isAlive(pid), false, `pid ${pid}`);
    assert.equal((await b.status).signal, "SIGKILL");
  });
});

Deno.test("supervisor: non-zero exit resolves status; a missing program is logged", async () => {
  await withTmp(async (dir) => {
    await using sup = new Supervisor();
    const p = sup.spawn({
      name: "fail",
      cmd: "sh",
      args: ["-c", "exit 7"],
      logPath: join(dir, "f"),
    });
    const st = await p.status;
    assert.equal(st.code, 7);
    assert.equal(st.success, false);
    assert.equal(p.exited, true);
    const q = sup.spawn({
      name: "missing",
      cmd: "no-such-program-topobench",
      args: ["x"],
      logPath: join(dir, "m.log"),
    });
    assert.equal((await q.status).code, 127);
    assert.match(await tailFile(join(dir, "m.log")), /no-such-program-topobench/);
    assert.throws(
      () => sup.spawn({ name: "", cmd: "sh", args: [], logPath: join(dir, "x") }),
      /Cannot use name as a non-empty string: current value is ""/,
    );
  });
});

Deno.test("stopGroup: works from a pgid alone; bad ids are refused", async () => {
  await withTmp(async (dir) => {
    await using sup = new Supervisor();
    const p = sup.spawn({
      name: "bg",
      cmd: "sleep",
      args: ["30"],
      logPath: join(dir, "bg.log"),
      detached: true,
    });
    assert.equal(await stopGroup(p.pgid, 2000), "terminated");
    assert.equal(await stopGroup(p.pgid, 2000), "gone");
    // a detached child is unref'd: a timer keeps the loop alive until its status arrives
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([p.status, new Promise((r) => timer = setTimeout(r, 5000))]);
    clearTimeout(timer);
  });
  for (const bad of [0, 1, -5, 2.5]) {
    assert.throws(() => killGroup(bad, "SIGTERM"), /Cannot use pgid as a process id >= 2/);
  }
  await assert.rejects(() => stopGroup(1), TypeError);
});

Deno.test("tailFile: last lines of a long file, missing file is empty", async () => {
  await withTmp(async (dir) => {
    const f = join(dir, "long.log");
    const lines = Array.from({ length: 5000 }, (_, i) => `line ${i} ${"x".repeat(i % 40)}`);
    await Deno.writeTextFile(f, lines.join("\n") + "\n");
    assert.equal(await tailFile(f, 3), lines.slice(-3).join("\n"));
    assert.equal(await tailFile(f), lines.slice(-20).join("\n"));
    assert.equal(await tailFile(f, 1200), lines.slice(-1200).join("\n"));
    await Deno.writeTextFile(f, "a\nb");
    assert.equal(await tailFile(f, 5), "a\nb");
    assert.equal(await tailFile(join(dir, "nope")), "");
  });
});

Deno.test("supervisor: SIGTERM to a supervising script stops its children", async () => {
  await withTmp(async (dir) => {
    const script = join(dir, "main.ts");
    const lib = new URL("./supervisor.ts", import.meta.url).href;
    await Deno.writeTextFile(
      script,
      `import { Supervisor } from ${JSON.stringify(lib)};
const sup = new Supervisor();
const p = sup.spawn({ name: "kid", cmd: "sh", args: ["-c", "sleep 30 & sleep 30"],
  logPath: ${JSON.stringify(join(dir, "kid.log"))} });
sup.installSignalHandlers(2000);
console.log(p.pgid);
await p.status;
`,
    );
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "--no-check", "-A", script],
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let out = "";
    while (!out.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) break;
      out += value;
    }
    const pgid = Number(out.trim());
    assert.ok(pgid > 1, `pgid line: ${JSON.stringify(out)}`);
    try {
      assert.ok(await until(() => (groupMembers(pgid) ?? []).length === 3));
      child.kill("SIGTERM");
      const st = await child.status;
      assert.equal(st.code, 143);
      assert.equal(isGroupAlive(pgid), false);
    } finally {
      if (isGroupAlive(pgid)) killGroup(pgid, "SIGKILL");
      await reader.cancel();
      await child.stderr.cancel();
    }
  });
});

Deno.test("supervisor: Deno.exit without stopAll still ends attached children", async () => {
  await withTmp(async (dir) => {
    const script = join(dir, "main.ts");
    const lib = new URL("./supervisor.ts", import.meta.url).href;
    await Deno.writeTextFile(
      script,
      `import { Supervisor } from ${JSON.stringify(lib)};
const sup = new Supervisor();
const a = sup.spawn({ name: "a", cmd: "sleep", args: ["30"], logPath: ${
        JSON.stringify(join(dir, "a.log"))
      } });
const d = sup.spawn({ name: "d", cmd: "sleep", args: ["30"], detached: true, logPath: ${
        JSON.stringify(join(dir, "d.log"))
      } });
console.log(a.pgid, d.pgid);
Deno.exit(0);
`,
    );
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--no-check", "-A", script],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const [a, d] = new TextDecoder().decode(out.stdout).trim().split(" ").map(Number);
    assert.ok(a > 1 && d > 1, new TextDecoder().decode(out.stderr));
    try {
      assert.ok(await until(() => !isGroupAlive(a)), "attached child ended");
      assert.equal(isGroupAlive(d), true, "detached child keeps running");
    } finally {
      await stopGroup(d, 1000);
      if (isGroupAlive(a)) killGroup(a, "SIGKILL");
    }
  });
});
