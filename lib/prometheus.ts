/**
 * Prometheus text exposition (format 0.0.4), both ways: a writer for the
 * engine's and the router's `/metrics` (families with `# HELP` and `# TYPE`,
 * samples, cumulative histograms) and a parser for what a scraper reads.
 *
 * @example
 * ```ts
 * const h = new Histogram([0.1, 1]);
 * h.observe(0.5);
 * const text = new PromText()
 *   .family("x_seconds", "histogram", "Some latency.")
 *   .histogram("x_seconds", 'leg="a"', h)
 *   .text();
 * parsePrometheus(text); // x_seconds_bucket{leg="a",le="0.1"} 0, … x_seconds_count{leg="a"} 1
 * ```
 *
 * @module
 */

/** A metric family's type. */
export type PromType = "counter" | "gauge" | "histogram";

/** One series value of the exposition text. */
export interface Sample {
  /** The series name, e.g. `vllm:num_requests_running` or `x_bucket`. */
  metric: string;
  /** The label text between the braces, as written (`model_name="x",engine="0"`); "" for none. */
  labels: string;
  value: number;
}

/** Formats a bucket bound as the Python Prometheus client does (`1.0`, `0.25`). */
export function pythonFloat(v: number): string {
  return Number.isInteger(v) ? v.toFixed(1) : String(v);
}

/** Escapes a label value (backslash, double quote, newline). */
export function escapeLabel(s: string): string {
  return s.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

/** A cumulative histogram over fixed bucket bounds (a value counts in the first bound ≥ it). */
export class Histogram {
  /** Per-bucket counts (not cumulative). */
  readonly counts: number[];
  sum = 0;
  count = 0;
  /** The `le` label text of each bound. */
  readonly #le: string[];

  /**
   * @param bounds upper bounds, ascending
   * @param boundText how a bound is written as `le` @default pythonFloat
   */
  constructor(readonly bounds: readonly number[], boundText: (v: number) => string = pythonFloat) {
    this.counts = new Array(bounds.length).fill(0);
    this.#le = bounds.map(boundText);
  }

  /** Records one value. */
  observe(value: number): void {
    this.observeN(value, 1);
  }

  /** Records `n` equal values at once (one step's gap for all its decodes). */
  observeN(value: number, n: number): void {
    this.sum += value * n;
    this.count += n;
    for (let i = 0; i < this.bounds.length; i++) {
      if (value <= this.bounds[i]) {
        this.counts[i] += n;
        return;
      }
    }
  }

  /** The series lines under `name` (`_bucket` per bound and `+Inf`, `_sum`, `_count`). */
  lines(name: string, labels: string): string[] {
    const pre = labels ? `${labels},` : "";
    const out: string[] = [];
    let cum = 0;
    for (let i = 0; i < this.#le.length; i++) {
      cum += this.counts[i];
      out.push(`${name}_bucket{${pre}le="${this.#le[i]}"} ${cum}`);
    }
    out.push(`${name}_bucket{${pre}le="+Inf"} ${this.count}`);
    out.push(seriesLine(`${name}_sum`, labels, this.sum));
    out.push(seriesLine(`${name}_count`, labels, this.count));
    return out;
  }
}

/** One sample line: `name{labels} value`, or `name value` without labels. */
function seriesLine(name: string, labels: string, value: number): string {
  return labels ? `${name}{${labels}} ${value}` : `${name} ${value}`;
}

/** Exposition text, built family by family. */
export class PromText {
  readonly #lines: string[] = [];

  /** Opens a family: its `# HELP` and `# TYPE` lines (also for a family with no series yet). */
  family(name: string, type: PromType, help: string): this {
    this.#lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    return this;
  }

  /** One counter or gauge sample. */
  sample(name: string, labels: string, value: number): this {
    this.#lines.push(seriesLine(name, labels, value));
    return this;
  }

  /** A histogram's series. */
  histogram(name: string, labels: string, h: Histogram): this {
    this.#lines.push(...h.lines(name, labels));
    return this;
  }

  /** The text: one line each, ending in a newline. */
  text(): string {
    return this.#lines.join("\n") + "\n";
  }
}

const SERIES = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/;

/**
 * Parses exposition text into its samples, in order: comments, blank lines,
 * lines that are not a series and values that are not numbers (`NaN` is one)
 * are skipped; a trailing timestamp is ignored.
 */
export function parsePrometheus(text: string): Sample[] {
  const out: Sample[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    const m = SERIES.exec(line);
    if (!m) continue;
    const value = Number(m[3]);
    if (Number.isNaN(value) && m[3] !== "NaN") continue;
    out.push({ metric: m[1], labels: m[2] ?? "", value });
  }
  return out;
}

/** Exposition text as a map from `name{labels}` (or `name`) to value. */
export function seriesMap(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const s of parsePrometheus(text)) {
    out.set(s.labels ? `${s.metric}{${s.labels}}` : s.metric, s.value);
  }
  return out;
}
