// The chart series of the Devices page as plain data: the node's record merged with what the window
// saw, live readings appended, gaps marked. Pure (no React), so tests can run it.
import type { DevicesHistory, DevicesSnapshot } from '../../../src-shared/contract.js';

export const HISTORY_MS = 10 * 60_000;
/**
 * Readings further apart than this are not joined by a line: the node reads every 2 s while watched
 * and every 30 s otherwise (monitor.ts DEFAULT_IDLE_POLL_MS), so a longer silence means no readings
 * at all (LLM Manager wasn't running, or GPU monitoring was off).
 */
export const GAP_S = 45;

export interface DeviceHistory {
  /** Seconds since the epoch (uPlot's x unit), increasing. */
  t: number[];
  memUsedMb: (number | null)[];
  utilPct: (number | null)[];
}

export type HistoryMap = ReadonlyMap<string, DeviceHistory>;

/** One live reading appended to every device's series, the oldest points past 10 minutes dropped. */
export function appendReading(prev: HistoryMap, snapshot: DevicesSnapshot): HistoryMap {
  const t = Date.parse(snapshot.at) / 1000;
  const next = new Map(prev);
  for (const device of snapshot.devices) {
    const old = prev.get(device.id);
    // Already there (the node's record holds it), or older than what is: x must keep increasing.
    if (old && old.t.length > 0 && old.t[old.t.length - 1]! >= t) continue;
    const from = firstWithin(old?.t ?? [], t);
    next.set(device.id, {
      t: [...(old?.t.slice(from) ?? []), t],
      memUsedMb: [...(old?.memUsedMb.slice(from) ?? []), device.online ? (device.memory?.usedMb ?? null) : null],
      utilPct: [...(old?.utilPct.slice(from) ?? []), device.online ? device.utilizationPct : null],
    });
  }
  return next;
}

/** The node's record and the window's own points as one increasing series per device (one point per instant; the window's wins). */
export function mergeHistory(prev: HistoryMap, seed: DevicesHistory): HistoryMap {
  const next = new Map(prev);
  const seedT = seed.at.map((ms) => ms / 1000);
  for (const series of seed.devices) {
    const points = new Map<number, [number | null, number | null]>();
    seedT.forEach((t, i) => points.set(t, [series.memUsedMb[i] ?? null, series.utilPct[i] ?? null]));
    const own = prev.get(series.id);
    own?.t.forEach((t, i) => points.set(t, [own.memUsedMb[i] ?? null, own.utilPct[i] ?? null]));
    const t = [...points.keys()].sort((a, b) => a - b);
    const kept = t.slice(firstWithin(t, t[t.length - 1] ?? 0));
    next.set(series.id, { t: kept, memUsedMb: kept.map((x) => points.get(x)![0]), utilPct: kept.map((x) => points.get(x)![1]) });
  }
  return next;
}

/** A null point between readings more than GAP_S apart, so the chart breaks its line there. */
export function withGaps(history: DeviceHistory): DeviceHistory {
  const out: DeviceHistory = { t: [], memUsedMb: [], utilPct: [] };
  history.t.forEach((t, i) => {
    const before = history.t[i - 1];
    if (before !== undefined && t - before > GAP_S) {
      out.t.push((before + t) / 2);
      out.memUsedMb.push(null);
      out.utilPct.push(null);
    }
    out.t.push(t);
    out.memUsedMb.push(history.memUsedMb[i] ?? null);
    out.utilPct.push(history.utilPct[i] ?? null);
  });
  return out;
}

/** Index of the first time within HISTORY_MS of `newest`. */
function firstWithin(t: readonly number[], newest: number): number {
  const cutoff = newest - HISTORY_MS / 1000;
  const i = t.findIndex((x) => x >= cutoff);
  return i === -1 ? t.length : i;
}

/** The spans of [from, to] (seconds) with no readings, each longer than GAP_S: the chart labels them. */
export function gapsOf(t: readonly number[], from: number, to: number): [number, number][] {
  const gaps: [number, number][] = [];
  let before = from;
  for (const x of [...t.filter((v) => v >= from && v <= to), to]) {
    if (x - before > GAP_S) gaps.push([before, x]);
    before = x;
  }
  return gaps;
}
