// Usage through a real node over real HTTP: records handed to the node's UsageSink (as the router
// does) come back from GET /api/usage (filters, grouping, totals, costs), /api/usage/requests
// (paged, newest first), /api/usage/export.csv and DELETE /api/usage; engine runs of a real start
// and stop are charged hourly; /metrics counts tokens and latency; usage: off keeps nothing.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { usageReportSchema, usageRequestsPageSchema } from '../../src-shared/api-schemas.js';
import type { UsageReport, UsageRequestsPage } from '../../src-shared/usage.js';
import type { UsageRecord } from '../../src-main/core/usage/record.js';
import { closeAllNodes, startNode, waitForState, type NodeFixture } from '../helpers/node-fixture.js';

const KEY = 'usage-test-key-0123456789abcdef';
const AUTH = { authorization: `Bearer ${KEY}` };
const DAY = Date.UTC(2026, 0, 15);
const H = 3_600_000;

afterEach(closeAllNodes);

function rec(over: Partial<UsageRecord>): UsageRecord {
  return { startedAt: DAY, model: 'chat', requested: 'chat', endpoint: '/v1/chat/completions', status: 200, errorCode: null, client: 'laptop', promptTokens: 100, completionTokens: 50, cachedTokens: 0, ttftMs: 20, totalMs: 200, tokensPerSecond: 25, streamed: true, ...over };
}

async function node(program: Record<string, unknown> = {}): Promise<NodeFixture> {
  return startNode({
    models: [
      { name: 'chat', aliases: ['c'] },
      { name: 'emb', mode: 'Embedding' },
    ],
    program: { api_keys: [KEY], ...program },
  });
}

async function get<T>(fx: NodeFixture, url: string): Promise<{ status: number; body: T; type: string; text: string }> {
  const res = await fetch(`${fx.url}${url}`, { headers: AUTH });
  const text = await res.text();
  const type = res.headers.get('content-type') ?? '';
  return { status: res.status, type, text, body: (type.startsWith('application/json') ? JSON.parse(text) : text) as T };
}

/** A day of traffic: chat every hour from two clients, one failure, one embedding. */
function feedDay(fx: NodeFixture): void {
  for (let h = 0; h < 24; h++) {
    fx.node.usage.record(rec({ startedAt: DAY + h * H + 60_000, client: h % 2 === 0 ? 'laptop' : 'openai-python', tokensPerSecond: 20 + h }));
  }
  fx.node.usage.record(rec({ startedAt: DAY + 5 * H, status: 503, errorCode: 'engine_died', promptTokens: null, completionTokens: null, tokensPerSecond: null, ttftMs: null }));
  fx.node.usage.record(rec({ startedAt: DAY + 6 * H, model: 'emb', requested: 'emb', endpoint: '/v1/embeddings', promptTokens: 500, completionTokens: 0, tokensPerSecond: null, client: 'laptop', streamed: false }));
  // A request for no model at all (404) and one outside the day.
  fx.node.usage.record(rec({ startedAt: DAY + 7 * H, model: '', requested: 'nope', status: 404, errorCode: 'model_not_found', promptTokens: null, completionTokens: null, tokensPerSecond: null }));
  fx.node.usage.record(rec({ startedAt: DAY - H }));
}

