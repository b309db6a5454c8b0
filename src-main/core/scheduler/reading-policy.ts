// Which device reading a start is decided on, and when a stop counts as memory given back (#18
// item 3: a swap's time was two nvidia-smi readings taken on purpose). Pure, tested table-driven.
//
// - A decision may use the last reading if it began at most one poll interval ago. When that
//   reading says "start", it starts; when it says "stop these idle engines to make room", they are
//   stopped on it too, unless the card was in flux (memory not ours moved by more than FLUX_MB
//   between that reading and the one before it: a game loading, a job ending). Anything else (wait
//   for busy engines, no profile fits) and a card in flux take a new reading, which decides instead.
//   So a swap costs no nvidia-smi call (50-100 ms) when the view is recent and steady; the price is
//   that memory another program took or gave back in the last poll interval is seen only by the
//   reading taken once the new engine has started (an engine that then doesn't fit fails with its
//   own out-of-memory line, as it would without us).
// - Once every process of a stopped engine has exited, what the decision's reading counted it
//   holding is free at once; the driver is not polled until it shows so. An engine whose start then
//   meets memory not yet freed fails the usual way (its out-of-memory line in the failure).
import type { DeviceReading } from '../../../src-shared/contract.js';
import type { EngineView, Placement } from './placement.js';

/** Memory not ours moving by more than this between two readings: the card is in flux. */
export const FLUX_MB = 256;

/**
 * Whether a decision made on a reading begun at `readingAt` must be taken again on a new one.
 * `inFlux`: the memory other programs use moved between that reading and the one before it.
 */
export function needsNewReading(placement: Pick<Placement, 'kind'>, readingAt: number, decisionBegan: number, inFlux = false): boolean {
  if (readingAt >= decisionBegan || placement.kind === 'start') return false;
  return placement.kind !== 'evict' || inFlux;
}

/** Per device, the memory in use that no engine of ours holds (MB); null where the card has no memory reading. */
export function foreignUse(devices: readonly DeviceReading[], ours: (model: string | null) => boolean): Record<string, number | null> {
  const out: Record<string, number | null> = {};
  for (const d of devices) {
    if (!d.memory) {
      out[d.id] = null;
      continue;
    }
    const oursMb = d.holders.reduce((sum, h) => sum + (ours(h.model) ? (h.usedMb ?? 0) : 0), 0);
    out[d.id] = Math.max(0, d.memory.usedMb - oursMb);
  }
  return out;
}

/** Whether memory not ours moved by more than FLUX_MB on any device between two readings' foreignUse(). */
export function inFlux(before: Readonly<Record<string, number | null>> | null, after: Readonly<Record<string, number | null>>): boolean {
  if (!before) return false;
  for (const [id, mb] of Object.entries(after)) {
    const was = before[id];
    if (mb === null || was === null || was === undefined) continue;
    if (Math.abs(mb - was) > FLUX_MB) return true;
  }
  return false;
}

/** The readings as they are once `gone` have exited: the memory they held in them is free. */
export function freedByExit(devices: readonly DeviceReading[], gone: readonly Pick<EngineView, 'heldMb'>[]): DeviceReading[] {
  if (gone.length === 0) return [...devices];
  return devices.map((d) => {
    const freed = gone.reduce((sum, e) => sum + (e.heldMb[d.id] ?? 0), 0);
    if (freed <= 0 || !d.memory) return d;
    // Never more than the card: a declaration larger than what the reading counted used.
    const back = Math.min(freed, d.memory.usedMb);
    return { ...d, memory: { ...d.memory, usedMb: d.memory.usedMb - back, freeMb: d.memory.freeMb + back } };
  });
}

/**
 * Whether a reading begun at `readingAt` can have seen all the memory of an engine that turned
 * ready at `readySince`: one begun while it was still loading saw at most part of it.
 * `readySince` undefined: not known (taken as seen).
 */
export function sawEngine(readingAt: number | null, readySince: number | null | undefined): boolean {
  if (readySince === undefined) return true;
  return readySince !== null && readingAt !== null && readingAt >= readySince;
}
