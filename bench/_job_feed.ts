/**
 * The jobs of one load point as they are handed to a sender (`--senders`):
 * an iterator over those come so far, and the driver's `moreJobs` for when
 * none is left yet.
 *
 * @module
 */
import { Deque } from "../lib/deque.ts";
import type { Job } from "./work_source.ts";

/** Jobs handed to one sender, played by the load driver as they come. */
export class JobFeed implements Iterator<Job, void, undefined> {
  readonly #queue = new Deque<Job>();
  #ended = false;
  #wake: (() => void) | null = null;

  /** More jobs, in schedule order; `end`: the last of them. */
  add(jobs: Job[], end: boolean): void {
    for (const j of jobs) this.#queue.push(j);
    if (end) this.#ended = true;
    this.#resume();
  }

  /** No more jobs (the run stopped). */
  end(): void {
    this.#ended = true;
    this.#resume();
  }

  #resume(): void {
    const w = this.#wake;
    this.#wake = null;
    w?.();
  }

  next(): IteratorResult<Job, void> {
    const j = this.#queue.shift();
    return j === undefined ? { done: true, value: undefined } : { done: false, value: j };
  }

  /** The driver's `moreJobs`: resolves when jobs (or the end) came; null once ended. */
  more = (): Promise<void> | null => {
    if (this.#ended && this.#queue.length === 0) return null;
    if (this.#queue.length) return Promise.resolve();
    return new Promise((r) => this.#wake = r);
  };
}
