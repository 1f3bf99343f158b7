/**
 * Why a request failed, in one word: the `failure` column of `requests.csv`,
 * read from the status and error text both clocks record (the virtual
 * topology words its errors as the live client and router do, with the
 * reason first).
 *
 * - `stranded`: its prefill had handed the KV over, and the decode instance
 *   holding it died before the first token;
 * - `reset`: a connection broke under it (killed instance, broken stream);
 * - `ejected`: the router took its instance out of rotation and ended its legs
 *   (a hung engine, a drained one);
 * - `refused`: no connection (nothing listening);
 * - `timeout`: the client's timeout or stall limit;
 * - `cancelled`: the load driver ended it (saturation stop, Ctrl-C);
 * - `http_<status>`: any other HTTP answer (`http_503`: no healthy backend);
 * - `error`: anything else.
 *
 * @module
 */

/** The failure reasons, in the order figures and findings list them. */
export const FAILURE_REASONS = [
  "stranded",
  "reset",
  "ejected",
  "refused",
  "timeout",
  "cancelled",
] as const;

const RULES: [RegExp, string][] = [
  [/^stranded\b/i, "stranded"],
  [/^ejected\b|\bwas taken out\b/i, "ejected"],
  [/^cancelled\b/i, "cancelled"],
  [
    /^reset\b|stream broken|connection reset|econnreset|broken pipe|unexpected eof|failed mid-stream|connection closed/i,
    "reset",
  ],
  [/refused|econnrefused/i, "refused"],
  [/^timeout\b|timed? ?out|stall/i, "timeout"],
];

/** The reason of a request that ended with `status` and `error` ("" when it succeeded). */
export function failureReason(status: number, error: string): string {
  if (!error) return "";
  for (const [re, reason] of RULES) if (re.test(error)) return reason;
  if (status >= 400) return `http_${status}`;
  const m = /^HTTP (\d{3})\b/.exec(error);
  return m ? `http_${m[1]}` : "error";
}
