/**
 * `deno task bundle` builds single files that run outside the checkout: the
 * bundled bench answers --help from a temp folder, the bundled sim serves a
 * request, and the bundled bench measures the bundled sim.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { startReady } from "../../lib/ready_process.ts";
import { bundle, BUNDLES } from "./bundle.ts";

Deno.test("bench.js and sim.js run from a folder outside the repository", async () => {
  const dir = await Deno.makeTempDir({ prefix: "bundle_test_" });
  try {
    const written = await bundle({ outDir: join(dir, "build"), names: ["bench", "sim"] });
    assert.deepEqual(Object.keys(written), ["bench", "sim"]);
    // copy as scp would: only the .js files, run with the temp folder as cwd
    const host = join(dir, "host");
    await Deno.mkdir(host);
    for (const n of ["bench", "sim"]) await Deno.copyFile(written[n], join(host, `${n}.js`));
    const run = (...args: string[]) =>
      new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", ...args],
        cwd: host,
        stdout: "piped",
        stderr: "piped",
        stdin: "null",
      }).output();

    const help = await run("bench.js", "--help");
    assert.equal(help.code, 0, new TextDecoder().decode(help.stderr));
    assert.match(new TextDecoder().decode(help.stdout), /--time-scale/);

    const sim = await startReady({
      cmd: Deno.execPath(),
      args: ["run", "-A", "sim.js", "--port", "0", "--speed", "50"],
      cwd: host,
      ready: /Starting vLLM API server 0 on (http:\/\/\S+)/,
    });
    try {
      const url = sim.match[1];
      const res = await fetch(`${url}/v1/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ prompt: "Hello there", max_tokens: 5, ignore_eos: true }),
      });
      const j = await res.json();
      assert.equal(res.status, 200, JSON.stringify(j));
      assert.equal(j.usage.completion_tokens, 5);

      const b = await run(
        "bench.js",
        ...["--url", url, "--num-requests", "5", "--rate", "inf", "--output-len", "8"],
        ...["--time-scale", "50", "--out", join(host, "res", "x")],
      );
      const stderr = new TextDecoder().decode(b.stderr);
      assert.equal(b.code, 0, stderr);
      const runDir = new TextDecoder().decode(b.stdout).trim().split("\n").at(-1)!;
      const s = JSON.parse(await Deno.readTextFile(join(runDir, "summary.json")))[0];
      assert.equal(s.completed, 5);
      assert.equal(s.total_output_tokens, 40);
    } finally {
      await sim.stop();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("an unknown bundle name is refused before building", async () => {
  await assert.rejects(
    bundle({ outDir: "/nonexistent/never", names: ["bench", "nope"] }),
    (e: Error) =>
      e instanceof RangeError && /--only/.test(e.message) && /"nope"/.test(e.message) &&
      Object.keys(BUNDLES).every((n) => e.message.includes(n)),
  );
});
