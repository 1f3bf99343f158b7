/**
 * Runs `deno ARGS` in the checkout as a user types it, for tests of the
 * command-line tasks: exit code, stdout and stderr as text.
 *
 * @module
 */
import { ROOT } from "./_experiment.ts";

/** What a finished command printed and returned. */
export interface DenoOutput {
  code: number;
  stdout: string;
  stderr: string;
}

/** `deno ...args` with the repository root as working directory. */
export async function runDeno(args: string[], cwd = ROOT): Promise<DenoOutput> {
  const out = await new Deno.Command(Deno.execPath(), {
    args,
    cwd,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
}
