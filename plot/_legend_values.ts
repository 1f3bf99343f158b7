/**
 * A colour legend lists only what its figure draws: the topology palette's
 * domain holds every topology of the experiment (so a topology keeps its
 * colour from figure to figure), and a figure that draws some of them would
 * otherwise list the rest beside nothing.
 *
 * @module
 */
import type { VlSpec } from "./_common.ts";

/** Every object in `x`, depth first (the spec's layers, concatenations, encodings and data). */
function* objects(x: unknown): Generator<Record<string, unknown>> {
  if (Array.isArray(x)) {
    for (const v of x) yield* objects(v);
  } else if (x !== null && typeof x === "object") {
    const o = x as Record<string, unknown>;
    yield o;
    for (const v of Object.values(o)) yield* objects(v);
  }
}

/** The values of `field` in the spec's inline data rows. */
function drawn(spec: VlSpec, field: string): Set<string> {
  const seen = new Set<string>();
  for (const o of objects(spec)) {
    const rows = (o.data as { values?: unknown } | undefined)?.values;
    if (!Array.isArray(rows)) continue;
    for (const r of rows) {
      const v = (r as Record<string, unknown> | null)?.[field];
      if (v !== undefined && v !== null) seen.add(String(v));
    }
  }
  return seen;
}

/**
 * Sets `legend.values` of each colour encoding with an explicit scale domain
 * to the domain's values that the spec's inline data holds (in the domain's
 * order). A field no inline row carries (computed by a transform) is left as
 * it is. Changes `spec` in place and returns it.
 */
export function legendOfDrawn(spec: VlSpec): VlSpec {
  const seenOf = new Map<string, Set<string>>(); // a field's values, gathered once
  for (const o of objects(spec)) {
    const color = o.color as Record<string, unknown> | undefined;
    const field = color?.field, legend = color?.legend;
    const domain = (color?.scale as { domain?: unknown } | undefined)?.domain;
    if (typeof field !== "string" || !Array.isArray(domain) || legend === null) continue;
    let seen = seenOf.get(field);
    if (!seen) seenOf.set(field, seen = drawn(spec, field));
    if (seen.size === 0) continue;
    const values = domain.filter((d) => seen.has(String(d)));
    if (values.length < domain.length) {
      color!.legend = { ...(legend as Record<string, unknown> | undefined), values };
    }
  }
  return spec;
}
