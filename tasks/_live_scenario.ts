/**
 * A scenario's events on the live clock: the supervisor's side. At each
 * event's time (server seconds from the load start, divided by the sim's
 * speed) the process the topology's state file tracks for the target gets its
 * signal, by process group, never by name: `kill` SIGKILL, `stop` SIGTERM,
 * `pause` SIGSTOP (and SIGCONT after its duration), `resume` SIGCONT. Bench
 * starts its load at an agreed instant (`--start-at`), so the events line up
 * with the rows. `start` starts the next spare of its role that `up` planned
 * and held back (`launch/_spares.ts`): its process group joins the state
 * file, so `down` stops it with the rest. Meanwhile the router's `/status` is
 * polled: when it takes an instance out, puts it back or first routes to a
 * new one is recorded as it saw it, and the in-flight legs per instance are
 * sampled each second. `slow` runs in virtual time only, for now.
 *
 * @module
 */
import { join } from "node:path";
import { killGroup, Supervisor } from "../lib/supervisor.ts";
import { isPortFree } from "../lib/net.ts";
import { errorMessage } from "../lib/errors.ts";
import { type ScenarioEvent, targetText } from "../lib/scenario_events.ts";
import { type InstanceRecord, scenarioFindings, scenarioReport } from "../lib/scenario_metrics.ts";
import { readRequestCsv } from "../lib/request_csv.ts";
import { writeJsonAtomic } from "../lib/write_file.ts";
import type { Slo } from "../lib/metrics.ts";
import { type StateProcess, type TopologyState, writeState } from "../launch/_state.ts";

/** Seconds bench gets to load its workload before the agreed start. */
export const START_LEAD_MS = 4000;

const SIGNALS = { kill: "SIGKILL", stop: "SIGTERM", pause: "SIGSTOP", resume: "SIGCONT" } as const;

/** Throws unless every event of `events` can run live (signals, starts, bursts). */
export function checkLiveEvents(events: readonly ScenarioEvent[], file: string): void {
  const bad = events.find((e) => e.action === "slow");
  if (bad) {
    throw new RangeError(
      `Cannot run events action ${bad.action} in ${file} on the live clock: current value is ${bad.action}; allowed live: kill, stop, pause, resume, start, burst (run it in virtual time: deno task predict)`,
    );
  }
}

/** The spares `up` must plan for the `start` events of `events`, per role block. */
export function liveSpares(events: readonly ScenarioEvent[]): Record<string, number> {
  const n: Record<string, number> = {};
  for (const e of events) {
    if (e.action === "start") n[e.target!.role] = (n[e.target!.role] ?? 0) + 1;
  }
  return n;
}

/** A scenario under way on the live clock. */
export interface LiveScenario {
  /** The load's start, Unix ms (bench's `--start-at`). */
  startAtMs: number;
  /** Stops the timers and the polling; returns what happened. */
  stop(): Promise<{ records: InstanceRecord[]; samples: unknown[] }>;
}

/**
 * Starts `events` against the processes of `state`; `timeScale` is the sim's
 * speed; `stateDir` holds the state file (a started spare is written there).
 */
export function startLiveScenario(
  state: TopologyState,
  events: readonly ScenarioEvent[],
  o: { timeScale: number; log: (m: string) => void; stateDir?: string },
): LiveScenario {
  const startAtMs = Date.now() + START_LEAD_MS;
  const serverMs = () => (Date.now() - startAtMs) * o.timeScale;
  const records: InstanceRecord[] = [];
  const samples: unknown[] = [];
  const timers: ReturnType<typeof setTimeout>[] = [];
  const signal = (name: string, sig: Deno.Signal, detail: string) => {
    const p = state.processes.find((x) => x.name === name);
    if (!p) throw new RangeError(`Cannot signal ${name}: current value is no such process`);
    killGroup(p.pgid, sig);
    records.push({ tMs: serverMs(), instance: name, what: "event", detail });
    o.log(`scenario: ${sig} to ${name} (process group ${p.pgid}): ${detail}`);
  };
  const at = (s: number, fn: () => void) =>
    timers.push(setTimeout(fn, Math.max(0, startAtMs + s * 1000 / o.timeScale - Date.now())));
  const start = (e: ScenarioEvent) =>
    startSpare(state, e, o.stateDir).then(
      (p) => {
        records.push({
          tMs: serverMs(),
          instance: p.name,
          what: "event",
          detail: `${e.atS} s start ${e.target!.role}`,
        });
        o.log(`scenario: started ${p.name} (process group ${p.pgid}) on ${p.url}`);
      },
      (err) => o.log(`scenario: cannot start a ${e.target!.role} instance: ${errorMessage(err)}`),
    );
  for (const e of events) {
    if (e.action === "burst" || !e.target) continue;
    if (e.action === "start") {
      at(e.atS, () => void start(e));
      continue;
    }
    const name = `${e.target.role === "replicas" ? "replica" : e.target.role}-${e.target.index}`;
    const what = `${e.atS} s ${e.action} ${targetText(e.target)}`;
    at(e.atS, () => signal(name, SIGNALS[e.action as keyof typeof SIGNALS], what));
    if (e.action === "pause" && e.durationS !== null) {
      at(e.atS + e.durationS, () => signal(name, "SIGCONT", `${what}: resumed`));
    }
  }
  const poll = state.routerUrl
    ? pollRouter(
      state.routerUrl,
      serverMs,
      records,
      samples,
      (url) => [...state.processes, ...(state.spares ?? [])].find((p) => p.url === url)?.name,
    )
    : null;
  return {
    startAtMs,
    async stop() {
      timers.forEach(clearTimeout);
      await poll?.stop();
      return { records, samples };
    },
  };
}

