// The last ~10 minutes of device readings, kept in the window (the node keeps only the latest),
// collected from every snapshot the window sees, whichever page is open.
import type { DevicesSnapshot } from '../../../src-shared/contract.js';
import { createStore } from '../../lib/store.js';

export const HISTORY_MS = 10 * 60_000;

export interface DeviceHistory {
  /** Seconds since the epoch (uPlot's x unit). */
  t: number[];
  memUsedMb: (number | null)[];
  utilPct: (number | null)[];
}

export const deviceHistory = createStore<ReadonlyMap<string, DeviceHistory>>(new Map());
let lastAt = '';

export function recordDevices(snapshot: DevicesSnapshot): void {
  if (snapshot.at === lastAt) return;
  lastAt = snapshot.at;
  const t = Date.parse(snapshot.at) / 1000;
  const cutoff = t - HISTORY_MS / 1000;
  deviceHistory.set((prev) => {
    const next = new Map(prev);
    for (const device of snapshot.devices) {
      const old = prev.get(device.id);
      const keepFrom = old ? old.t.findIndex((x) => x >= cutoff) : 0;
      const from = keepFrom === -1 ? (old?.t.length ?? 0) : keepFrom;
      next.set(device.id, {
        t: [...(old?.t.slice(from) ?? []), t],
        memUsedMb: [...(old?.memUsedMb.slice(from) ?? []), device.online ? (device.memory?.usedMb ?? null) : null],
        utilPct: [...(old?.utilPct.slice(from) ?? []), device.online ? device.utilizationPct : null],
      });
    }
    return next;
  });
}
