// Which reading decides a start, and what a stop gives back (#18 item 3): table-driven, no processes.
import { describe, expect, it } from 'vitest';
import type { DeviceReading } from '../../src-shared/contract.js';
import { FLUX_MB, foreignUse, freedByExit, inFlux, needsNewReading, sawEngine } from '../../src-main/core/scheduler/reading-policy.js';

describe('needsNewReading', () => {
  it.each([
    ['a recent reading that says start: it decides', 'start', 900, 1000, false],
    ['a recent reading that says stop idle engines, on a steady card: it decides', 'evict', 900, 1000, false],
    ['a recent reading that says wait: read again', 'wait', 900, 1000, true],
    ['a recent reading that says no profile fits: read again before refusing', 'none', 900, 1000, true],
    ['a reading begun for this decision: it decides whatever it says', 'evict', 1000, 1000, false],
  ] as const)('%s', (_name, kind, readingAt, decisionBegan, expected) => {
    expect(needsNewReading({ kind }, readingAt, decisionBegan)).toBe(expected);
  });
  it.each([
    ['a recent reading that says stop idle engines, on a card in flux: read again before stopping anybody', 'evict', 900, 1000, true],
    ['a recent reading that says start, on a card in flux: it decides (nobody is stopped)', 'start', 900, 1000, false],
    ['a reading begun for this decision, on a card in flux: it decides', 'evict', 1000, 1000, false],
  ] as const)('%s', (_name, kind, readingAt, decisionBegan, expected) => {
    expect(needsNewReading({ kind }, readingAt, decisionBegan, true)).toBe(expected);
  });
});

describe('foreignUse and inFlux', () => {
  const gpu = (id: string, usedMb: number, holders: { model: string | null; usedMb: number | null }[]): DeviceReading => ({
    id, kind: 'gpu', vendor: 'nvidia', index: 0, name: 'GPU', online: true, offlineReason: null,
    memory: { totalMb: 24576, usedMb, freeMb: 24576 - usedMb }, utilizationPct: 0, temperatureC: 40, powerW: 50,
    holders: holders.map((h, i) => ({ ...h, pid: 100 + i })),
  });
  const ours = (model: string | null) => model !== null;
  it('counts what no engine of ours holds: the card’s use less our holders (unknown sizes count 0)', () => {
    const devices = [gpu('gpu0', 20000, [{ model: 'a', usedMb: 16000 }, { model: null, usedMb: 3000 }]), gpu('gpu1', 5000, [{ model: 'b', usedMb: null }])];
    expect(foreignUse(devices, ours)).toEqual({ gpu0: 4000, gpu1: 5000 });
    expect(foreignUse([{ ...gpu('gpu2', 0, []), memory: null }], ours)).toEqual({ gpu2: null });
  });
  it.each([
    ['no reading before', null, { gpu0: 4000 }, false],
    ['the same', { gpu0: 4000 }, { gpu0: 4000 }, false],
    [`moved by ${FLUX_MB} MB exactly: steady`, { gpu0: 4000 }, { gpu0: 4000 + FLUX_MB }, false],
    ['a game loading: grew beyond it', { gpu0: 4000 }, { gpu0: 9000 }, true],
    ['a job ending: shrank beyond it', { gpu0: 9000, gpu1: 0 }, { gpu0: 1000, gpu1: 0 }, true],
    ['a card without a memory reading is no evidence', { gpu0: null }, { gpu0: 9000 }, false],
    ['a card new since: no evidence', {}, { gpu0: 9000 }, false],
  ] as const)('%s', (_name, before, after, expected) => {
    expect(inFlux(before, after)).toBe(expected);
  });
});

describe('freedByExit', () => {
  const card = (id: string, usedMb: number, totalMb = 24576): DeviceReading => ({
    id, kind: 'gpu', vendor: 'nvidia', index: Number(id.slice(3)), name: 'GPU', online: true, offlineReason: null,
    memory: { totalMb, usedMb, freeMb: totalMb - usedMb }, utilizationPct: 0, temperatureC: 40, powerW: 50, holders: [],
  });
  it.each([
    ['one engine, one card: what it held is free', [card('gpu0', 20000)], [{ gpu0: 16000 }], [4576 + 16000]],
    ['two engines, two cards', [card('gpu0', 20000), card('gpu1', 9000)], [{ gpu0: 8000 }, { gpu0: 4000, gpu1: 9000 }], [4576 + 12000, 24576]],
    ['held nothing in the reading (it began before the engine loaded): nothing more is free', [card('gpu0', 0)], [{ gpu0: 0 }], [24576]],
    ['a declaration above what the card counts used frees at most the card', [card('gpu0', 6000)], [{ gpu0: 16000 }], [24576]],
    ['nobody gone', [card('gpu0', 20000)], [], [4576]],
  ] as const)('%s', (_name, devices, held, free) => {
    const out = freedByExit(devices, held.map((heldMb) => ({ heldMb })));
    expect(out.map((d) => d.memory!.freeMb)).toEqual(free);
    expect(out.map((d) => d.memory!.usedMb + d.memory!.freeMb)).toEqual(devices.map((d) => d.memory!.totalMb));
  });
  it('leaves a device without a memory reading alone', () => {
    const blind = { ...card('gpu0', 0), memory: null };
    expect(freedByExit([blind], [{ heldMb: { gpu0: 5000 } }])).toEqual([blind]);
  });
});

describe('sawEngine', () => {
  it.each([
    ['reading begun after it turned ready', 1100, 1000, true],
    ['reading begun as it turned ready', 1000, 1000, true],
    ['reading begun while it loaded', 900, 1000, false],
    ['not ready', 900, null, false],
    ['no reading', null, 1000, false],
    ['readiness not known (taken as seen)', 900, undefined, true],
  ] as const)('%s', (_name, readingAt, readySince, expected) => {
    expect(sawEngine(readingAt, readySince)).toBe(expected);
  });
});
