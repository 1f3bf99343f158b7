/**
 * The live path of the load driver: {@linkcode runLoad} plays a load plan on
 * the wall clock (arrivals woken by a worker thread, sub-millisecond) through
 * the {@linkcode HttpSender}, one streamed HTTP request per turn. Stops
 * sending on `stop`; in-flight requests are aborted on `cancel`.
 *
 * @module
 */
import { type Sleeper, sleepUntil, WallClock } from "../lib/clock.ts";
import { LazyTokenizer, type Tokenizer } from "../lib/tokenizer.ts";
import { type MetricsCompat, type ResponsePaths, sendStreaming } from "./client.ts";
import type { RequestSpec } from "./workload/types.ts";
import type { BodyPayload } from "./request_body.ts";
import {
  type DriveOptions,
  type Finished,
  type LoadPlan,
  newState,
  runLoad as drive,
  type RunState,
  type Sender,
  type SendRequest,
  type Sent,
} from "./load_driver.ts";
import { Waker } from "./_waker.ts";

export { type Finished, type LoadPlan, newState, type RunState, sleepUntil };

/** How the HTTP sender reaches the server and measures. */
export interface HttpSenderOptions {
  /** Full endpoint URL. */
  url: string;
  /** JSON body of a spec (its text, or its UTF-8 bytes). */
  body: (spec: RequestSpec) => BodyPayload;
  timeoutMs: number;
  /** A started stream with no byte for this long fails; 0 or unset: never. */
  stallTimeoutMs?: number;
  /** `performance.now()` of run start. */
  originMs: number;
  /** Abort in-flight requests. */
  cancel: AbortSignal;
  /** Metric definitions (`--metrics-compat`). @default "topobench" */
  compat?: MetricsCompat;
  /** Where text and output tokens are in a whole (non-SSE) JSON answer. */
  responsePaths?: ResponsePaths;
  /** Extra request headers. */
  headers?: Record<string, string>;
  /**
   * Whether the bodies ask for a stream (SSE is then recognised by its bytes,
   * whatever the Content-Type). @default true
   */
  stream?: boolean;
  /** Counts output tokens when a server sends no usage. */
  tokenizer: Tokenizer;
  /** Called before a {@linkcode LazyTokenizer} is loaded mid-run (a server sent no usage). */
  onTokenizerLoad?: () => void;
}

/** Options of {@linkcode runLoad}. */
export interface RunLoadOptions extends LoadPlan, HttpSenderOptions {
  /** Stop sending. */
  stop: AbortSignal;
  onResult: (f: Finished) => void;
  /** Wakes the clock's timers; one is started (and stopped) here when neither it nor `sleep` is given. */
  waker?: Waker;
  /** How the clock sleeps instead of a waker (e.g. `timerSleep`). */
  sleep?: Sleeper;
  /** Stop when the queue diverges (`--saturation-stop on`); see the driver. @default null */
  saturation?: DriveOptions["saturation"];
  onSaturated?: DriveOptions["onSaturated"];
}

/** Sends each request as one streamed HTTP request ({@linkcode sendStreaming}). */
export class HttpSender implements Sender {
  #loading: Promise<unknown> | null = null;

  constructor(readonly o: HttpSenderOptions) {}

  send({ spec, session }: SendRequest, done: (s: Sent) => void): Promise<void> {
    const o = this.o;
    // the clock sets up its next wait first (as the runner always did): the send's own
    // work then follows at once, and the answer finds the event loop free
    return Promise.resolve().then(() =>
      sendStreaming({
        url: o.url,
        body: o.body(spec),
        requestId: spec.requestId,
        sessionId: session,
        timeoutMs: o.timeoutMs,
        stallTimeoutMs: o.stallTimeoutMs,
        signal: o.cancel,
        originMs: o.originMs,
        headers: o.headers,
        compat: o.compat,
        responsePaths: o.responsePaths,
        stream: o.stream,
      })
    ).then(async (result) => {
      const tok = o.tokenizer;
      const fromTok = result.completionTokens === null;
      if (fromTok && result.text && tok instanceof LazyTokenizer && !tok.loaded) {
        // no usage from the server: the client tokenizer counts (loaded now, once)
        if (!this.#loading) {
          o.onTokenizerLoad?.();
          this.#loading = tok.load();
        }
        await this.#loading;
      }
      const outputTokens = result.completionTokens ??
        (result.text ? tok.encode(result.text).length : 0);
      done({ result, outputTokens, outputFromTokenizer: fromTok });
    });
  }
}

/** Runs the load on the wall clock over HTTP; resolves when everything sent has finished. */
export async function runLoad(o: RunLoadOptions, state: RunState = newState()): Promise<RunState> {
  using own = o.waker || o.sleep ? null : new Waker();
  const waker = o.waker ?? own;
  using clock = new WallClock({
    originMs: o.originMs,
    sleep: o.sleep ?? ((atMs, signal) => waker!.sleepUntil(atMs, signal)),
  });
  // a saturation stop also cancels the HTTP requests it ended (their answers are no longer read)
  const over = new AbortController();
  const cancel = o.saturation ? AbortSignal.any([o.cancel, over.signal]) : o.cancel;
  return await drive(o, clock, new HttpSender({ ...o, cancel }), {
    onResult: o.onResult,
    stop: o.stop,
    state,
    saturation: o.saturation,
    onSaturated: (v) => {
      o.onSaturated?.(v);
      queueMicrotask(() => over.abort());
    },
  });
}
