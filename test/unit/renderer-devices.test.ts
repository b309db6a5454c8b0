// The window's device logic without a browser: the chart history seeded from the node and then
// fed live, and what it says a model holds where the driver doesn't report per-process memory.
import { describe, expect, it } from 'vitest';
import type { DeviceReading, DevicesSnapshot } from '../../src-shared/contract.js';
import { declaredFrom, formatHeld, heldByModel, heldSummary } from '../../src-renderer/lib/held-memory.js';
import { appendReading, GAP_S, gapsOf, HISTORY_MS, mergeHistory, withGaps } from '../../src-renderer/pages/devices/history-series.js';
import { DEFAULT_IDLE_POLL_MS, DEFAULT_POLL_MS } from '../../src-main/core/devices/monitor.js';
import { memorySegments } from '../../src-renderer/pages/devices/segments.js';
import { modelInfo } from '../helpers/model-info.js';

const T0 = 1_700_000_000_000;
const gpu = (usedMb: number, holders: DeviceReading['holders'], id = 'gpu0'): DeviceReading => ({
  id, kind: 'gpu', vendor: 'nvidia', index: 0, name: 'RTX 4090', online: true, offlineReason: null,
  memory: { totalMb: 24576, usedMb, freeMb: 24576 - usedMb }, utilizationPct: 40, temperatureC: 50, powerW: 200, holders,
});
const snapshot = (at: number, devices: DeviceReading[]): DevicesSnapshot => ({ at: new Date(at).toISOString(), monitoringDisabled: false, devices });

describe('chart history', () => {
  it('seeds from the node, keeps what the window already had, and appends live readings after', () => {
    // The window saw one reading before the node's record arrived; the record holds it too.
    let history = appendReading(new Map(), snapshot(T0 + 4000, [gpu(3000, [])]));
    history = mergeHistory(history, { at: [T0, T0 + 2000, T0 + 4000], devices: [{ id: 'gpu0', memUsedMb: [1000, null, 3000], utilPct: [10, 20, 30] }] });
    expect(history.get('gpu0')).toEqual({ t: [T0 / 1000, T0 / 1000 + 2, T0 / 1000 + 4], memUsedMb: [1000, null, 3000], utilPct: [10, 20, 40] });

    history = appendReading(history, snapshot(T0 + 4000, [gpu(9999, [])])); // the same instant again: nothing new
    history = appendReading(history, snapshot(T0 + 6000, [gpu(4000, [])]));
    expect(history.get('gpu0')!.memUsedMb).toEqual([1000, null, 3000, 4000]);
  });

  it('merges into increasing time, one point per instant, at most the last 10 minutes', () => {
    const own = new Map([['cpu', { t: [T0 / 1000 + 700], memUsedMb: [null], utilPct: [5] }]]);
    const merged = mergeHistory(own, {
      at: [T0, T0 + 300_000, T0 + 650_000],
      devices: [{ id: 'cpu', memUsedMb: [null, null, null], utilPct: [1, 2, 3] }],
    });
    const cpu = merged.get('cpu')!;
    expect(cpu.t).toEqual([T0 / 1000 + 300, T0 / 1000 + 650, T0 / 1000 + 700]);
    expect(cpu.utilPct).toEqual([2, 3, 5]);
    expect(cpu.t.at(-1)! - cpu.t[0]!).toBeLessThanOrEqual(HISTORY_MS / 1000);
  });

  it('breaks the line where readings stopped for a while', () => {
    const t = [100, 102, 104, 104 + GAP_S + 1];
    expect(withGaps({ t, memUsedMb: [1, 2, 3, 4], utilPct: [5, 6, 7, 8] })).toEqual({
      t: [100, 102, 104, 104 + (GAP_S + 1) / 2, 104 + GAP_S + 1],
      memUsedMb: [1, 2, 3, null, 4],
      utilPct: [5, 6, 7, null, 8],
    });
  });
});

describe('spans without readings', () => {
  it("joins the node's readings while nobody watched (every 30 s) into a line", () => {
    expect(GAP_S * 1000).toBeGreaterThan(DEFAULT_IDLE_POLL_MS + DEFAULT_POLL_MS);
    const t = [0, 30, 61, 91];
    expect(withGaps({ t, memUsedMb: [1, 2, 3, 4], utilPct: [1, 2, 3, 4] }).t).toEqual(t);
  });

  it('finds the spans of the 10 minutes with no readings: before the first, and between', () => {
    expect(gapsOf([500, 502, 504, 580, 582, 600], 0, 600)).toEqual([
      [0, 500],
      [504, 580],
    ]);
    expect(gapsOf([], 0, 600)).toEqual([[0, 600]]);
    expect(gapsOf([0, 30, 60], 0, 60)).toEqual([]);
  });
});

