import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { writeSyntheticExperiment } from "../../plot/_synthetic.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

function merge(...args: string[]) {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", join(ROOT, "tasks/merge/merge.ts"), ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
}

/** A 128 KiB tmpfs (needs root), or null where it cannot be mounted. */
async function tinyDisk(): Promise<string | null> {
  const dir = await Deno.makeTempDir({ prefix: "merge_full_" });
  const out = await new Deno.Command("mount", {
    args: ["-t", "tmpfs", "-o", "size=128k", "tmpfs", dir],
    stdout: "null",
    stderr: "null",
  }).output().catch(() => null);
  if (out?.code === 0) return dir;
  await Deno.remove(dir).catch(() => {});
  return null;
}

/** Writes zeros into `dir` until the disk is full. */
async function fill(dir: string): Promise<void> {
  const f = await Deno.open(join(dir, "filler"), { write: true, create: true });
  const block = new Uint8Array(1024);
  try {
    for (;;) await f.write(block);
  } catch (e) {
    if (!(e instanceof Error && /No space left/.test(e.message))) throw e;
  } finally {
    f.close();
  }
}

Deno.test("merge on a full disk keeps the previous merged.csv whole and leaves no temp file", async (t) => {
  const disk = await tinyDisk();
  if (!disk) {
    await t.step({ name: "needs root to mount a 128 KiB tmpfs", ignore: true, fn: () => {} });
    return;
  }
  const tmp = await Deno.makeTempDir();
  try {
    await writeSyntheticExperiment(join(tmp, "exp"), { requestsPerRate: 5 });
    const out = join(disk, "merged.csv");
    const first = await merge(join(tmp, "exp"), "--topology", "agg", "--out", out);
    assert.equal(first.code, 0, new TextDecoder().decode(first.stderr));
    const good = await Deno.readTextFile(out);
    await fill(disk);
    const second = await merge(join(tmp, "exp"), "--out", out);
    const err = new TextDecoder().decode(second.stderr);
    assert.equal(second.code, 1, err);
    const now = await Deno.readTextFile(out);
    assert.ok(now === good, `the old merged.csv, whole: ${now.length} of ${good.length} bytes`);
    assert.match(err, /Cannot write .*merged\.csv.*No space left on device/);
    const names = [...Deno.readDirSync(disk)].map((e) => e.name).sort();
    assert.deepEqual(names, ["filler", "merged.csv"]);
  } finally {
    await new Deno.Command("umount", { args: [disk] }).output();
    await Deno.remove(disk, { recursive: true }).catch(() => {});
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("merge refuses Infinity, overflow, negatives and hex in requests.csv, naming file, row and column", async () => {
  const tmp = await Deno.makeTempDir();
  try {
    const [run] = await writeSyntheticExperiment(join(tmp, "exp"), {
      topologies: ["agg"],
      ratesRps: [1],
      requestsPerRate: 5,
    });
    const csv = join(run, "requests.csv");
    const good = await Deno.readTextFile(csv);
    const head = good.split("\n")[0].split(",");
    const bad = [["end_ms", "1e309"], ["e2e_ms", "Infinity"], ["sent_ms", "-1"], [
      "prompt_tokens",
      "0x1F",
    ]];
    for (const [col, v] of bad) {
      const lines = good.split("\n");
      const cells = lines[3].split(",");
      cells[head.indexOf(col)] = v;
      lines[3] = cells.join(",");
      await Deno.writeTextFile(csv, lines.join("\n"));
      const r = await merge(join(tmp, "exp"), "--out", join(tmp, "merged.csv"));
      const err = new TextDecoder().decode(r.stderr);
      assert.equal(r.code, 1, `${col}=${v}: ${err}`);
      assert.match(
        err,
        new RegExp(
          `Cannot use column ${col} in .*requests\\.csv:4 as a number: current value is "${v}"`,
        ),
      );
    }
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
