/**
 * What the server says about itself before a run: its first model
 * (`GET /v1/models`) and its version (`GET /version`).
 *
 * @module
 */

/** A GET: `fetch`, or one that reaches in-cluster URLs through the API server (`clusterFetch`). */
export type HttpGet = (url: string, init?: RequestInit) => Promise<Response>;

/** The first model the server lists, with the whole list; a RangeError names the URL. */
export async function firstModel(
  url: string,
  get: HttpGet = fetch,
): Promise<{ id: string; models: unknown }> {
  let res: Response;
  try {
    res = await get(`${url}/v1/models`, { signal: AbortSignal.timeout(10_000) });
  } catch (e) {
    throw new RangeError(
      `Cannot use --url as a reachable server: current value is ${
        JSON.stringify(url)
      } and GET /v1/models failed (${
        e instanceof Error ? e.message : e
      }); is the server up? (\`deno task status\` lists what \`up\` started; a server without /v1/models needs --model)`,
    );
  }
  const j = await res.json().catch(() => null);
  const id = j?.data?.[0]?.id;
  if (!res.ok || typeof id !== "string") {
    throw new RangeError(
      `Cannot use ${url}/v1/models as a model list (give --model): current value is HTTP ${res.status} ${
        JSON.stringify(j).slice(0, 200)
      }`,
    );
  }
  return { id, models: j };
}

/** The server's `GET /version` answer (`topobench-sim` for the simulated engine), or null. */
export async function serverVersion(
  url: string,
  get: HttpGet = fetch,
): Promise<string | null> {
  try {
    const res = await get(`${url}/version`, { signal: AbortSignal.timeout(5_000) });
    if (!res.ok) {
      await res.body?.cancel();
      return null;
    }
    const v = (await res.json())?.version;
    return typeof v === "string" ? v : null;
  } catch {
    return null;
  }
}

/**
 * Token counts of `texts` as the server's own `POST /tokenize` gives them
 * (vLLM's endpoint; no special tokens), 16 at a time; null when the server has
 * no such endpoint (the client tokenizer counts instead).
 */
export async function serverTokenCounts(
  url: string,
  model: string,
  texts: readonly string[],
): Promise<number[] | null> {
  const count = async (prompt: string): Promise<number | null> => {
    try {
      const res = await fetch(`${url}/tokenize`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ ...(model ? { model } : {}), prompt, add_special_tokens: false }),
        signal: AbortSignal.timeout(10_000),
      });
      const j = res.ok ? await res.json() : (await res.body?.cancel(), null);
      return typeof j?.count === "number" ? j.count : null;
    } catch {
      return null;
    }
  };
  if (texts.length === 0) return [];
  const first = await count(texts[0]);
  if (first === null) return null;
  const out: number[] = [first];
  for (let i = 1; i < texts.length; i += 16) {
    const part = await Promise.all(texts.slice(i, i + 16).map(count));
    if (part.some((x) => x === null)) return null;
    out.push(...(part as number[]));
  }
  return out;
}
