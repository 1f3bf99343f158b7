/**
 * Numeric cells of our own CSV files (`requests.csv`, `merged.csv`): plain
 * non-negative decimals (`12`, `0.5`, `1.5e3`), finite and within the column's
 * range. `Number()` alone takes `Infinity`, `1e309`, `-5`, `0x1F` and ` 7 `;
 * one such cell can turn a throughput of 498 req/s into 0.000023.
 *
 * @module
 */

const DECIMAL = /^(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;

/** The largest value a column takes, for the error text (`1e10`, not `10000000000`). */
function shown(max: number): string {
  return max >= 1e6 ? max.toExponential().replace("e+", "e") : String(max);
}

/**
 * `text` as a number when it is a plain non-negative decimal no larger than
 * `max`; otherwise a RangeError naming the column, where (file:line) and the value.
 * @default max Number.MAX_VALUE (finite)
 */
export function parseDecimal(
  text: string,
  col: string,
  where: string,
  max = Number.MAX_VALUE,
): number {
  const n = DECIMAL.test(text) ? Number(text) : NaN;
  if (Number.isFinite(n) && n <= max) return n;
  throw new RangeError(
    `Cannot use column ${col} in ${where} as a number: current value is ${
      JSON.stringify(text)
    }; allowed: a decimal from 0 to ${shown(max)} (no sign, hex, Infinity or overflow)`,
  );
}