describe('usage API', () => {
  it('GET /api/usage: totals, hourly series, per model and per client, filters and grouping', async () => {
    const fx = await node();
    feedDay(fx);
    const q = `from=${DAY}&to=${DAY + 24 * H}&tz=UTC`;
    const { status, body } = await get<UsageReport>(fx, `/api/usage?${q}`);
    expect(status).toBe(200);
    usageReportSchema.parse(body);
    expect(body.status.state).toBe('on');
    expect(body.group).toBe('hour');
    expect(body.totals).toMatchObject({ requests: 27, failed: 2, promptTokens: 24 * 100 + 500, completionTokens: 24 * 50, cost: null });
    expect(body.series.at).toHaveLength(24);
    expect(body.series.at[0]).toBe(DAY);
    expect(body.series.requests[5]).toBe(2);
    expect(body.series.failed[5]).toBe(1);
    expect(body.series.requests.reduce((a, b) => a + b, 0)).toBe(27);
    const chatSpeed = body.series.tokensPerSecond.find((s) => s.model === 'chat')!;
    expect(chatSpeed.values[3]).toBeCloseTo(23, 6);
    expect(body.models.map((m) => [m.model, m.requests])).toEqual([['chat', 25], ['emb', 1], ['', 1]]);
    expect(body.clients.map((c) => [c.client, c.requests])).toEqual([['laptop', 15], ['openai-python', 12]]);
    expect(body.modelNames).toEqual(['chat', 'emb']);

    const byClient = (await get<UsageReport>(fx, `/api/usage?${q}&client=openai-python`)).body;
    expect(byClient.totals.requests).toBe(12);
    const byModel = (await get<UsageReport>(fx, `/api/usage?${q}&model=emb`)).body;
    expect(byModel.totals).toMatchObject({ requests: 1, promptTokens: 500 });
    const daily = (await get<UsageReport>(fx, `/api/usage?from=${DAY - 2 * 86_400_000}&to=${DAY + 86_400_000}&tz=UTC&group=day`)).body;
    expect(daily.series.at).toEqual([DAY - 2 * 86_400_000, DAY - 86_400_000, DAY]);
    expect(daily.series.requests).toEqual([0, 1, 27]);
    // Days follow the time zone asked for: in UTC+5:30 the day of DAY begins 5.5 h earlier.
    const kolkata = (await get<UsageReport>(fx, `/api/usage?from=${DAY - 5.5 * H}&to=${DAY + 18.5 * H}&tz=Asia/Kolkata&group=day`)).body;
    expect(kolkata.series.at).toEqual([DAY - 5.5 * H]);
    expect(kolkata.months.map((m) => m.month)).toEqual(['2026-01']);

    for (const bad of ['group=week', 'from=yesterday', `from=${DAY}&to=${DAY - 1}`, 'tz=Mars/Olympus', 'colour=red']) {
      const res = await get<{ error: { code: string; message: string } }>(fx, `/api/usage?${bad}`);
      expect(res.status, bad).toBe(400);
      expect(res.body.error.code).toBe('invalid_usage_query');
    }
  });

  it('costs from config prices: token tiers over the month and hourly engine time of a real start and stop', async () => {
    const fx = await node();
    const text = fs.readFileSync(fx.configPath, 'utf8');
    const saved = await fx.node.api.saveConfig(
      text
        .replace(/^(  chat:\n)/m, '$1    pricing:\n      tiers:\n        - {up_to_tokens: 1000, input_per_1m: 10, output_per_1m: 20}\n        - {input_per_1m: 1, output_per_1m: 2}\n      hourly: 3.6\n')
        .replace(/^(  emb:\n)/m, '$1    pricing:\n      hourly: 1\n'),
    );
    expect(saved.ok, saved.message).toBe(true);
    // 900 tokens earlier in the month, then 100 + 50: 100 prompt at tier 1, 50 completion at tier 2.
    fx.node.usage.record(rec({ startedAt: DAY - 3 * 86_400_000, promptTokens: 900, completionTokens: 0 }));
    fx.node.usage.record(rec({ startedAt: DAY + H }));
    const day = (await get<UsageReport>(fx, `/api/usage?from=${DAY}&to=${DAY + 24 * H}&tz=UTC`)).body;
    expect(day.priced).toBe(true);
    const chat = day.models.find((m) => m.model === 'chat')!;
    expect(chat.tokenCost).toBeCloseTo((100 * 10 + 50 * 2) / 1e6, 12);
    expect(day.totals.cost).toBeCloseTo((100 * 10 + 50 * 2) / 1e6, 12);
    expect(day.series.cost[1]).toBeCloseTo((100 * 10 + 50 * 2) / 1e6, 12);

    // A real engine run: spawn to exit, charged at 3.6 an hour (0.001 a second).
    const before = Date.now();
    await fx.node.api.startModel('chat');
    await fx.node.api.stopModel('chat');
    await waitForState(fx, 'chat', 'stopped');
    const after = Date.now();
    const now = (await get<UsageReport>(fx, `/api/usage?from=${before - 1000}&to=${after + 1000}`)).body;
    const run = now.models.find((m) => m.model === 'chat')!;
    expect(run.engineMs).toBeGreaterThan(0);
    expect(run.engineMs).toBeLessThanOrEqual(after - before);
    expect(run.hourlyCost).toBeCloseTo((run.engineMs / 1000) * 0.001, 9);
  });

  it('GET /api/usage/requests: newest first, paged, failed only on request', async () => {
    const fx = await node();
    feedDay(fx);
    const q = `from=${DAY}&to=${DAY + 24 * H}`;
    const first = await get<UsageRequestsPage>(fx, `/api/usage/requests?${q}&limit=10`);
    expect(first.status).toBe(200);
    usageRequestsPageSchema.parse(first.body);
    const times = first.body.requests.map((r) => r.startedAt);
    expect(times[0]).toBe(DAY + 23 * H + 60_000);
    expect(first.body.requests).toHaveLength(10);
    const seen = new Set(first.body.requests.map((r) => r.id));
    let next = first.body.next;
    while (next !== null) {
      const page = (await get<UsageRequestsPage>(fx, `/api/usage/requests?${q}&limit=10&before=${next}`)).body;
      for (const r of page.requests) {
        expect(seen.has(r.id)).toBe(false);
        seen.add(r.id);
      }
      next = page.next;
    }
    expect(seen.size).toBe(27);
    const failed = (await get<UsageRequestsPage>(fx, `/api/usage/requests?${q}&failed=true`)).body.requests;
    expect(failed.map((r) => [r.status, r.errorCode])).toEqual([[404, 'model_not_found'], [503, 'engine_died']]);
    expect((await get<unknown>(fx, `/api/usage/requests?limit=501`)).status).toBe(400);
  });

  it('GET /api/usage/export.csv: one line per request, a key never in it', async () => {
    const fx = await node();
    feedDay(fx);
    fx.node.usage.record(rec({ startedAt: DAY + 2, client: '=cmd|x', requested: 'a,"b"' }));
    const res = await get<string>(fx, `/api/usage/export.csv?from=${DAY}&to=${DAY + 24 * H}`);
    expect(res.status).toBe(200);
    expect(res.type).toMatch(/^text\/csv/);
    const lines = res.text.trimEnd().split('\r\n');
    expect(lines[0]).toBe('id,started_at,model,requested,endpoint,status,error_code,client,prompt_tokens,completion_tokens,cached_tokens,ttft_ms,total_ms,tokens_per_second,streamed');
    expect(lines).toHaveLength(1 + 28);
    expect(lines[1]).toContain(`,${new Date(DAY + 2).toISOString()},chat,"a,""b""",/v1/chat/completions,200,,"'=cmd|x",100,50,0,20,200,25,true`);
    expect(res.text).not.toContain(KEY);
  });

  it('DELETE /api/usage: needs a range, deletes what started in it', async () => {
    const fx = await node();
    feedDay(fx);
    const del = (qs: string) => fetch(`${fx.url}/api/usage${qs}`, { method: 'DELETE', headers: AUTH });
    const refused = await del('');
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('invalid_usage_range');
    const res = await del(`?from=${DAY}&to=${DAY + 12 * H}`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ requests: 15, runs: 0 });
    const left = (await get<UsageReport>(fx, `/api/usage?from=${DAY - 2 * H}&to=${DAY + 24 * H}`)).body;
    expect(left.totals.requests).toBe(13);
    expect((await get<UsageReport>(fx, `/api/usage?from=${DAY}&to=${DAY + 12 * H}`)).body.totals.requests).toBe(0);
  });

  it('/metrics: token counters and a latency histogram per model', async () => {
    const fx = await node();
    feedDay(fx);
    const text = (await get<string>(fx, '/metrics')).text;
    expect(text).toContain('llm_manager_prompt_tokens_total{model="chat"} 2500');
    expect(text).toContain('llm_manager_completion_tokens_total{model="emb"} 0');
    expect(text).toContain('# TYPE llm_manager_request_duration_seconds histogram');
    expect(text).toContain('llm_manager_request_duration_seconds_bucket{model="chat",le="0.25"} 26');
    expect(text).toContain('llm_manager_request_duration_seconds_count{model="chat"} 26');
  });

  it('usage: off keeps nothing and says so', async () => {
    const fx = await node({ usage: 'off' });
    feedDay(fx);
    const report = (await get<UsageReport>(fx, `/api/usage?from=${DAY}&to=${DAY + 24 * H}`)).body;
    expect(report.status).toMatchObject({ state: 'off', path: null });
    expect(report.totals.requests).toBe(0);
    expect(fs.existsSync(path.join(fx.dir, 'usage.sqlite'))).toBe(false);
  });

  it('the database sits beside config.yaml', async () => {
    const fx = await node();
    const report = (await get<UsageReport>(fx, '/api/usage')).body;
    expect(report.status.path).toBe(path.join(fx.dir, 'usage.sqlite'));
    expect(fs.existsSync(path.join(fx.dir, 'usage.sqlite'))).toBe(true);
  });
});
