/**
 * `deno task router --config router.json`: the OpenAI-compatible router in
 * front of agg, dp, pd (xPyD), ppd and epd topologies. Prints
 * `Router listening on http://HOST:PORT` on stderr once it serves.
 *
 *     deno run -A launch/router/http/main.ts --config router.json [--host 127.0.0.1] [--port 0]
 *       [--max-connections N] [--header-timeout S] [--body-timeout S] [--idle-timeout S]
 *       [--admin-token T] [--allow-host NAME,...]
 *
 * It sheds load rather than dying (lib/http_server.ts): beyond the connection
 * cap (by default from the open-files limit, two descriptors a client) new
 * connections get 503, slow clients are cut, and running out of descriptors
 * pauses accepting.
 *
 * @module
 */
import { errorMessage } from "../../../lib/errors.ts";
import { type CommandHelp, numberFlag, parseCommand, runMain } from "../../../lib/args.ts";
import { fieldError } from "../../../lib/errors.ts";
import { createLogger, parseLogLevel } from "../../../lib/log.ts";
import { loadRouterConfig } from "../core/config.ts";
import { createRouter } from "./server.ts";
import { serveHttp } from "../../../lib/http_server.ts";
import { guardOptions, SERVE_FLAGS, serveOptions } from "../../../lib/serve_flags.ts";

const FLAGS = {
  config: {
    type: "string" as const,
    help: "Router configuration (router.json)",
    placeholder: "file",
  },
  host: { type: "string" as const, default: "127.0.0.1", help: "Address to listen on" },
  port: { type: "string" as const, default: "0", help: "Port to listen on (0: a free one)" },
  "log-level": {
    type: "string" as const,
    default: "info",
    help: "debug, info, warn or error",
  },
  ...SERVE_FLAGS,
};

const HELP: CommandHelp = {
  cmd: "deno task router",
  summary: "OpenAI-compatible router for topobench.",
};

/** Runs the router until SIGINT/SIGTERM. */
export async function main(args: string[]): Promise<number> {
  const parsed = parseCommand(args, FLAGS, HELP);
  if (!parsed) return 0;
  const { values } = parsed;
  if (typeof values.config !== "string" || values.config === "") {
    throw fieldError({
      field: "--config",
      value: values.config,
      expected: "the path of a router.json file",
      kind: "type",
    });
  }
  const port = numberFlag(values, "port", { min: 0, max: 65535, integer: true })!;
  const host = String(values.host);
  const level = parseLogLevel(String(values["log-level"]));
  const cfg = await loadRouterConfig(values.config);
  const log = createLogger({ name: "router", level });
  // 3 descriptors a client: its own, a leg, and a pooled idle one (a PD prefill leg's)
  const serve = serveOptions(values, 3);
  const router = createRouter(cfg, { log, guard: guardOptions(values, host, Deno.env.toObject()) });
  await router.start();
  const ac = new AbortController();
  const server = serveHttp({
    hostname: host,
    port,
    signal: ac.signal,
    ...serve,
    // lean requests: the handler reads the client's signal, headers and body through rawRequest
    rawRequests: true,
    warn: (m) => log.warn(m),
    onError: (e) => {
      log.warn(`request failed: ${errorMessage(e)}`);
      return new Response("internal error", { status: 500 });
    },
    onListen: (a) => {
      log.info(
        `Router ${cfg.name}: kind=${cfg.kind}${
          cfg.connector ? ` connector=${cfg.connector}` : ""
        } backends=${
          router.pool.all.map((b) => `${b.role}:${b.name}`).join(",")
        } maxConnections=${serve.maxConnections}`,
      );
      const h = host.includes(":") ? `[${host}]` : host;
      Deno.stderr.writeSync(
        new TextEncoder().encode(`Router listening on http://${h}:${a.port}\n`),
      );
    },
  }, router.handler);
  const stop = () => ac.abort();
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
  await server.finished;
  await router.stop();
  const st = server.stats();
  log.info(
    `Router stopped (clients gone mid-answer: ${st.gone}, refused at the cap: ${st.refused})`,
  );
  return 0;
}

if (import.meta.main) await runMain(main);
