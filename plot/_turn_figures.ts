/**
 * The points of the per-turn TTFT figure: mean TTFT per turn at each
 * topology's lowest load and its last load meeting the SLO (or the lowest and
 * highest load all share), from requests or from merged.csv alone.
 *
 * @module
 */
import { turnList } from "../lib/merged_schema.ts";
import type { Ranking } from "../lib/ranking.ts";
import { distinct } from "./_common.ts";
import type { Group } from "./_groups.ts";
import type { PointRow } from "./_runs.ts";
import type { TurnPoint } from "./charts/multi_turn.ts";
import { offeredRate } from "./charts/throughput_vs_rate.ts";

/**
 * The panels of the per-turn figure: the lowest and highest offered load every
 * topology ran, or — when they share no load (rates searched per topology) —
 * each topology's own lowest and its last load meeting the SLO (the ranking's
 * `pass_rate`; its highest without a ranking). Returns the panel of a
 * (topology, load), or null when that load is not drawn.
 */
function turnPanels(loads: { topology: string; offered: number }[], ranking?: Ranking | null) {
  const tops = distinct(loads.map((l) => l.topology));
  const common = [...new Set(loads.map((l) => l.offered))].filter((x) =>
    tops.every((t) => loads.some((l) => l.topology === t && l.offered === x))
  ).sort((a, b) => a - b);
  if (common.length) {
    const picked = [common[0], common.at(-1)!];
    return (_t: string, x: number) => picked.includes(x) ? String(x) : null;
  }
  const own = (t: string) => loads.filter((l) => l.topology === t).map((l) => l.offered);
  const atCapacity = (t: string) =>
    ranking?.topologies.find((r) => r.topology === t)?.pass_rate ?? null;
  return (t: string, x: number) => {
    const xs = own(t), cap = atCapacity(t);
    if (x === Math.min(...xs)) return "lowest";
    if (cap !== null) return x === cap ? "last load meeting the SLO" : null;
    return x === Math.max(...xs) ? "highest" : null;
  };
}

/**
 * Mean TTFT per turn at the lowest and highest load (see {@linkcode turnPanels}):
 * from the requests when the runs are here, else from merged.csv's `ttft_by_turn_ms`.
 */
export function perTurnPoints(
  gs: Group[],
  rows: PointRow[],
  ranking?: Ranking | null,
): TurnPoint[] {
  if (!gs.length) return turnPointsOfMerged(rows, ranking);
  const ok = gs.filter((g) => g.offeredRps !== null);
  const panel = turnPanels(
    ok.map((g) => ({ topology: g.topology, offered: g.offeredRps! })),
    ranking,
  );
  const out: TurnPoint[] = [];
  for (const g of ok) {
    const p = panel(g.topology, g.offeredRps!);
    if (p === null) continue;
    const byTurn = new Map<number, number[]>();
    for (const r of g.requests) {
      if (r.error || r.ttft_ms === null) continue;
      if (!byTurn.has(r.turn)) byTurn.set(r.turn, []);
      byTurn.get(r.turn)!.push(r.ttft_ms);
    }
    for (const [turn, xs] of byTurn) {
      out.push({
        topology: g.topology,
        offered: g.offeredRps!,
        panel: p,
        turn,
        mean_ttft_ms: xs.reduce((a, b) => a + b, 0) / xs.length,
        requests: xs.length,
      });
    }
  }
  return out.sort((a, b) => a.offered - b.offered || a.turn - b.turn);
}

/** {@linkcode perTurnPoints} from merged rows (no run directories beside them). */
function turnPointsOfMerged(rows: PointRow[], ranking?: Ranking | null): TurnPoint[] {
  const withTurns = rows.filter((r) =>
    turnList(r.ttft_by_turn_ms).length > 1 && offeredRate(r) !== null
  );
  const panel = turnPanels(
    withTurns.map((r) => ({ topology: String(r.topology), offered: offeredRate(r)! })),
    ranking,
  );
  const out: TurnPoint[] = [];
  for (const r of withTurns) {
    const p = panel(String(r.topology), offeredRate(r)!);
    if (p === null) continue;
    turnList(r.ttft_by_turn_ms).forEach((v, i) => {
      if (v !== null) {
        out.push({
          topology: String(r.topology),
          offered: offeredRate(r)!,
          panel: p,
          turn: i + 1,
          mean_ttft_ms: v,
          requests: 0,
        });
      }
    });
  }
  return out.sort((a, b) => a.offered - b.offered || a.turn - b.turn);
}