describe('system memory held by our engines', () => {
  it("splits RAM by model (the engines' processes), the rest other processes", () => {
    const ram: DeviceReading = {
      id: 'ram', kind: 'ram', vendor: 'system', index: null, name: 'System memory', online: true, offlineReason: null,
      memory: { totalMb: 32768, usedMb: 12000, freeMb: 20768 }, utilizationPct: 36.6, temperatureC: null, powerW: null,
      holders: [{ model: 'qwen', pid: 10, usedMb: 6000 }, { model: 'embed', pid: 20, usedMb: 1000 }],
    };
    expect(memorySegments(ram, declaredFrom([])).map((s) => [s.label, s.value, s.kind])).toEqual([
      ['qwen', 6000, 'model'],
      ['embed', 1000, 'model'],
      ['other processes', 5000, 'other'],
    ]);
  });
});

describe('memory held where the driver reports it per process', () => {
  const device = gpu(11_000, [
    { model: 'qwen', pid: 10, usedMb: 7900 },
    { model: 'qwen', pid: 11, usedMb: 100 },
    { model: null, pid: 12, usedMb: 1500 },
  ]);

  it('splits the bar by model, the rest as other processes', () => {
    expect(memorySegments(device, declaredFrom([])).map((s) => [s.label, s.value, s.kind, s.inBar ?? true])).toEqual([
      ['qwen', 8000, 'model', true],
      ['other processes', 3000, 'other', true],
    ]);
    expect(heldSummary(snapshot(T0, [device]), [])).toEqual({ text: '7.8 GB / 24.0 GB', approx: false });
    // The model list can be fresher than the reading (a model not listed on the card yet).
    const listed = [modelInfo('qwen', { state: 'ready', vramMb: 8000 }), modelInfo('embed', { state: 'ready', vramMb: 1024 })];
    expect(heldSummary(snapshot(T0, [device]), listed)).toEqual({ text: '8.8 GB / 24.0 GB', approx: false });
    // ...or fresher the other way: a model just stopped holds nothing, whatever the reading says.
    expect(heldSummary(snapshot(T0, [device]), [modelInfo('qwen', { state: 'stopped', vramMb: null })])).toEqual({ text: '0 MB / 24.0 GB', approx: false });
    expect(heldSummary(snapshot(T0, [device]), [modelInfo('qwen', { state: 'stopped', vramMb: 8000 })])).toEqual({ text: '0 MB / 24.0 GB', approx: false });
  });
});

describe('memory held on a Windows (WDDM) driver: processes listed, memory "[N/A]"', () => {
  const device = gpu(11_000, [
    { model: 'qwen', pid: 10, usedMb: null },
    { model: 'embed', pid: 20, usedMb: null },
    { model: null, pid: 12, usedMb: null },
  ]);
  const models = [
    modelInfo('qwen', { state: 'ready', pid: 10, declaredMemoryMb: { gpu0: 7987 } }),
    modelInfo('embed', { state: 'ready', pid: 20 }),
  ];

  it('keeps each model in the legend with its declared figure or "not reported", and invents no "other processes"', () => {
    const segments = memorySegments(device, declaredFrom(models));
    expect(segments.map((s) => [s.label, s.text ?? null, s.inBar ?? true])).toEqual([
      ['qwen', '≈ 7.8 GB (declared)', false],
      ['embed', 'not reported', false],
      ['in use', null, true],
    ]);
    // The bar is the card's used total, not a split of it.
    expect(segments.filter((s) => s.inBar !== false).map((s) => [s.kind, s.value])).toEqual([['used', 11_000]]);
  });

  it('the Models column and the status strip say so too', () => {
    const held = heldByModel(snapshot(T0, [device]), declaredFrom(models));
    expect(formatHeld(held.get('qwen')!)).toBe('≈ 7.8 GB (declared)');
    expect(formatHeld(held.get('embed')!)).toBe('not reported');
    expect(heldSummary(snapshot(T0, [device]), models)).toEqual({ text: '≈ 7.8 GB / 24.0 GB', approx: true });
    expect(heldSummary(snapshot(T0, [device]), [])).toEqual({ text: 'not reported / 24.0 GB', approx: true });
    // A figure the list still holds from before is not added on top of the declared one.
    const stale = models.map((m) => ({ ...m, vramMb: 5000 }));
    expect(heldSummary(snapshot(T0, [device]), stale)).toEqual({ text: '≈ 7.8 GB / 24.0 GB', approx: true });
  });
});
