/**
 * The five-line summary of findings printed at the end of `deno task demo` (and
 * the pipeline): who wins at the lowest and highest swept load, crossover rates,
 * the PPD-vs-PD turn-2+ TTFT gain, and goodput per GPU.
 *
 * @module
 */
import type { MergedRow } from "../lib/merged_schema.ts";
import type { compare } from "./compare.ts";

type Crossover = ReturnType<typeof compare>["json"];

const ms = (x: number) => (x >= 100 ? x.toFixed(0) : x.toFixed(1));
const rate = (x: number) => String(Number(x.toPrecision(3)));

/** Mean rows with a finite rate, by topology. */
function means(rows: MergedRow[]): MergedRow[] {
  return rows.filter((r) =>
    r.run_index === "mean" && typeof r.rate_target === "number" && Number.isFinite(r.rate_target)
  );
}

/** The row with the best `metric` among `rows` (lower or higher is better). */
function best(rows: MergedRow[], metric: string, lower: boolean): MergedRow | null {
  const ok = rows.filter((r) => typeof r[metric] === "number" && Number.isFinite(r[metric]));
  if (!ok.length) return null;
  return ok.reduce((a, b) => ((b[metric] as number) < (a[metric] as number)) === lower ? b : a);
}

/** One line on who wins at `at` (req/s). */
function loadLine(what: string, rows: MergedRow[], at: number): string {
  const here = rows.filter((r) => r.rate_target === at);
  const t = best(here, "mean_ttft_ms", true), p = best(here, "mean_tpot_ms", true);
  const th = best(here, "output_throughput", false);
  const parts = [];
  if (t) parts.push(`lowest mean TTFT ${t.topology} (${ms(t.mean_ttft_ms as number)} ms)`);
  if (p) parts.push(`lowest mean TPOT ${p.topology} (${ms(p.mean_tpot_ms as number)} ms)`);
  if (th) {
    parts.push(`most output ${th.topology} (${(th.output_throughput as number).toFixed(0)} tok/s)`);
  }
  return `${what} (${rate(at)} req/s): ${parts.join("; ") || "no data"}.`;
}

/** Per common rate, how much lower `a`'s turn-2+ mean TTFT is than `b`'s, in percent of `b`'s. */
export function turnGains(
  rows: MergedRow[],
  a: string,
  b: string,
): { rate: number; pct: number }[] {
  const v = (t: string, r: number) =>
    rows.find((x) => x.topology === t && x.rate_target === r)?.mean_ttft_turn2plus_ms;
  const rates = [...new Set(means(rows).map((r) => r.rate_target as number))].sort((x, y) => x - y);
  return rates.flatMap((rate) => {
    const va = v(a, rate), vb = v(b, rate);
    return typeof va === "number" && typeof vb === "number" && vb > 0
      ? [{ rate, pct: (vb - va) / vb * 100 }]
      : [];
  });
}

/** Summary lines (five) from merged rows and compare's crossover.json object. */
export function findings(
  rows: MergedRow[],
  cross: Crossover,
  ppd = "ppd",
  pd = "pd",
): string[] {
  const m = means(rows);
  const rates = [...new Set(m.map((r) => r.rate_target as number))].sort((a, b) => a - b);
  const lines: string[] = [];
  if (!rates.length) return ["No finished load points: nothing to summarize."];
  // the highest rate every topology reached (early stops end some sweeps sooner)
  const tops = [...new Set(m.map((r) => r.topology))];
  const common = rates.filter((x) =>
    tops.every((t) => m.some((r) => r.topology === t && r.rate_target === x))
  );
  lines.push(loadLine("Lowest load", m, common[0] ?? rates[0]));
  lines.push(loadLine("Highest load", m, common.at(-1) ?? rates.at(-1)!));
  const keep = ["mean_tpot_ms", "mean_ttft_ms", "output_throughput", "p99_tpot_ms"];
  const base = cross.topologies[0];
  const xs = cross.crossovers.filter((c) =>
    keep.includes(c.metric) && (c.a === base || c.b === base)
  )
    .sort((a, b) => keep.indexOf(a.metric) - keep.indexOf(b.metric))
    .flatMap((c) =>
      c.crossings.map((x) =>
        `${c.metric.replace(/_ms$/, "")}: ${x.betterAfter} over ${x.betterBefore} above ${
          rate(x.rate)
        } req/s`
      )
    );
  lines.push(
    xs.length
      ? `Crossovers against ${base}: ${xs.slice(0, 4).join("; ")}${
        xs.length > 4 ? ` (+${xs.length - 4} more in crossover.json)` : ""
      }.`
      : `Crossovers: none in ${rate(rates[0])}-${
        rate(rates.at(-1)!)
      } req/s (the order holds across the sweep).`,
  );
  const gains = turnGains(m, ppd, pd);
  if (gains.length) {
    const avg = gains.reduce((a, b) => a + b.pct, 0) / gains.length;
    const lo = Math.min(...gains.map((x) => x.pct)), hi = Math.max(...gains.map((x) => x.pct));
    lines.push(
      `${ppd.toUpperCase()} vs ${pd.toUpperCase()} turn-2+ TTFT: ${Math.abs(avg).toFixed(1)}% ${
        avg >= 0 ? "lower" : "higher"
      } on average (${lo.toFixed(1)}% to ${
        hi.toFixed(1)
      }% lower per rate) across ${gains.length} rates.`,
    );
  } else {
    lines.push(`${ppd} vs ${pd} turn-2+ TTFT: not measured (needs both on a multi-turn workload).`);
  }
  const g = cross.goodput.filter((x) => x.goodput_per_gpu !== null);
  if (cross.slo && g.length) {
    const sl = [
      cross.slo.ttft_ms !== null ? `TTFT ≤ ${cross.slo.ttft_ms} ms` : "",
      cross.slo.tpot_ms !== null ? `TPOT ≤ ${cross.slo.tpot_ms} ms` : "",
    ].filter(Boolean).join(", ");
    const top = g.reduce((a, b) => (b.goodput_per_gpu! > a.goodput_per_gpu! ? b : a));
    lines.push(
      `Goodput per GPU (${sl}, ${cross.target_pct}% of requests): ${
        g.map((x) => `${x.topology} ${x.at_least ? "≥" : ""}${x.goodput_per_gpu!.toFixed(2)}`).join(
          ", ",
        )
      } req/s; best ${top.topology}.`,
    );
  } else lines.push("Goodput per GPU: no SLO set.");
  return lines;
}
