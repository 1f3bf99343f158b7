/**
 * Names that become one path segment of an output (experiment names, topology
 * labels, run directory labels): letters, digits, `.`, `_`, `-`, starting with
 * a letter or digit, so a name never climbs out of its folder (`..`), makes
 * sub-folders (`/`) or hides (`.x`).
 *
 * @module
 */

/** What {@linkcode checkSafeName} allows, as said in its errors. */
export const SAFE_NAME_ALLOWED =
  "letters, digits, . _ - (starting with a letter or digit, at most 128 characters)";

const SAFE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** Whether `name` is a safe folder or file name. */
export function isSafeName(name: unknown): name is string {
  return typeof name === "string" && SAFE.test(name);
}

/**
 * Returns `name` when it is safe; otherwise throws a RangeError naming the
 * value, the field (and file) it came from and what is allowed.
 * @default what "a label"
 */
export function checkSafeName(
  name: unknown,
  field: string,
  o: { file?: string; what?: string } = {},
): string {
  if (isSafeName(name)) return name;
  const where = o.file ? ` in ${o.file}` : "";
  throw new RangeError(
    `Cannot use ${JSON.stringify(name)} as ${o.what ?? "a label"} (field ${field}${where}): ` +
      `current value is not a plain name; allowed: ${SAFE_NAME_ALLOWED}`,
  );
}
