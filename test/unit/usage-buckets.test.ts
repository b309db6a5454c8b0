// The usage series' buckets follow the viewer's calendar: local hours, days and months of any
// time zone (15-minute offsets included), across daylight-saving changes.
import { describe, expect, it } from 'vitest';
import { buckets } from '../../src-main/core/usage/report.js';

const iso = (ms: number[]) => ms.map((t) => new Date(t).toISOString());

describe('usage buckets', () => {
  it.each([
    {
      name: 'Berlin days across the spring change (a 23-hour day)',
      from: Date.UTC(2026, 2, 27, 23), to: Date.UTC(2026, 2, 31, 22), group: 'day' as const, tz: 'Europe/Berlin',
      keys: ['2026-03-28', '2026-03-29', '2026-03-30', '2026-03-31'],
      at: ['2026-03-27T23:00:00.000Z', '2026-03-28T23:00:00.000Z', '2026-03-29T22:00:00.000Z', '2026-03-30T22:00:00.000Z'],
    },
    {
      name: 'Berlin hours: 02:00 does not exist that night',
      from: Date.UTC(2026, 2, 29, 0), to: Date.UTC(2026, 2, 29, 3), group: 'hour' as const, tz: 'Europe/Berlin',
      keys: ['2026-03-29T01', '2026-03-29T03', '2026-03-29T04'],
      at: ['2026-03-29T00:00:00.000Z', '2026-03-29T01:00:00.000Z', '2026-03-29T02:00:00.000Z'],
    },
    {
      name: 'Kolkata (UTC+5:30) days start at 18:30 UTC',
      from: Date.UTC(2026, 0, 1, 18, 30), to: Date.UTC(2026, 0, 3, 18, 30), group: 'day' as const, tz: 'Asia/Kolkata',
      keys: ['2026-01-02', '2026-01-03'],
      at: ['2026-01-01T18:30:00.000Z', '2026-01-02T18:30:00.000Z'],
    },
    {
      name: 'UTC months of a year',
      from: Date.UTC(2025, 0, 1), to: Date.UTC(2026, 0, 1), group: 'month' as const, tz: 'UTC',
      keys: Array.from({ length: 12 }, (_, i) => `2025-${String(i + 1).padStart(2, '0')}`),
      at: Array.from({ length: 12 }, (_, i) => new Date(Date.UTC(2025, i, 1)).toISOString()),
    },
  ])('$name', ({ from, to, group, tz, keys, at }) => {
    const b = buckets(from, to, group, tz);
    expect(b.keys).toEqual(keys);
    expect(iso(b.at)).toEqual(at);
    expect(b.index(from)).toBe(0);
    expect(b.index(to - 1)).toBe(keys.length - 1);
  });

});
