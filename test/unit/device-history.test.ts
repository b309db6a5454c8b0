// The node's ring buffer of device readings (the Devices page's last 10 minutes): one point per
// reading at the poll interval, thinned when readings come faster, bounded, oldest first.
import { describe, expect, it } from 'vitest';
import type { DeviceReading } from '../../src-shared/contract.js';
import { HISTORY_MS, ReadingHistory } from '../../src-main/core/devices/history.js';

const gpu = (usedMb: number | null, util: number | null, online = true): DeviceReading => ({
  id: 'gpu0', kind: 'gpu', vendor: 'nvidia', index: 0, name: 'RTX 4090', online, offlineReason: online ? null : 'gone',
  memory: usedMb === null ? null : { totalMb: 24564, usedMb, freeMb: 24564 - usedMb }, utilizationPct: util, temperatureC: 40, powerW: 50, holders: [],
});
const cpu = (util: number): DeviceReading => ({ ...gpu(null, util), id: 'cpu', kind: 'cpu', vendor: 'amd', index: null, name: 'EPYC' });

describe('ReadingHistory', () => {
  it('keeps each poll, oldest first, and thins readings closer than the poll interval', () => {
    const h = new ReadingHistory(2000);
    const t0 = 1_700_000_000_000;
    h.record(t0, [gpu(1000, 10)]);
    h.record(t0 + 200, [gpu(1100, 11)]); // a start probing fast: dropped
    h.record(t0 + 1990, [gpu(2000, 20)]); // a poll a little early: kept
    h.record(t0 + 4000, [gpu(3000, 33.3)]);
    expect(h.snapshot()).toEqual({ at: [t0, t0 + 1990, t0 + 4000], devices: [{ id: 'gpu0', memUsedMb: [1000, 2000, 3000], utilPct: [10, 20, 33.3] }] });
  });

  it('stays bounded and covers only the last 10 minutes, whatever the interval', () => {
    for (const interval of [100, 2000, 5000]) {
      const h = new ReadingHistory(interval);
      const t0 = 1_700_000_000_000;
      for (let i = 0; i < 20_000; i++) h.record(t0 + i * interval, [gpu(i, 50)]);
      const { at, devices } = h.snapshot();
      expect(at.length).toBeLessThanOrEqual(HISTORY_MS / Math.max(interval, 2000) / 0.75 + 1);
      expect(at.length).toBeGreaterThanOrEqual(HISTORY_MS / Math.max(interval, 2000) - 1);
      const last = t0 + 19_999 * interval;
      // Thinned readings: the newest kept is at most one slot (2 s) behind the newest taken.
      expect(last - at.at(-1)!).toBeLessThan(2000);
      expect(at.at(-1)! - at[0]!).toBeLessThanOrEqual(HISTORY_MS);
      expect(devices[0]!.memUsedMb.at(-1)).toBe((at.at(-1)! - t0) / interval);
    }
  });

  it('offline or missing devices read null; one absent for the whole window is forgotten', () => {
    const h = new ReadingHistory(1000, 10_000, 10);
    h.record(0, [gpu(1000, 10), cpu(5)]);
    h.record(1000, [gpu(null, null, false), cpu(6)]);
    h.record(2000, [cpu(7)]);
    expect(h.snapshot()).toEqual({
      at: [0, 1000, 2000],
      devices: [
        { id: 'gpu0', memUsedMb: [1000, null, null], utilPct: [10, null, null] },
        { id: 'cpu', memUsedMb: [null, null, null], utilPct: [5, 6, 7] },
      ],
    });
    for (let t = 3000; t <= 13_000; t += 1000) h.record(t, [cpu(8)]);
    expect(h.snapshot().devices.map((d) => d.id)).toEqual(['cpu']);
    expect(h.snapshot().at[0]).toBe(3000);
  });
});
