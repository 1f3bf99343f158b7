/**
 * The load driver's sender in virtual time: each request goes into a virtual
 * target (a {@linkcode VirtualTopology}, or one engine) at the event loop's
 * instant, and comes back as the same {@linkcode Sent} record the HTTP client
 * produces, with virtual timestamps, so one code path makes the rows and the
 * summary for both clocks. The request goes in as the body bench's client
 * sends; the target's frontend draws the output (as `deno task sim` does).
 *
 * @module
 */
import { openaiFields } from "../../bench/request_body.ts";
import { e2eMs, ttftMs } from "../../lib/metrics.ts";
import type { Clock } from "../../lib/clock.ts";
import { type ClientResult, emptyResult } from "../../bench/client.ts";
import type { Answer, Sender, SendRequest, Sent } from "../../bench/load_driver.ts";
import type { RequestSpec } from "../../bench/workload/types.ts";
import type { Job } from "../../bench/work_source.ts";
import type { VirtualRequest, VirtualResponse } from "./virtual_topology.ts";
import type { TokenIds } from "../../launch/sim/core/engine.ts";

/** What takes virtual requests: a topology, or one engine. */
export interface VirtualTarget {
  submit(req: VirtualRequest, res: VirtualResponse): void;
}

/** What the virtual sender knows of a request's tokens. */
export interface RequestTokens {
  /** The prompt's ids when known without tokenizing (else the target's frontend tokenizes). */
  promptTokens?(spec: RequestSpec): TokenIds | undefined;
  /**
   * The answer of output ids that a conversation's next turn re-sends (its
   * text may be built only when read). @default none: the result's text is ""
   */
  answer?(ids: ArrayLike<number>, tokens: number): Answer;
  /** A job starts / ends (what it tells of its tokens holds meanwhile). */
  open?(job: Job): void;
  close?(job: Job): void;
}

/** Sends the driver's requests into a virtual target on `clock`. */
export class VirtualSender implements Sender {
  constructor(
    readonly clock: Clock,
    readonly target: VirtualTarget,
    readonly tokens: RequestTokens,
  ) {}

  open(job: Job): void {
    this.tokens.open?.(job);
  }

  close(job: Job): void {
    this.tokens.close?.(job);
  }

  send({ spec, session, keepText }: SendRequest, done: (s: Sent) => void): void {
    const req = new SpecRequest(this, spec, session, keepText, done);
    this.target.submit(req, req);
  }
}

/**
 * One request in flight, both what goes in (the spec's fields; the body bench's
 * client sends, built only if read) and its client's end.
 */
class SpecRequest implements VirtualRequest, VirtualResponse {
  readonly id: string;
  readonly promptTokens: TokenIds | undefined;
  readonly sentMs: number;
  #body: Record<string, unknown> | undefined = undefined;

  constructor(
    readonly sender: VirtualSender,
    readonly fields: RequestSpec,
    readonly session: string | undefined,
    readonly keepText: boolean,
    readonly done: (s: Sent) => void,
  ) {
    this.id = fields.requestId;
    this.sentMs = sender.clock.nowMs();
    this.promptTokens = sender.tokens.promptTokens?.(fields);
  }

  /** The body bench's client sends (no model name: the frontend then checks none). */
  get body(): Record<string, unknown> {
    return this.#body ??= openaiFields(this.fields, "");
  }

  onFinish(
    { error, status, info, backend, outputIds }: Parameters<VirtualResponse["onFinish"]>[0],
  ): void {
    const { tokens, clock } = this.sender;
    const out = info ? info.outputTokens : 0;
    // the answer goes on as its own record (its text unbuilt); the row holds no text
    const answer = error || !this.keepText || !tokens.answer
      ? undefined
      : tokens.answer(out === outputIds.length ? outputIds : outputIds.slice(0, out), out);
    const result = virtualResult(this.sentMs, clock.nowMs(), info?.tokenTimesMs ?? NO_TIMES);
    if (info) {
      result.promptTokens = info.promptTokens;
      result.completionTokens = out;
      result.cachedTokens = info.cachedTokens;
    }
    result.status = status;
    result.error = error;
    result.backend = backend;
    this.done({ result, outputTokens: out, outputFromTokenizer: false, answer });
  }
}

const NO_TIMES = new Float64Array(0);

/**
 * A client result from virtual instants (sent, each token, end); the answer's
 * fields are the caller's to set.
 */
function virtualResult(sentMs: number, endMs: number, times: Float64Array): ClientResult {
  const r = emptyResult();
  const first = times.length ? times[0] : null;
  r.sentMs = sentMs;
  r.firstTokenMs = first;
  r.endMs = endMs;
  r.ttftMs = ttftMs(sentMs, first);
  r.e2eMs = e2eMs(sentMs, endMs);
  r.tokenTimesMs = times;
  r.contentChunks = times.length;
  return r;
}
