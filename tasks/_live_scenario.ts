/**
 * A scenario's events on the live clock: the supervisor's side. At each
 * event's time (server seconds from the load start, divided by the sim's
 * speed) the process the topology's state file tracks for the target gets its
 * signal, by process group, never by name: `kill` SIGKILL, `stop` SIGTERM,
 * `pause` SIGSTOP (and SIGCONT after its duration), `resume` SIGCONT. Bench
 * starts its load at an agreed instant (`--start-at`), so the events line up
 * with the rows. Meanwhile the router's `/status` is polled: when it takes an
 * instance out or puts it back is recorded as it saw it, and the in-flight
 * legs per instance are sampled each second. `start` and `slow` run in
 * virtual time only, for now.
 *
 * @module
 */
import { join } from "node:path";
import { killGroup } from "../lib/supervisor.ts";
import { type ScenarioEvent, targetText } from "../lib/scenario_events.ts";
import { type InstanceRecord, scenarioFindings, scenarioReport } from "../lib/scenario_metrics.ts";
import { readRequestCsv } from "../lib/request_csv.ts";
import { writeJsonAtomic } from "../lib/write_file.ts";
import type { Slo } from "../lib/metrics.ts";
import type { TopologyState } from "../launch/_state.ts";

/** Seconds bench gets to load its workload before the agreed start. */
export const START_LEAD_MS = 4000;

const SIGNALS = { kill: "SIGKILL", stop: "SIGTERM", pause: "SIGSTOP", resume: "SIGCONT" } as const;

/** Throws unless every event of `events` can run live (signals, bursts). */
export function checkLiveEvents(events: readonly ScenarioEvent[], file: string): void {
  const bad = events.find((e) => e.action === "start" || e.action === "slow");
  if (bad) {
    throw new RangeError(
      `Cannot run events action ${bad.action} in ${file} on the live clock: current value is ${bad.action}; allowed live: kill, stop, pause, resume, burst (run it in virtual time: deno task predict)`,
    );
  }
}

/** A scenario under way on the live clock. */
export interface LiveScenario {
  /** The load's start, Unix ms (bench's `--start-at`). */
  startAtMs: number;
  /** Stops the timers and the polling; returns what happened. */
  stop(): Promise<{ records: InstanceRecord[]; samples: unknown[] }>;
}

/** Starts `events` against the processes of `state`; `timeScale` is the sim's speed. */
export function startLiveScenario(
  state: TopologyState,
  events: readonly ScenarioEvent[],
  o: { timeScale: number; log: (m: string) => void },
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
  for (const e of events) {
    if (e.action === "burst" || !e.target) continue;
    const name = `${e.target.role === "replicas" ? "replica" : e.target.role}-${e.target.index}`;
    const what = `${e.atS} s ${e.action} ${targetText(e.target)}`;
    at(e.atS, () => signal(name, SIGNALS[e.action as keyof typeof SIGNALS], what));
    if (e.action === "pause" && e.durationS !== null) {
      at(e.atS + e.durationS, () => signal(name, "SIGCONT", `${what}: resumed`));
    }
  }
  const poll = state.routerUrl ? pollRouter(state.routerUrl, serverMs, records, samples) : null;
  return {
    startAtMs,
    async stop() {
      timers.forEach(clearTimeout);
      await poll?.stop();
      return { records, samples };
    },
  };
}

/** Polls the router's `/status` every 200 ms: health changes as records, in-flight legs each second. */
function pollRouter(
  url: string,
  serverMs: () => number,
  records: InstanceRecord[],
  samples: unknown[],
) {
  const healthy = new Map<string, boolean>();
  let stopped = false, nextSampleMs = 0;
  const loop = (async () => {
    while (!stopped) {
      try {
        const res = await fetch(`${url}/status`, { signal: AbortSignal.timeout(1000) });
        const st = await res.json() as {
          backends: { name: string; healthy: boolean; inFlight: number }[];
        };
        const t = serverMs();
        for (const b of st.backends) {
          const was = healthy.get(b.name);
          if (was !== undefined && was !== b.healthy) {
            records.push({
              tMs: t,
              instance: b.name,
              what: b.healthy ? "restored" : "ejected",
              detail: "router /status",
            });
          }
          healthy.set(b.name, b.healthy);
        }
        if (t >= nextSampleMs && t >= 0) {
          nextSampleMs = (Math.floor(t / 1000) + 1) * 1000;
          const instances: Record<string, number[]> = {};
          for (const b of st.backends) instances[b.name] = [b.inFlight, 0, b.healthy ? 1 : 0];
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
