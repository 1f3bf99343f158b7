/**
 * The contract between workload generation and the load runner: what one
 * request to send looks like, and how a dataset hands out requests.
 *
 * @module
 */

/** A chat message part (text or image), OpenAI style. */
export type ContentPart = { type: "text"; text: string } | {
  type: "image_url";
  image_url: { url: string };
};

/** A chat message. */
export interface Message {
  role: "system" | "user" | "assistant";
  content: string | ContentPart[];
}

/** One request to send (a single-turn request, or one turn of a conversation). */
export interface RequestSpec {
  /** Stable id within the run, e.g. `r000042` or `c0007-t2`. */
  requestId: string;
  /** Conversation id (multi-turn), else equal to requestId. */
  conversationId: string;
  /** 1-based turn number (1 for single-turn). */
  turn: number;
  /** Completions prompt (text), when sent to /v1/completions. */
  prompt?: string;
  /** Chat messages, when sent to /v1/chat/completions. For turn > 1, the runner appends earlier answers. */
  messages?: Message[];
  /** Prompt length in tokens as the client tokenizer counts it (with the chat template for chat). */
  promptTokens: number;
  /** max_tokens to ask for. */
  maxTokens: number;
  /** Send `ignore_eos: true` so the output is exactly maxTokens. @default true for synthetic datasets */
  ignoreEos: boolean;
  /** The request class it belongs to (`--class`), if any. */
  className?: string;
  /**
   * Token ids of `prompt` (or of the one user message) as written, when the
   * dataset knows them (the virtual clock then skips tokenizing).
   */
  promptTokenIds?: number[];
  /**
   * Token ids of a completions `prompt` as the server counts them (BOS
   * included), when the dataset knows them: what the virtual clock's engine
   * takes as is (never changed by it).
   */
  completionTokenIds?: readonly number[] | Uint32Array;
}

/** One multi-turn conversation: its turns in order, and the user think time between them. */
export interface Conversation {
  conversationId: string;
  /** User messages of each turn (turn t's prompt = history + answers + this message). */
  turns: {
    user: string | ContentPart[];
    maxTokens: number;
    /** Token ids of `user` as written, when the dataset knows them (the virtual clock skips tokenizing). */
    userTokenIds?: number[];
  }[];
  /** Think time before each turn after the first, ms. */
  thinkTimeMs: number[];
  /** Optional system prompt. */
  system?: string;
}
