// The last ~10 minutes of device readings for the charts, kept in the window: seeded from the
// node's own record (getDeviceHistory, so a window opened now has them at once), then every
// snapshot the window sees appended, whichever page is open.
import type { DevicesHistory, DevicesSnapshot } from '../../../src-shared/contract.js';
import { createStore } from '../../lib/store.js';
import { appendReading, mergeHistory, type HistoryMap } from './history-series.js';

export { gapsOf, HISTORY_MS, withGaps, type DeviceHistory } from './history-series.js';

export const deviceHistory = createStore<HistoryMap>(new Map());
let lastAt = '';

export function recordDevices(snapshot: DevicesSnapshot): void {
  if (snapshot.at === lastAt) return;
  lastAt = snapshot.at;
  deviceHistory.set((prev) => appendReading(prev, snapshot));
}

export function seedDeviceHistory(seed: DevicesHistory): void {
  deviceHistory.set((prev) => mergeHistory(prev, seed));
}
