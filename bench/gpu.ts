/**
 * `--gpu-monitor`: samples `nvidia-smi --query-gpu=...` in its own loop mode
 * (`-lms`) into `gpu.csv` (`t_ms` since run start, then the query fields).
 * When nvidia-smi is missing or fails, says so once and writes nothing.
 *
 * @module
 */
import { CsvAppender } from "../lib/csv.ts";
import { TextLineStream } from "../lib/_lines.ts";
import { GPU_COLUMNS } from "../lib/result_schema.ts";

const QUERY = "timestamp,index,name,utilization.gpu,memory.used,memory.total,power.draw";

/** Options of {@linkcode startGpuMonitor}. */
export interface GpuMonitorOptions {
  /** Path of gpu.csv. */
  path: string;
  /** @default 1000 */
  intervalMs?: number;
  /** `performance.now()` of run start. */
  originMs: number;
  /** `t_ms` is real ms since `originMs` times this (server time, `--time-scale`). @default 1 */
  timeScale?: number;
  /** Called once with a message when no GPU can be sampled. */
  warn: (msg: string) => void;
  /** @default "nvidia-smi" */
  command?: string;
}

/** A running monitor. */
export interface GpuMonitor {
  /** Samples written so far. */
  readonly samples: number;
  stop(): Promise<void>;
}

/** Starts sampling; never throws (no GPU is reported through `warn`). */
export function startGpuMonitor(o: GpuMonitorOptions): GpuMonitor {
  let child: Deno.ChildProcess;
  const cmd = o.command ?? "nvidia-smi";
  try {
    child = new Deno.Command(cmd, {
      args: [
        `--query-gpu=${QUERY}`,
        "--format=csv,noheader,nounits",
        `-lms`,
        String(o.intervalMs ?? 1000),
      ],
      stdout: "piped",
      stderr: "piped",
      stdin: "null",
    }).spawn();
  } catch (e) {
    o.warn(
      `No GPU found: cannot run ${cmd} (${
        e instanceof Error ? e.message : e
      }); gpu.csv is not written`,
    );
    return { samples: 0, stop: () => Promise.resolve() };
  }
  let csv: CsvAppender | null = null;
  let samples = 0;
  const pump = (async () => {
    const lines = child.stdout.pipeThrough(new TextDecoderStream()).pipeThrough(
      new TextLineStream(),
    );
    for await (const line of lines) {
      const f = line.split(",").map((s) => s.trim());
      if (f.length !== 7) continue;
      csv ??= new CsvAppender(o.path, GPU_COLUMNS);
      csv.append({
        t_ms: (performance.now() - o.originMs) * (o.timeScale ?? 1),
        timestamp: f[0],
        index: f[1],
        name: f[2],
        utilization_gpu_pct: f[3],
        memory_used_mib: f[4],
        memory_total_mib: f[5],
        power_draw_w: f[6],
      });
      samples++;
    }
  })();
  const errText = new Response(child.stderr).text();
  const status = child.status.then(async (st) => {
    await pump.catch(() => {});
    if (samples === 0) {
      o.warn(
        `No GPU found: ${cmd} exited with code ${st.code} (${
          (await errText).trim().slice(0, 200)
        }); gpu.csv is not written`,
      );
    }
  });
  return {
    get samples() {
      return samples;
    },
    async stop() {
      try {
        child.kill("SIGTERM");
      } catch { /* exited */ }
      await status;
      csv?.close();
    },
  };
}
