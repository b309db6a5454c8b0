// Which device reading a start is decided on, and when a stop counts as memory given back (#18
// item 3: a swap's time was two nvidia-smi readings taken on purpose). Pure, tested table-driven.
//
// - A decision may use the last reading if it began at most one poll interval ago. When that
//   reading says "start", it starts; when it says anything else (stop engines, wait, no profile
//   fits), a new reading is taken and decides instead: nobody is stopped on an old view.
// - Once every process of a stopped engine has exited, what the decision's reading counted it
//   holding is free at once; the driver is not polled until it shows so. An engine whose start then
//   meets memory not yet freed fails the usual way (its out-of-memory line in the failure).
import type { DeviceReading } from '../../../src-shared/contract.js';
import type { EngineView, Placement } from './placement.js';

/** Whether a decision made on a reading begun at `readingAt` must be taken again on a new one. */
export function needsNewReading(placement: Pick<Placement, 'kind'>, readingAt: number, decisionBegan: number): boolean {
  return placement.kind !== 'start' && readingAt < decisionBegan;
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