/**
 * Polls the router's `/status` every 200 ms: health changes as records (a
 * backend's first time in rotation after the first poll: `joined`, and its
 * first leg: `first_leg`), in-flight legs each second. `nameOf` names a
 * backend by its URL as the state file does (a registered one is
 * `decode@host:port` to the router).
 */
function pollRouter(
  url: string,
  serverMs: () => number,
  records: InstanceRecord[],
  samples: unknown[],
  nameOf: (url: string) => string | undefined,
) {
  const healthy = new Map<string, boolean>();
  /** Backends that joined while we watched, until their first leg. */
  const joined = new Set<string>();
  let stopped = false, nextSampleMs = 0, polls = 0;
  const loop = (async () => {
    while (!stopped) {
      try {
        const res = await fetch(`${url}/status`, { signal: AbortSignal.timeout(1000) });
        const st = await res.json() as {
          backends: {
            name: string;
            url: string;
            healthy: boolean;
            inFlight: number;
            served: number;
          }[];
        };
        const t = serverMs();
        const record = (instance: string, what: InstanceRecord["what"], detail: string) =>
          records.push({ tMs: t, instance, what, detail });
        for (const b of st.backends) {
          const name = nameOf(b.url) ?? b.name;
          const was = healthy.get(name);
          if (
            b.healthy && !was && polls > 0 &&
            !records.some((r) => r.instance === name && r.what !== "event")
          ) {
            record(name, "joined", "router /status");
            joined.add(name);
          } else if (was !== undefined && was !== b.healthy) {
            record(name, b.healthy ? "restored" : "ejected", "router /status");
          }
          if (joined.has(name) && b.inFlight + b.served > 0) {
            record(name, "first_leg", "router /status: a leg on it");
            joined.delete(name);
          }
          healthy.set(name, b.healthy);
        }
        polls++;
        if (t >= nextSampleMs && t >= 0) {
          nextSampleMs = (Math.floor(t / 1000) + 1) * 1000;
          const instances: Record<string, number[]> = {};
          for (const b of st.backends) {
            instances[nameOf(b.url) ?? b.name] = [b.inFlight, 0, b.healthy ? 1 : 0];
          }
          samples.push({ tS: Math.round(t / 1000), instances });
        }
      } catch { /* the router is busy or gone: try again */ }
      await new Promise((r) => setTimeout(r, 200));
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      await loop;
    },
  };
}

/**
 * Starts the next spare of `e`'s role in `state` (its ports checked free
 * first) in its own process group, moves it to the state's processes and
 * writes the state file (`down` stops it with the rest).
 */
async function startSpare(
  state: TopologyState,
  e: ScenarioEvent,
  stateDir: string | undefined,
): Promise<StateProcess> {
  const role = e.target!.role;
  const i = (state.spares ?? []).findIndex((s) => s.role === role);
  if (i < 0) {
    throw new RangeError(
      `Cannot start one more ${role} instance of ${state.name}: current value is no spare left; allowed: as many start events per role as up planned spares (the pipeline plans one per event)`,
    );
  }
  const s = state.spares![i];
  for (const port of s.ports) {
    if (!(await isPortFree(port))) {
      throw new RangeError(`Cannot start ${s.name} on port ${port}: current value is in use`);
    }
  }
  const sup = new Supervisor();
  const m = sup.spawn({ ...s, detached: true });
  sup.removeHandlers();
  state.spares!.splice(i, 1);
  const p: StateProcess = {
    name: s.name,
    role: s.role,
    pid: m.pid,
    pgid: m.pgid,
    url: s.url,
    healthUrl: s.healthUrl,
    ports: s.ports,
    logPath: s.logPath,
    command: s.command,
  };
  state.processes.push(p);
  if (stateDir) await writeState(stateDir, state);
  return p;
}

/** Writes `scenario.json` of a live run from its rows and what the scenario recorded. */
export async function writeLiveScenario(
  runDir: string,
  x: {
    events: readonly ScenarioEvent[];
    records: InstanceRecord[];
    samples: unknown[];
    slo: Slo;
    targetPct: number;
    durationMs?: number;
  },
): Promise<string[]> {
  const rows = readRequestCsv(await Deno.readFile(join(runDir, "requests.csv")), runDir);
  const report = scenarioReport({ ...x, rows });
  const findings = scenarioFindings(report);
  await writeJsonAtomic(join(runDir, "scenario.json"), {
    clock: "live",
    ...report,
    findings,
    instances: x.samples,
  });
  return findings;
}
