/**
 * The load generator in virtual time: bench's schedule (the same arrival
 * offsets, datasets, multi-turn chaining with think time, concurrency cap or
 * closed loop) played on the event loop against a {@linkcode VirtualTopology}.
 * Each finished request becomes the same {@linkcode Finished} record the HTTP
 * client produces, with virtual timestamps, so one code path makes the rows
 * and the summary for both clocks.
 *
 * @module
 */
import type { EventLoop } from "../../launch/sim/event_loop.ts";
import { type OutputVocab, tokenText } from "../../launch/sim/_vocab.ts";
import type { ClientResult } from "../../bench/client.ts";
import type { Finished, LoadPlan, RunState } from "../../bench/runner.ts";
import type { RequestSpec } from "../../bench/workload/types.ts";
import type { Job } from "../../bench/work_source.ts";
import { turnSpec } from "../../bench/workload/multiturn.ts";
import type { PromptTokens } from "../../lib/prompt_tokens.ts";
import type { VirtualTopology } from "./virtual_topology.ts";

/** Options of {@linkcode playLoad}: bench's load plan, on an event loop. */
export interface PlayOptions extends LoadPlan {
  loop: EventLoop;
  topology: VirtualTopology;
  prompts: PromptTokens;
  /** The engines' output vocabulary (the answer's text, for the next turn). */
  vocab: OutputVocab;
  onResult: (f: Finished) => void;
}

/** Schedules the whole load on the loop; the caller then runs the loop. */
export function playLoad(o: PlayOptions, state: RunState): void {
  const { loop } = o;
  const cap = o.closedLoop ? Infinity : o.concurrency ?? Infinity;
  let slots = cap;
  const waiters: (() => void)[] = [];
  const acquire = (go: () => void) => {
    if (slots > 0) {
      slots--;
      go();
    } else waiters.push(go);
  };
  const release = () => {
    const w = waiters.shift();
    if (w) w();
    else slots++;
  };

  const runJob = (job: Job, scheduledMs: number, done: () => void) => {
    const conv = job.conversation;
    const turns = conv ? conv.turns.length : 1;
    // ids the dataset knows need no tokenizing (told while the conversation runs)
    for (const t of conv?.turns ?? []) {
      if (t.userTokenIds && typeof t.user === "string") o.prompts.know(t.user, t.userTokenIds);
    }
    const end = () => {
      for (const t of conv?.turns ?? []) if (typeof t.user === "string") o.prompts.forget(t.user);
      done();
    };
    const answers: { text: string; tokens: number }[] = [];
    const turn = (t: number, scheduled: number) => {
      acquire(() => {
        const base = conv ? turnSpec(o.tokenizer, o.endpoint, conv, t, answers) : job.request!;
        const spec = job.className ? { ...base, className: job.className } : base;
        // the answer's text is only read by the next turn of a conversation
        send(spec, scheduled, conv?.conversationId, t < turns, (f) => {
          release();
          o.onResult(f);
          if (f.result.error || t >= turns) return end();
          answers.push({ text: f.result.text, tokens: f.outputTokens });
          const think = conv!.thinkTimeMs[t - 1];
          loop.after(think, () => turn(t + 1, loop.nowMs()));
        });
      });
    };
    turn(1, scheduledMs);
  };

  const send = (
    spec: RequestSpec,
    scheduledMs: number,
    session: string | undefined,
    keepText: boolean,
    finished: (f: Finished) => void,
  ) => {
    const sentMs = loop.nowMs();
    const times: number[] = [];
    state.sent++;
    state.inFlight++;
    state.maxInFlight = Math.max(state.maxInFlight, state.inFlight);
    // the body bench's client sends (openaiBody); the topology's frontend draws the output
    const eos = spec.ignoreEos ? { ignore_eos: true } : {};
    o.topology.submit({
      id: spec.requestId,
      session,
      body: spec.messages
        ? { messages: spec.messages, max_completion_tokens: spec.maxTokens, ...eos }
        : { prompt: spec.prompt ?? "", max_tokens: spec.maxTokens, ...eos },
    }, {
      onToken: () => times.push(loop.nowMs()),
      onFinish: ({ error, status, info, backend, outputIds }) => {
        state.inFlight--;
        state.done++;
        if (error) state.failed++;
        const endMs = loop.nowMs();
        const first = times.length ? times[0] : null;
        const itlMs: number[] = [];
        for (let i = 1; i < times.length; i++) itlMs.push(times[i] - times[i - 1]);
        const out = info?.outputTokens ?? 0;
        const text = error || !keepText
          ? ""
          : outputIds.slice(0, out).map((id) => tokenText(o.vocab, id)).join("");
        const result: ClientResult = {
          sentMs,
          firstTokenMs: first,
          endMs,
          ttftMs: first === null ? null : first - sentMs,
          e2eMs: endMs - sentMs,
          itlMs,
          contentChunks: times.length,
          text,
          promptTokens: info ? info.promptTokens : null,
          completionTokens: info ? out : null,
          cachedTokens: info ? info.cachedTokens : null,
          status,
          error,
          backend,
          streamed: true,
          oddContentType: "",
        };
        finished({ spec, result, scheduledMs, outputTokens: out, outputFromTokenizer: false });
      },
    });
  };

  if (o.closedLoop) {
    const user = () => {
      if (o.durationMs !== undefined && loop.nowMs() >= o.durationMs) return;
      const job = o.jobs.next();
      if (!job.done) runJob(job.value, loop.nowMs(), user);
    };
    for (let u = 0; u < (o.concurrency ?? 1); u++) loop.at(0, user);
  } else {
    // one arrival on the loop at a time: the next is drawn when this one is due
    const arrive = (job: Job) => {
      const next = o.jobs.next();
      if (!next.done) loop.at(next.value.offsetMs, () => arrive(next.value));
      runJob(job, job.offsetMs, () => {});
    };
    const first = o.jobs.next();
    if (!first.done) loop.at(first.value.offsetMs, () => arrive(first.value));
  }
}
