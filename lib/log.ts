/**
 * A logger for people, on stderr, with vLLM's line head
 * (`INFO 11-22 14:03:07 [name] message`) so our logs parse like vLLM's.
 *
 * @module
 */
import { fieldError } from "./errors.ts";

/** Log levels, lowest first. */
export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;
/** One of {@linkcode LOG_LEVELS}. */
export type LogLevel = typeof LOG_LEVELS[number];

/** A logger. */
export interface Logger {
  level: LogLevel;
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

/** Options of {@linkcode createLogger}. */
export interface LoggerOptions {
  /** Shown in brackets on every line. */
  name: string;
  /** Lowest level written. @default "info" */
  level?: LogLevel;
  /** Where lines go. @default a line on stderr */
  write?: (line: string) => void;
}

/** Checks a log level name; case-insensitive, and vLLM's `WARNING` reads as `warn`. */
export function parseLogLevel(s: string): LogLevel {
  const l = String(s).toLowerCase();
  const level = l === "warning" ? "warn" : l;
  if (!(LOG_LEVELS as readonly string[]).includes(level)) {
    throw fieldError({
      field: "--log-level",
      value: s,
      expected: `one of ${LOG_LEVELS.join(", ")}`,
    });
  }
  return level as LogLevel;
}

const p2 = (n: number) => String(n).padStart(2, "0");

/** `MM-DD HH:MM:SS` in local time, as vLLM prints it. */
export function logTime(d = new Date()): string {
  return `${p2(d.getMonth() + 1)}-${p2(d.getDate())} ${p2(d.getHours())}:${p2(d.getMinutes())}:${
    p2(d.getSeconds())
  }`;
}

const enc = new TextEncoder();

/** Creates a logger. */
export function createLogger(o: LoggerOptions): Logger {
  const write = o.write ?? ((line: string) => Deno.stderr.writeSync(enc.encode(line + "\n")));
  const logger: Logger = {
    level: o.level ?? "info",
    debug: (m) => emit("debug", m),
    info: (m) => emit("info", m),
    warn: (m) => emit("warn", m),
    error: (m) => emit("error", m),
  };
  function emit(level: LogLevel, msg: string) {
    if (LOG_LEVELS.indexOf(level) < LOG_LEVELS.indexOf(logger.level)) return;
    const head = level === "warn" ? "WARNING" : level.toUpperCase();
    write(`${head} ${logTime()} [${o.name}] ${msg}`);
  }
  return logger;
}
