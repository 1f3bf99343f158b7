/**
 * The settings of `deno task bench`, each declared once: its flag (with
 * vLLM's `vllm bench serve` spellings as aliases), help, default, how its
 * value is read and checked, and the config field it fills. The server and
 * load settings are here; the workload's and the run's are in
 * `_workload_settings.ts` and `_run_settings.ts`. `bench_config.ts`
 * resolves them; `_config_checks.ts` checks those that constrain each other.
 *
 * @module
 */
import { RAMPS } from "./workload/arrivals.ts";
import { num, oneOf, readerOf, type SettingTable, text } from "./_setting_table.ts";
import {
  arrival,
  baseUrl,
  burstiness,
  endpointPath,
  rate,
  rateBursts,
} from "./_setting_readers.ts";
import { WORKLOAD_SETTINGS } from "./_workload_settings.ts";
import { RUN_SETTINGS } from "./_run_settings.ts";

/** Server, rate, schedule and ramp. */
const LOAD_SETTINGS = {
  url: {
    field: "url",
    read: baseUrl,
    help: "Server base URL, e.g. http://127.0.0.1:8000",
    aliases: ["base-url"],
  },
  endpoint: {
    field: "endpoint",
    read: endpointPath,
    default: "/v1/completions",
    help:
      "/v1/completions, /v1/chat/completions, any other path (with --request-body-template) or a full URL",
  },
  model: {
    field: "model",
    read: text,
    help: "Model name (default: first id of /v1/models)",
  },
  config: { help: "Workload YAML with the same options (flags override it)" },
  rate: {
    field: "rateRps",
    read: rate,
    default: "inf",
    aliases: ["request-rate"],
    help:
      "Offered rate: requests/s, or conversations/s on multi-turn datasets; inf sends all at once",
  },
  duration: {
    field: "durationS",
    read: num({ min: 0.001 }),
    help: "Send for this many seconds",
  },
  "num-requests": {
    field: "numRequests",
    read: num({ integer: true, min: 1 }),
    aliases: ["num-prompts"],
    help: "Send this many requests (conversations for multiturn)",
  },
  concurrency: {
    field: "concurrency",
    read: num({ integer: true, min: 1 }),
    aliases: ["max-concurrency"],
    help: "Closed loop with rate inf, else a cap on in-flight requests",
  },
  arrival: {
    field: "arrival",
    read: arrival,
    default: "poisson",
    help: "Inter-arrival process: poisson, gamma, constant",
  },
  burstiness: {
    field: "burstiness",
    read: burstiness,
    default: "1",
    help: "Gamma shape: 1 Poisson, <1 burstier, >1 smoother",
  },
  ramp: {
    field: "ramp",
    read: oneOf(RAMPS),
    default: "none",
    help: "Rate ramp: none, linear, exponential (from --rate to --ramp-to)",
  },
  "ramp-to": {
    field: "rampToRps",
    read: num({ min: 0.001 }),
    help: "Rate at the end of the ramp",
  },
  "ramp-duration": {
    field: "rampDurationS",
    read: num({ min: 0.001 }),
    help: "Ramp length in seconds (default: --duration)",
  },
  "rate-burst": {
    field: "rateBursts",
    read: rateBursts,
    help:
      "Rate bursts at:duration:factor[,...] (s, s, x): the rate x factor from at for duration (a scenario's burst event)",
  },
} as const satisfies SettingTable;

/** Every bench setting, in `--help` order. */
export const BENCH_SETTINGS = { ...LOAD_SETTINGS, ...WORKLOAD_SETTINGS, ...RUN_SETTINGS };

/** Reads one bench setting with its own reader. */
export const setting = readerOf(BENCH_SETTINGS);
