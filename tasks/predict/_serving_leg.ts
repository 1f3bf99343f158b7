/**
 * The leg that serves a request in virtual time (agg and dp, ppd's direct
 * decode, pd's decode): its engine request, and its end as the client hears
 * it. One object per leg, the request its own sink. SIMULATED, virtual clock.
 *
 * @module
 */
import type {
  EngineRequest,
  FinishInfo,
  FinishReason,
  RemotePrefill,
  SeqSink,
  TokenIds,
} from "../../launch/sim/core/engine.ts";
import type { MemoryEcStore } from "../../launch/sim/core/ec_cache.ts";
import { imageTokens } from "./_encoder_legs.ts";
import { legError } from "./virtual_faults.ts";
import type { VirtualInstance } from "./virtual_instance.ts";
import type { Admitted, VirtualResponse } from "./_virtual_request.ts";

const ABORTED = { error: "aborted", status: 499 };
const OK = { error: "", status: 200 };

/** A request's serving leg on `to`: the engine request, and its sink. */
export class ServingLeg implements EngineRequest, SeqSink {
  readonly promptTokens: TokenIds;
  readonly outputIds: TokenIds;
  readonly finishReason: "stop" | "length";
  readonly imageTokens: number[] | undefined;
  readonly recordTimes = true;
  readonly session: string | undefined;
  readonly sink: SeqSink = this;
  /** Where its KV comes from, on a decode leg. @default none */
  remotePrefill: RemotePrefill | undefined = undefined;

  /**
   * @param retry on a decode leg (its KV comes from a prefill instance): asked
   *   first when the leg is lost, with the tokens it put out; answers whether
   *   the request is sent again instead
   */
  constructor(
    readonly id: string,
    readonly job: Admitted,
    readonly res: VirtualResponse,
    readonly to: VirtualInstance,
    readonly ec: MemoryEcStore,
    readonly retry?: (tokensOut: number) => boolean,
  ) {
    this.promptTokens = job.promptTokens;
    this.outputIds = job.outputIds;
    this.finishReason = job.finishReason;
    this.imageTokens = imageTokens(ec, job.images, to);
    this.session = job.session;
  }

  onFinish(r: FinishReason, info: FinishInfo): void {
    const { to, job } = this;
    to.inFlight--;
    if (r === "abort" && this.retry?.(info.outputTokens)) return;
    if (r !== "abort") this.ec.store(job.images, to.ec);
    const { error, status } = r === "abort"
      ? (to.ending ? legError(to, info.outputTokens > 0, this.retry !== undefined) : ABORTED)
      : OK;
    this.res.onFinish({ error, status, info, backend: to.name, outputIds: job.outputIds });
  }
}
