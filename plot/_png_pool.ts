/**
 * Rasterizes SVG to PNG (resvg: synchronous, most of a figure's time) on every
 * core: jobs wait in a queue, each idle worker takes the next one, and
 * {@linkcode PngPool.finish} lets the calling thread take queued jobs too once
 * it has nothing else to do.
 *
 * @module
 */
import { svgToPng } from "./raster.ts";
import type { PngAnswer, PngJob } from "./_png_worker.ts";

interface Job extends PngJob {
  resolve: (png: Uint8Array) => void;
  reject: (e: Error) => void;
}

/** A PNG rasterizing pool of `size` workers plus the calling thread. */
export class PngPool {
  #idle: Worker[] = [];
  #all: Worker[] = [];
  #queue: Job[] = [];
  #running = new Map<number, Job>();
  #next = 0;

  /** @param size number of workers @default the core count, 1 to 4 */
  constructor(size = Math.min(4, Math.max(1, navigator.hardwareConcurrency || 1))) {
    if (!(Number.isInteger(size) && size >= 0)) {
      throw new RangeError(`Cannot use size as a worker count (>= 0): current value is ${size}`);
    }
    for (let i = 0; i < size; i++) {
      const w = new Worker(new URL("./_png_worker.ts", import.meta.url).href, { type: "module" });
      w.onmessage = (e: MessageEvent<PngAnswer>) => {
        const job = this.#running.get(e.data.id);
        this.#running.delete(e.data.id);
        this.#idle.push(w);
        if (job) {
          if ("png" in e.data) job.resolve(e.data.png);
          else job.reject(new Error(e.data.error));
        }
        this.#pump();
      };
      w.onerror = (e: ErrorEvent) => {
        e.preventDefault();
        this.#fail(new Error(`PNG worker failed: ${e.message}`));
      };
      this.#all.push(w);
      this.#idle.push(w);
    }
  }

  #fail(e: Error) {
    for (const j of [...this.#running.values(), ...this.#queue]) j.reject(e);
    this.#running.clear();
    this.#queue = [];
  }

  #pump() {
    while (this.#idle.length && this.#queue.length) {
      const w = this.#idle.pop()!;
      const job = this.#queue.shift()!;
      this.#running.set(job.id, job);
      w.postMessage({ id: job.id, svg: job.svg, scale: job.scale } satisfies PngJob);
    }
  }

  /** The PNG of `svg` at pixel `scale`. */
  render(svg: string, scale = 2): Promise<Uint8Array> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ id: this.#next++, svg, scale, resolve, reject });
      this.#pump();
    });
  }

  /** Rasterizes queued jobs on this thread until none is left to start. */
  async finish(): Promise<void> {
    while (this.#queue.length) {
      const job = this.#queue.shift()!;
      try {
        job.resolve(svgToPng(job.svg, { scale: job.scale }));
      } catch (e) {
        job.reject(e instanceof Error ? e : new Error(String(e)));
      }
      await new Promise((r) => setTimeout(r, 0)); // let finished workers take the next job
    }
  }

  /** Ends the workers; jobs not done are rejected. */
  close(): void {
    for (const w of this.#all) w.terminate();
    this.#fail(new Error("PNG pool closed"));
  }
}
