import assert from "node:assert/strict";
import { ValueLog } from "./value_log.ts";
import { describe } from "./stats.ts";

/** The names of this process's temporary value files still on disk. */
function leftFiles(dir: string): string[] {
  return [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) =>
    n.startsWith("topobench-values-")
  );
}

Deno.test("ValueLog: values past memory go to a temporary file and come back in order, described exactly", () => {
  const tmp = Deno.makeTempDirSync();
  const before = Deno.env.get("TMPDIR");
  Deno.env.set("TMPDIR", tmp); // where the log makes its file
  try {
    const log = new ValueLog({ chunkValues: 100, memoryValues: 250 });
    const xs = Float64Array.from({ length: 1234 }, (_, i) => ((i * 7919) % 1000) / 7 - 20);
    for (let i = 0; i < 600; i++) log.push(xs[i]);
    assert.equal(log.spilled, true);
    for (let i = 600; i < xs.length; i++) log.push(xs[i]);
    assert.equal(log.length, xs.length);
    // unlinked at once: nothing of it on disk, even while in use
    assert.deepEqual(leftFiles(tmp), []);
    const back: number[] = [];
    for (const c of log.chunks()) back.push(...c);
    assert.deepEqual(back, [...xs]);
    assert.deepEqual(log.describe([50, 99, 99.9]), describe(xs, [50, 99, 99.9]));
    // read back twice (each percentile pass reads it again): the same
    assert.deepEqual(log.describe(), describe(xs));
    log.close();
    assert.equal(log.length, 0);
  } finally {
    if (before === undefined) Deno.env.delete("TMPDIR");
    else Deno.env.set("TMPDIR", before);
    Deno.removeSync(tmp, { recursive: true });
  }
});

Deno.test("ValueLog: a few values stay in memory; bad sizes are refused", () => {
  const log = new ValueLog({ chunkValues: 4, memoryValues: 16 });
  for (let i = 0; i < 10; i++) log.push(10 - i);
  assert.equal(log.spilled, false);
  assert.equal(log.describe().median, 5.5);
  assert.equal(new ValueLog().describe().count, 0);
  assert.throws(() => new ValueLog({ chunkValues: 0 }), /chunkValues.*current value is 0/);
  assert.throws(() => new ValueLog({ memoryValues: 1.5 }), RangeError);
});

Deno.test("ValueLog: where no temporary file can be made, values stay in memory and are still right", () => {
  const before = Deno.env.get("TMPDIR");
  Deno.env.set("TMPDIR", "/nonexistent/topobench-no-such-dir");
  try {
    const log = new ValueLog({ chunkValues: 10, memoryValues: 20 });
    const xs = Float64Array.from({ length: 95 }, (_, i) => (i * 37) % 95);
    for (const x of xs) log.push(x);
    assert.equal(log.spilled, false);
    assert.match(String(log.spillError), /nonexistent|No such file/);
    assert.equal(log.length, 95);
    assert.deepEqual(log.describe(), describe(xs));
  } finally {
    if (before === undefined) Deno.env.delete("TMPDIR");
    else Deno.env.set("TMPDIR", before);
  }
});

Deno.test("ValueLog: pushAll appends as push does, across chunk boundaries and the spill", () => {
  const xs = Float64Array.from({ length: 777 }, (_, i) => (i % 13) - 6.5);
  const one = new ValueLog({ chunkValues: 64, memoryValues: 200 });
  const all = new ValueLog({ chunkValues: 64, memoryValues: 200 });
  try {
    for (const x of xs) one.push(x);
    for (let k = 0; k < xs.length; k += 50) {
      all.pushAll(xs.subarray(k), Math.min(50, xs.length - k));
    }
    const read = (log: ValueLog) => [...log.chunks()].flatMap((c) => [...c]);
    assert.deepEqual(read(all), read(one));
    assert.deepEqual(all.describe(), one.describe());
  } finally {
    one.close();
    all.close();
  }
});

Deno.test("ValueLog: described exactly past 65,536 distinct values, and after close as new", () => {
  const xs = Float64Array.from({ length: 70_000 }, (_, i) => ((i * 7919) % 70_001) / 3 - 100);
  const log = new ValueLog({ chunkValues: 4096, memoryValues: 1 << 20 });
  try {
    for (let k = 0; k < xs.length; k += 300) log.pushAll(xs.subarray(k, k + 300));
    assert.deepEqual(log.describe(), describe(xs));
    log.close();
    const ys = [3, -0, 0, 2.5, NaN, 1, 2.5];
    for (const y of ys) log.push(y);
    assert.deepEqual(log.describe([10, 50]), describe(ys, [10, 50]));
  } finally {
    log.close();
  }
});
