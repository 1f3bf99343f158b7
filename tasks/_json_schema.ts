/**
 * A small JSON Schema validator for the subset the experiment schema uses
 * (`type`, `enum`, `properties`, `required`, `additionalProperties`, `items`,
 * `minItems`, `maxItems`, `minimum`, `maximum`, `exclusiveMinimum`,
 * `minLength`, `pattern`, `anyOf`, local `$ref`). A keyword outside the subset
 * is an error, so the schema cannot say something this validator ignores.
 *
 * @module
 */

type Schema = Record<string, unknown>;

const ANNOTATIONS = new Set(["$schema", "$defs", "title", "description", "default"]);
const KEYWORDS = new Set([
  "type",
  "enum",
  "properties",
  "required",
  "additionalProperties",
  "items",
  "minItems",
  "maxItems",
  "minimum",
  "maximum",
  "exclusiveMinimum",
  "minLength",
  "pattern",
  "anyOf",
  "$ref",
]);

const isObj = (v: unknown): v is Schema => typeof v === "object" && v !== null && !Array.isArray(v);

function typeOf(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  if (typeof v === "number") return Number.isInteger(v) ? "integer" : "number";
  return typeof v;
}

const typeMatches = (v: unknown, t: string) =>
  typeOf(v) === t || (t === "number" && typeOf(v) === "integer");

/** The schema `$ref` points at (`#/$defs/name` and other local pointers only). */
function deref(root: Schema, ref: string): Schema {
  if (!ref.startsWith("#/")) throw new TypeError(`Cannot follow $ref ${ref}: only local refs`);
  let cur: unknown = root;
  for (const k of ref.slice(2).split("/")) cur = isObj(cur) ? cur[k] : undefined;
  if (!isObj(cur)) throw new TypeError(`Cannot follow $ref ${ref}: current value is missing`);
  return cur;
}

/** Scalar checks of one value (type, enum, bounds, lengths, pattern). */
function scalarErrors(s: Schema, v: unknown, path: string): string[] {
  const out: string[] = [];
  const at = path || "(top)";
  if (s.type !== undefined) {
    const types = ([] as string[]).concat(s.type as string | string[]);
    if (!types.some((t) => typeMatches(v, t))) out.push(`${at}: ${typeOf(v)}, not ${types}`);
  }
  if (Array.isArray(s.enum) && !s.enum.some((e) => e === v)) {
    out.push(`${at}: ${JSON.stringify(v)} is not one of ${JSON.stringify(s.enum)}`);
  }
  if (typeof v === "number") {
    if (typeof s.minimum === "number" && v < s.minimum) out.push(`${at}: ${v} < ${s.minimum}`);
    if (typeof s.maximum === "number" && v > s.maximum) out.push(`${at}: ${v} > ${s.maximum}`);
    const ex = s.exclusiveMinimum;
    if (typeof ex === "number" && v <= ex) out.push(`${at}: ${v} <= ${ex}`);
  }
  if (typeof v === "string") {
    if (typeof s.minLength === "number" && v.length < s.minLength) out.push(`${at}: too short`);
    if (typeof s.pattern === "string" && !new RegExp(s.pattern, "u").test(v)) {
      out.push(`${at}: ${JSON.stringify(v)} does not match ${s.pattern}`);
    }
  }
  return out;
}

/** Checks of a mapping's keys and a list's items. */
function childErrors(root: Schema, s: Schema, v: unknown, path: string): string[] {
  const out: string[] = [];
  if (isObj(v)) {
    const props = isObj(s.properties) ? s.properties : {};
    for (const k of (s.required as string[] | undefined) ?? []) {
      if (!(k in v)) out.push(`${path || "(top)"}: missing ${k}`);
    }
    for (const [k, x] of Object.entries(v)) {
      const p = path ? `${path}.${k}` : k;
      if (isObj(props[k])) out.push(...errorsAt(root, props[k] as Schema, x, p));
      else if (s.additionalProperties === false) out.push(`${p}: unknown key`);
      else if (isObj(s.additionalProperties)) {
        out.push(...errorsAt(root, s.additionalProperties, x, p));
      }
    }
  }
  if (Array.isArray(v)) {
    if (typeof s.minItems === "number" && v.length < s.minItems) {
      out.push(`${path}: fewer than ${s.minItems} items`);
    }
    if (typeof s.maxItems === "number" && v.length > s.maxItems) {
      out.push(`${path}: more than ${s.maxItems} items`);
    }
    if (isObj(s.items)) {
      v.forEach((x, i) => out.push(...errorsAt(root, s.items as Schema, x, `${path}[${i}]`)));
    }
  }
  return out;
}

function errorsAt(root: Schema, s: Schema, v: unknown, path: string): string[] {
  for (const k of Object.keys(s)) {
    if (!KEYWORDS.has(k) && !ANNOTATIONS.has(k)) {
      throw new TypeError(`Cannot use ${k} at ${path || "(top)"} as a schema keyword: unsupported`);
    }
  }
  if (typeof s.$ref === "string") return errorsAt(root, deref(root, s.$ref), v, path);
  if (Array.isArray(s.anyOf)) {
    const each = s.anyOf.map((x) => errorsAt(root, x as Schema, v, path));
    if (!each.some((e) => e.length === 0)) return [`${path}: matches none of anyOf (${each})`];
  }
  const own = scalarErrors(s, v, path);
  return own.length ? own : childErrors(root, s, v, path);
}

/** The ways `value` breaks `schema` (each `path: what`); empty when it conforms. */
export function schemaErrors(schema: Schema, value: unknown): string[] {
  return errorsAt(schema, schema, value, "");
}
