// Billing is a pure function of records, runs and prices: token tiers over a model's calendar
// month (exactly at and across thresholds, reset at month boundaries), hourly over engine runs
// (clipped to the range, a running engine counted to now), and both at once.
import { describe, expect, it } from 'vitest';
import type { ModelPricing } from '../../src-shared/config.js';
import { bill, priceTokens, TokenMeter } from '../../src-main/core/usage/billing.js';

const utcMonth = (at: number) => {
  const d = new Date(at);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
};
const T = (iso: string) => Date.parse(iso);
const H = 3_600_000;

// 1000 tokens at 10/20 per 1M, the next 1000 at 5/10, beyond at 1/2.
const TIERS: ModelPricing['tiers'] = [
  { upToTokens: 1000, inputPer1m: 10, outputPer1m: 20 },
  { upToTokens: 2000, inputPer1m: 5, outputPer1m: 10 },
  { upToTokens: null, inputPer1m: 1, outputPer1m: 2 },
];

describe('priceTokens: prompt tokens first, then completion, each at its position', () => {
  it.each([
    ['nothing', 0, 0, 0, 0],
    ['inside the first tier', 0, 100, 50, (100 * 10 + 50 * 20) / 1e6],
    ['ending exactly at the threshold', 900, 100, 0, (100 * 10) / 1e6],
    ['starting exactly at the threshold', 1000, 100, 0, (100 * 5) / 1e6],
    ['prompt fills tier 1, completion in tier 2', 950, 50, 100, (50 * 10 + 100 * 10) / 1e6],
    ['prompt crosses the threshold', 990, 20, 0, (10 * 10 + 10 * 5) / 1e6],
    ['one request across all three tiers', 0, 1500, 1000, (1000 * 10 + 500 * 5) / 1e6 + (500 * 10 + 500 * 2) / 1e6],
    ['far into the open-ended tier', 1_000_000, 1000, 1000, (1000 * 1 + 1000 * 2) / 1e6],
  ])('%s', (_name, before, prompt, completion, expected) => {
    expect(priceTokens(TIERS, before, prompt, completion)).toBeCloseTo(expected, 12);
  });

  it('no tiers: free', () => {
    expect(priceTokens([], 0, 1000, 1000)).toBe(0);
  });
});

describe('TokenMeter: cumulative per model and calendar month', () => {
  const prices = { a: { tiers: TIERS, hourly: null }, b: { tiers: [{ upToTokens: null, inputPer1m: 3, outputPer1m: 3 }], hourly: null } };

  it.each([
    {
      name: 'requests of a month move up the tiers',
      uses: [
        { at: T('2025-03-05T10:00:00Z'), model: 'a', prompt: 600, completion: 0 },
        { at: T('2025-03-06T10:00:00Z'), model: 'a', prompt: 400, completion: 0 },
        { at: T('2025-03-07T10:00:00Z'), model: 'a', prompt: 100, completion: 0 },
      ],
      costs: [600 * 10e-6, 400 * 10e-6, 100 * 5e-6],
    },
    {
      name: 'a new month starts at the first tier again (the boundary instant belongs to the new month)',
      uses: [
        { at: T('2025-03-31T23:59:59.999Z'), model: 'a', prompt: 1000, completion: 0 },
        { at: T('2025-04-01T00:00:00Z'), model: 'a', prompt: 100, completion: 0 },
      ],
      costs: [1000 * 10e-6, 100 * 10e-6],
    },
    {
      name: 'models count separately',
      uses: [
        { at: T('2025-03-05T10:00:00Z'), model: 'a', prompt: 1000, completion: 0 },
        { at: T('2025-03-05T10:01:00Z'), model: 'b', prompt: 1000, completion: 0 },
        { at: T('2025-03-05T10:02:00Z'), model: 'a', prompt: 10, completion: 0 },
        { at: T('2025-03-05T10:03:00Z'), model: 'unpriced', prompt: 10, completion: 10 },
      ],
      costs: [1000 * 10e-6, 1000 * 3e-6, 10 * 5e-6, 0],
    },
  ])('$name', ({ uses, costs }) => {
    const meter = new TokenMeter(prices, utcMonth);
    const got = uses.map((u) => meter.charge(u));
    got.forEach((cost, i) => expect(cost).toBeCloseTo(costs[i]!, 12));
  });
});

describe('bill: tokens in the range, hourly over runs, both', () => {
  const from = T('2025-03-10T00:00:00Z');
  const to = T('2025-03-11T00:00:00Z');
  const now = T('2025-03-20T00:00:00Z');

  it.each([
    {
      name: 'tokens before the range push the tier but are not charged',
      prices: { a: { tiers: TIERS, hourly: null } },
      uses: [
        { at: T('2025-03-01T00:00:00Z'), model: 'a', prompt: 1000, completion: 0 },
        { at: T('2025-03-10T12:00:00Z'), model: 'a', prompt: 100, completion: 100 },
        { at: T('2025-03-11T00:00:00Z'), model: 'a', prompt: 100, completion: 0 },
      ],
      runs: [],
      expected: [{ model: 'a', tokenCost: (100 * 5 + 100 * 10) / 1e6, hourlyCost: 0, runMs: 0 }],
    },
    {
      name: 'hourly: a run clipped at both ends of the range',
      prices: { a: { tiers: [], hourly: 2 } },
      uses: [],
      runs: [
        { model: 'a', startedAt: from - 2 * H, stoppedAt: from + H },
        { model: 'a', startedAt: to - H / 2, stoppedAt: to + H },
        { model: 'a', startedAt: from - 5 * H, stoppedAt: from - 4 * H },
      ],
      expected: [{ model: 'a', tokenCost: 0, hourlyCost: 3, runMs: 1.5 * H }],
    },
    {
      name: 'hourly: a run still going counts up to now',
      prices: { a: { tiers: [], hourly: 1 } },
      uses: [],
      runs: [{ model: 'a', startedAt: now - 3 * H, stoppedAt: null }],
      expected: [],
      range: { from: now - 24 * H, to: now + 24 * H },
      expectedRange: [{ model: 'a', tokenCost: 0, hourlyCost: 3, runMs: 3 * H }],
    },
    {
      name: 'both: tokens and hours of one model add up; an unpriced model is absent',
      prices: { a: { tiers: [{ upToTokens: null, inputPer1m: 1, outputPer1m: 1 }], hourly: 0.5 } },
      uses: [
        { at: from + H, model: 'a', prompt: 500_000, completion: 500_000 },
        { at: from + H, model: 'x', prompt: 500_000, completion: 500_000 },
      ],
      runs: [
        { model: 'a', startedAt: from, stoppedAt: from + 4 * H },
        { model: 'x', startedAt: from, stoppedAt: from + 4 * H },
      ],
      expected: [{ model: 'a', tokenCost: 1, hourlyCost: 2, runMs: 4 * H }],
    },
  ])('$name', ({ prices, uses, runs, expected, range, expectedRange }) => {
    const r = range ?? { from, to };
    const got = bill({ uses, runs, prices, from: r.from, to: r.to, now, monthStart: utcMonth });
    const want = expectedRange ?? expected;
    expect(got.map((b) => b.model)).toEqual(want.map((b) => b.model));
    got.forEach((b, i) => {
      expect(b.tokenCost).toBeCloseTo(want[i]!.tokenCost, 12);
      expect(b.hourlyCost).toBeCloseTo(want[i]!.hourlyCost, 12);
      expect(b.runMs).toBe(want[i]!.runMs);
    });
  });
});
