/**
 * The engine settings of a recorded run that its file does not hold (a vLLM
 * bench JSON, a topobench run directory): taken from the command line, else
 * from the defaults the caller gives (vLLM's), each choice written down as a
 * note so the report says where every setting came from.
 *
 * @module
 */

/** The settings a replay needs. */
export interface EngineSettings {
  maxNumSeqs: number;
  maxNumBatchedTokens: number;
  tensorParallelSize: number;
}

/** Default engine settings and where they come from. */
export type Defaults = EngineSettings & { source: string };

/** Options of the readers of `lib/recorded_run.ts`. */
export interface RecordedReadOptions {
  /** Settings from the command line: they win over the recording's own. */
  given?: Partial<EngineSettings> & { model?: string };
  /**
   * Settings for what neither the recording nor `given` says, and where they
   * come from; a function is called only when a setting is missing (it may throw).
   */
  defaults?: Defaults | (() => Defaults);
  /** Read a run recorded against the simulated engine (validating it against itself). @default false */
  allowSimulated?: boolean;
}

const FLAG: Record<keyof EngineSettings, string> = {
  maxNumSeqs: "--max-num-seqs",
  maxNumBatchedTokens: "--max-num-batched-tokens",
  tensorParallelSize: "--tp",
};

/**
 * Each setting from `given`, else `known` (the recording's), else the
 * defaults; pushes one note naming the settings that came from flags and one
 * naming those that came from the defaults. Throws when a setting has no source.
 */
export function settleSettings(
  known: Partial<EngineSettings>,
  o: RecordedReadOptions,
  notes: string[],
  file: string,
): EngineSettings {
  const out = {} as EngineSettings;
  const fromFlags: string[] = [];
  const fromDefaults: string[] = [];
  let d: Defaults | undefined;
  const defaults = () => d ??= typeof o.defaults === "function" ? o.defaults() : o.defaults;
  for (const k of Object.keys(FLAG) as (keyof EngineSettings)[]) {
    const g = o.given?.[k];
    if (g !== undefined) {
      if (known[k] !== undefined && known[k] !== g) {
        fromFlags.push(`${FLAG[k]} ${g} (recorded ${known[k]})`);
      } else if (known[k] === undefined) fromFlags.push(`${FLAG[k]} ${g}`);
      out[k] = g;
    } else if (known[k] !== undefined) out[k] = known[k]!;
    else if (o.defaults) {
      out[k] = defaults()![k];
      fromDefaults.push(`${FLAG[k]} ${out[k]}`);
    } else {
      throw new RangeError(
        `Cannot read the engine settings of ${file}: current value has no ${k}; allowed: give ${
          FLAG[k]
        }`,
      );
    }
  }
  if (fromFlags.length) {
    notes.push(`engine settings from the command line: ${fromFlags.join(", ")}`);
  }
  if (fromDefaults.length) {
    notes.push(
      `engine settings not in the recording, ${defaults()!.source}: ${fromDefaults.join(", ")}`,
    );
  }
  return out;
}

/**
 * The engine of a client-side recording (a vLLM bench JSON, a client request
 * log): one engine of `model` with the settled settings, no data or expert
 * parallelism (neither file can say otherwise).
 */
export function oneEngineMeta(model: string, s: EngineSettings) {
  return {
    model,
    tensorParallelSize: s.tensorParallelSize,
    dataParallelSize: 1,
    expertParallel: false,
    maxNumSeqs: s.maxNumSeqs,
    maxNumBatchedTokens: s.maxNumBatchedTokens,
  };
}
