// The report's token cost with tiers, on a real SQLite store: the tokens a model used earlier in the
// month (summed by SQLite, not read request by request) set the tier position the range starts at,
// and the range's costs equal pricing the whole month request by request.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ModelPricing } from '../../src-shared/config.js';
import { checkUsageQuery, type CheckedUsageQuery } from '../../src-shared/usage.js';
import { TokenMeter } from '../../src-main/core/usage/billing.js';
import type { UsageRecord } from '../../src-main/core/usage/record.js';
import { buildReport } from '../../src-main/core/usage/report.js';
import { UsageStore } from '../../src-main/core/usage/store.js';

const T = (iso: string) => Date.parse(iso);
const utcMonth = (at: number) => {
  const d = new Date(at);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
};
const TIERS: ModelPricing['tiers'] = [
  { upToTokens: 10_000, inputPer1m: 10, outputPer1m: 20 },
  { upToTokens: 30_000, inputPer1m: 5, outputPer1m: 10 },
  { upToTokens: null, inputPer1m: 1, outputPer1m: 2 },
];
const prices = { a: { tiers: TIERS, hourly: null }, b: { tiers: [{ upToTokens: 5_000, inputPer1m: 3, outputPer1m: 3 }, { upToTokens: null, inputPer1m: 1, outputPer1m: 1 }], hourly: null } };

function record(at: number, model: string, prompt: number, completion: number): UsageRecord {
  return {
    startedAt: at, model, requested: model, endpoint: '/v1/chat/completions', status: 200, errorCode: null, client: 'test',
    promptTokens: prompt, completionTokens: completion, cachedTokens: null, ttftMs: 5, totalMs: 50, tokensPerSecond: null, streamed: false,
  };
}

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

describe('token tiers in the report', () => {
  it('a range that starts mid-month is priced from the tier the month had reached, as request-by-request pricing says', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'llm-usage-tiers-'));
    dirs.push(dir);
    const store = UsageStore.open(path.join(dir, 'usage.sqlite'), T('2025-03-20T00:00:00Z'));
    // 400 requests over March 1-15 for two priced models and one unpriced, a few in February.
    const records: UsageRecord[] = [record(T('2025-02-27T10:00:00Z'), 'a', 50_000, 0)];
    for (let i = 0; i < 400; i++) {
      const at = T('2025-03-01T00:00:00Z') + i * 54 * 60_000;
      records.push(record(at, ['a', 'b', 'free'][i % 3]!, 100 + (i % 7) * 40, 30 + (i % 5) * 25));
    }
    store.insert(records);

    const report = (from: string, to: string) => {
      const query = checkUsageQuery({ from: T(from), to: T(to), group: 'day', tz: 'UTC' }, T('2025-03-20T00:00:00Z'), 'UTC') as CheckedUsageQuery;
      expect(typeof query).toBe('object');
      const status = { state: 'on', message: null, path: null, movedAside: null, sizeBytes: null, oldest: null, requests: 0 } as never;
      return buildReport({ store, query, status, currency: 'USD', prices, now: T('2025-03-20T00:00:00Z'), monthStart: utcMonth });
    };
    // Request by request over the whole month, keeping the costs of those in the range.
    const expected = (from: string, to: string) => {
      const meter = new TokenMeter(prices, utcMonth);
      const cost: Record<string, number> = {};
      for (const r of records.filter((x) => x.startedAt >= utcMonth(T(from)) && x.startedAt < T(to))) {
        const c = meter.charge({ at: r.startedAt, model: r.model, prompt: r.promptTokens!, completion: r.completionTokens! });
        if (r.startedAt >= T(from)) cost[r.model] = (cost[r.model] ?? 0) + c;
      }
      return cost;
    };
    for (const [from, to] of [
      ['2025-03-10T00:00:00Z', '2025-03-11T00:00:00Z'],
      ['2025-03-01T00:00:00Z', '2025-03-16T00:00:00Z'],
      ['2025-03-07T13:30:00Z', '2025-03-14T00:00:00Z'],
    ] as const) {
      const got = report(from, to);
      const want = expected(from, to);
      for (const model of ['a', 'b']) {
        const row = got.models.find((m) => m.model === model)!;
        expect(row.tokenCost).toBeCloseTo(want[model]!, 12);
        expect(want[model]).toBeGreaterThan(0);
      }
      // The February request never counts in March's tiers.
      expect(got.models.find((m) => m.model === 'free')?.tokenCost ?? 0).toBe(0);
    }
    // Mid-month, model a is past its first tier: the same tokens cost less than on March 1.
    const early = report('2025-03-01T00:00:00Z', '2025-03-02T00:00:00Z').models.find((m) => m.model === 'a')!;
    const late = report('2025-03-14T00:00:00Z', '2025-03-15T00:00:00Z').models.find((m) => m.model === 'a')!;
    expect(late.tokenCost / (late.promptTokens + late.completionTokens)).toBeLessThan(early.tokenCost / (early.promptTokens + early.completionTokens));
    store.close();
  });
});
