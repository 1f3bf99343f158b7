/**
 * A long run of numbers (a run's inter-token gaps) kept in order at a flat
 * memory cost: appended into fixed typed chunks, and past `memoryValues` spilled
 * to an unlinked temporary file, after which one chunk is held (nothing is
 * left on disk, even after a crash). Where no file can be written, they stay in
 * memory: the statistics are right either way. Described exactly as one array of them would be
 * (`describeChunks` in `lib/stats.ts`): summed as they come, then read back
 * in one pass (a few past 65,536 distinct values).
 *
 * @module
 */
import { describeSummed, type Distribution } from "./stats.ts";

/** Options of {@linkcode ValueLog}. */
export interface ValueLogOptions {
  /** Values per chunk. @default 65,536 (512 KiB) */
  chunkValues?: number;
  /** Values held in memory before they go to the temporary file. @default 1,048,576 (8 MiB) */
  memoryValues?: number;
}

// closes the file of a log that is dropped without close()
const files = new FinalizationRegistry<Deno.FsFile>((f) => {
  try {
    f.close();
  } catch { /* already closed */ }
});

/** Numbers in order, in typed chunks, spilled to a temporary file past a limit (see the module doc). */
export class ValueLog {
  readonly #chunkValues: number;
  readonly #memoryValues: number;
  #chunk: Float64Array;
  #n = 0;
  /** Full chunks held in memory, after those in the file. */
  #held: Float64Array[] = [];
  #file: Deno.FsFile | null = null;
  /** Values in the file. */
  #spilled = 0;
  #spillError: Error | null = null;
  /** The sum of the values in order, kept as they come. */
  #sum = 0;

  constructor(o: ValueLogOptions = {}) {
    this.#chunkValues = positive(o.chunkValues ?? 1 << 16, "chunkValues");
    this.#memoryValues = positive(o.memoryValues ?? 1 << 20, "memoryValues");
    this.#chunk = new Float64Array(Math.min(1024, this.#chunkValues));
  }

  /** Number of values. */
  get length(): number {
    return this.#spilled + this.#held.length * this.#chunkValues + this.#n;
  }

  /** Whether some values are in the temporary file. */
  get spilled(): boolean {
    return this.#spilled > 0;
  }

  /**
   * Why values stopped going to the temporary file (none could be made, a full
   * disk): from then on they are held in memory; null while all is well.
   */
  get spillError(): Error | null {
    return this.#spillError;
  }

  /** Appends one value. */
  push(x: number): void {
    if (this.#n === this.#chunk.length) this.#grow();
    this.#chunk[this.#n++] = x;
    this.#sum += x;
  }

  /** Appends `xs[0..n)` in order (one call for a request's gaps, not one per value). */
  pushAll(xs: ArrayLike<number>, n = xs.length): void {
    for (let k = 0; k < n;) {
      if (this.#n === this.#chunk.length) this.#grow();
      const chunk = this.#chunk, at = this.#n, m = Math.min(n - k, chunk.length - at);
      // copied and summed in order in one loop (the sum is the first pass describe saves); a
      // subarray and set cost more per call than this loop does per request's gaps
      let sum = this.#sum;
      for (let i = 0; i < m; i++) {
        const x = xs[k + i];
        chunk[at + i] = x;
        sum += x;
      }
      this.#sum = sum;
      this.#n = at + m;
      k += m;
    }
  }

  /** The first chunk grows to its full size (a short run holds little); a full one moves on. */
  #grow(): void {
    if (this.#n === this.#chunkValues) return this.#full();
    const c = new Float64Array(Math.min(2 * this.#n, this.#chunkValues));
    c.set(this.#chunk);
    this.#chunk = c;
  }

  /**
   * The current chunk is full: held while they fit (or when the file failed),
   * else written to the file after the held ones and reused.
   */
  #full(): void {
    const fits = (this.#held.length + 1) * this.#chunkValues <= this.#memoryValues;
    if (!this.#spillError && (this.#file || !fits)) {
      try {
        while (this.#held.length) {
          this.#write(this.#held[0]);
          this.#held.shift();
        }
        this.#write(this.#chunk);
        this.#n = 0;
        return;
      } catch (e) {
        this.#spillError = e instanceof Error ? e : new Error(String(e));
      }
    }
    this.#held.push(this.#chunk);
    this.#chunk = new Float64Array(this.#chunkValues);
    this.#n = 0;
  }

  /** Writes a whole chunk at the end of the file, or nothing of it. */
  #write(c: Float64Array): void {
    const f = this.#file ?? this.#open();
    const bytes = new Uint8Array(c.buffer, c.byteOffset, c.byteLength);
    try {
      f.seekSync(0, Deno.SeekMode.End);
      for (let off = 0; off < bytes.length;) off += f.writeSync(bytes.subarray(off));
    } catch (e) {
      try {
        f.truncateSync(this.#spilled * 8);
      } catch { /* keep the first error */ }
      throw e;
    }
    this.#spilled += c.length;
  }

  #open(): Deno.FsFile {
    const path = Deno.makeTempFileSync({ prefix: "topobench-values-" });
    const f = Deno.openSync(path, { read: true, write: true });
    Deno.removeSync(path); // open but unlinked: the space goes back when it is closed
    files.register(this, f, this);
    return this.#file = f;
  }

  /** All values in order, as chunks; a chunk read from the file is reused once the next is asked for. */
  *chunks(): Generator<Float64Array> {
    if (this.#file) yield* this.#fileChunks(this.#file);
    yield* this.#held;
    if (this.#n) yield this.#chunk.subarray(0, this.#n);
  }

  *#fileChunks(f: Deno.FsFile): Generator<Float64Array> {
    const buf = new Float64Array(this.#chunkValues);
    const bytes = new Uint8Array(buf.buffer);
    f.seekSync(0, Deno.SeekMode.Start);
    for (let left = this.#spilled * 8; left > 0;) {
      const want = Math.min(left, bytes.length);
      for (let got = 0; got < want;) {
        const k = f.readSync(bytes.subarray(got, want));
        if (k === null) {
          throw new Error("Cannot read values back from a temporary file: it ended early");
        }
        got += k;
      }
      left -= want;
      yield buf.subarray(0, want / 8);
    }
  }

  /**
   * Describes the values exactly (see `describeChunks`), in one pass over them
   * (more past 65,536 distinct values): their sum was kept as they came.
   * @default percentiles [50, 90, 95, 99]
   */
  describe(percentiles?: readonly number[]): Distribution {
    return describeSummed(() => this.chunks(), this.length, this.#sum, percentiles);
  }

  /** Frees the temporary file (the log is empty afterwards). */
  close(): void {
    if (this.#file) {
      files.unregister(this);
      try {
        this.#file.close();
      } catch { /* already closed */ }
    }
    this.#file = null;
    this.#spilled = 0;
    this.#held = [];
    this.#n = 0;
    this.#sum = 0;
  }
}

function positive(x: number, field: string): number {
  if (!(Number.isInteger(x) && x > 0)) {
    throw new RangeError(
      `Cannot use ${field} as a count of values of a ValueLog (a whole number > 0): current value is ${x}`,
    );
  }
  return x;
}
