// The Usage page end to end: a day of recorded traffic (handed to the node's ledger as the router
// hands it) shows as totals, charts and tables in Chromium; a failed request opens its details;
// CSV export downloads the requests; "Delete history…" asks first, then the empty state explains
// what will appear. The Models page shows each model's tokens/s and requests today.
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import type { UsageRecord } from '../../src-main/core/usage/record.js';
import { closeEvery } from '../helpers/processes.js';
import { openBrowser, startE2eNode, type E2eBrowser, type E2eNode } from './fixture.js';

let node: E2eNode;
let ui: E2eBrowser;
let page: Page;

const H = 3_600_000;

/** A deterministic day: busier in the afternoon, three models, three clients, a few failures. */
function dayOfTraffic(now: number): UsageRecord[] {
  let seed = 7;
  const rand = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
  const records: UsageRecord[] = [];
  const hourStart = Math.floor(now / H) * H;
  for (let back = 23; back >= 0; back--) {
    const start = hourStart - back * H;
    const hour = new Date(start).getHours();
    const busy = 4 + Math.round(18 * Math.max(0, Math.sin(((hour - 7) / 16) * Math.PI)));
    for (let i = 0; i < busy; i++) {
      const at = start + Math.floor(rand() * (back === 0 ? Math.max(1, now - start - 1) : H));
      const kind = rand();
      const client = kind < 0.5 ? 'laptop' : kind < 0.8 ? 'openai-python' : 'continue';
      if (kind < 0.72) {
        const prompt = 200 + Math.floor(rand() * 1800);
        const completion = 80 + Math.floor(rand() * 700);
        const tps = 38 + 6 * Math.sin(hour / 3) + rand() * 4;
        const failed = rand() < 0.04;
        records.push({
          startedAt: at, model: 'demo', requested: rand() < 0.3 ? 'demo-chat' : 'demo', endpoint: '/v1/chat/completions', status: failed ? 503 : 200, errorCode: failed ? 'engine_died' : null, client,
          promptTokens: failed ? null : prompt, completionTokens: failed ? null : completion, cachedTokens: failed ? null : Math.floor(prompt * 0.4), ttftMs: failed ? null : 120 + rand() * 200,
          totalMs: failed ? 40 : 150 + (completion / tps) * 1000, tokensPerSecond: failed ? null : tps, streamed: rand() < 0.8,
        });
      } else if (kind < 0.92) {
        const prompt = 50 + Math.floor(rand() * 4000);
        records.push({ startedAt: at, model: 'demo-embed', requested: 'embed', endpoint: '/v1/embeddings', status: 200, errorCode: null, client, promptTokens: prompt, completionTokens: 0, cachedTokens: null, ttftMs: 15, totalMs: 20 + prompt / 100, tokensPerSecond: null, streamed: false });
      } else {
        records.push({ startedAt: at, model: 'demo-rerank', requested: 'demo-rerank', endpoint: '/v1/rerank', status: rand() < 0.1 ? 400 : 200, errorCode: null, client, promptTokens: 300 + Math.floor(rand() * 600), completionTokens: 0, cachedTokens: null, ttftMs: 30, totalMs: 45, tokensPerSecond: null, streamed: false });
      }
    }
  }
  return records.sort((a, b) => a.startedAt - b.startedAt);
}

describe('the Usage page', () => {
  beforeAll(async () => {
    node = await startE2eNode();
    ui = await openBrowser();
    page = ui.page;
    // Prices: demo per token in two tiers, demo-embed per hour of engine time.
    const text = fs.readFileSync(node.configPath, 'utf8');
    const priced = text
      .replace(/^program:\n/m, 'program:\n  usage:\n    currency: USD\n')
      .replace(/^( {2}demo:\n)/m, '$1    pricing:\n      tiers:\n        - {up_to_tokens: 100000, input_per_1m: 0.6, output_per_1m: 2.4}\n        - {input_per_1m: 0.3, output_per_1m: 1.2}\n')
      .replace(/^( {2}demo-embed:\n)/m, '$1    pricing:\n      hourly: 0.5\n');
    const saved = await node.node.api.saveConfig(priced);
    expect(saved.ok, JSON.stringify(saved.issues)).toBe(true);
  });

  afterAll(() => closeEvery([ui, node].filter((f) => f !== undefined)));

  it('says what will appear before anything was recorded', async () => {
    await page.goto(`${node.url}/#/usage`);
    await page.getByText('No requests in this range yet').waitFor();
    expect(await page.locator('.empty-body').textContent()).toContain('Every request to the OpenAI-compatible endpoint');
    expect(await page.locator('.usage-note').textContent()).toContain('re-prices all history');
    await ui.screenshot('usage-empty');
  });

  it('shows a day of traffic: totals, charts, per model and per client, latest requests', async () => {
    const now = Date.now();
    const records = dayOfTraffic(now);
    for (const r of records) node.node.usage.record(r);
    // A demo-embed engine run of the last 3 hours (hourly price).
    await node.node.api.startModel('demo-embed');

    await page.getByLabel('Range').selectOption('24h');
    const requestsTotal = page.locator('[data-total="Requests"]');
    await expect.poll(() => requestsTotal.textContent(), { timeout: 10_000 }).not.toBe('0');
    const shown = Number((await requestsTotal.textContent())!.replace(/[^\d.]/g, '')) * ((await requestsTotal.textContent())!.includes('k') ? 1000 : 1);
    expect(Math.abs(shown - records.length)).toBeLessThanOrEqual(records.length >= 1000 ? 10 : 0);
    const prompt = records.reduce((sum, r) => sum + (r.promptTokens ?? 0), 0);
    expect(await page.locator('[data-total="Tokens in"]').textContent()).toBe(`${(prompt / 1000).toFixed(prompt < 10_000 ? 2 : 1)} k`);
    expect(await page.locator('[data-total="Cost"]').textContent()).toMatch(/^\$\d+\.\d{2,4}$/);

    // Three charts drawn (tokens and requests, speed, cost), each over 24 hourly buckets.
    await expect.poll(() => page.locator('.usage-chart canvas').count()).toBe(3);
    for (const fig of await page.locator('.usage-chart').all()) expect(Number(await fig.getAttribute('data-points'))).toBeGreaterThanOrEqual(24);

    const models = page.getByRole('region', { name: 'Per model' });
    expect(await models.locator('tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-model')))).toEqual(['demo', 'demo-embed', 'demo-rerank']);
    expect(await models.locator('tr[data-model="demo"] td').nth(5).textContent()).toMatch(/tok\/s$/);
    const clients = page.getByRole('region', { name: 'Per client' });
    expect(await clients.locator('tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-client')))).toEqual(['continue', 'laptop', 'openai-python']);
    expect(await page.getByRole('region', { name: 'Cost per month' }).locator('tbody tr').count()).toBeGreaterThanOrEqual(1);

    // Latest requests: newest first, failed ones marked.
    const latest = page.getByRole('region', { name: 'Latest requests' });
    const first = await latest.locator('tbody tr').first().getAttribute('data-request');
    const newest = records[records.length - 1]!;
    const page1 = await node.node.api.listUsageRequests({ from: now - 24 * H, to: now + H, limit: 1 });
    expect(Number(first)).toBe(page1.requests[0]!.id);
    expect(page1.requests[0]!.startedAt).toBe(newest.startedAt);
    await page.locator('#page').evaluate((el) => el.scrollTo(0, 0));
    await ui.screenshot('usage-day');
    // The tables under the charts.
    await page.getByRole('region', { name: 'Per model' }).evaluate((el) => el.scrollIntoView({ block: 'start' }));
    await ui.screenshot('usage-day-tables');
  });

  it('a failed request opens its details, never a key', async () => {
    const latest = page.getByRole('region', { name: 'Latest requests' });
    // Older pages load on request until a failed one is among them.
    for (let i = 0; i < 10 && (await latest.locator('tr.request-failed').count()) === 0; i++) {
      await latest.getByRole('button', { name: 'Show older requests' }).click();
      await page.waitForTimeout(100);
    }
    const failed = latest.locator('tr.request-failed').first();
    await failed.click();
    const dialog = page.getByTestId('request-details');
    await dialog.waitFor();
    expect(await dialog.locator('h2').textContent()).toMatch(/^Failed request #\d+$/);
    expect(await dialog.textContent()).toMatch(/Status(503|400)/);
    await ui.screenshot('usage-request-details');
    await dialog.getByRole('button', { name: 'Close' }).click();
    await dialog.waitFor({ state: 'detached' });
  });

  it('exports the range as CSV', async () => {
    const download = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Export CSV' }).click();
    const file = await (await download).path();
    const lines = fs.readFileSync(file!, 'utf8').trimEnd().split('\r\n');
    expect(lines[0]).toMatch(/^id,started_at,model,/);
    expect(lines.length).toBeGreaterThan(100);
  });

  it('the Models page shows tokens/s and requests today', async () => {
    await page.goto(`${node.url}/#/models`);
    const row = page.locator('tr[data-model="demo"]').first();
    await expect.poll(() => row.locator('.usage-today').textContent(), { timeout: 10_000 }).toMatch(/tok\/s/);
    expect(await row.locator('.usage-today').textContent()).toMatch(/\d+ req$/);
    expect(await row.locator('.usage-today').getAttribute('title')).toMatch(/Since midnight: \d+ requests?/);
  });

  it('"Delete history…" asks, then deletes the range and says what will appear', async () => {
    await page.goto(`${node.url}/#/usage`);
    await page.getByLabel('Range').selectOption('24h');
    await page.getByRole('button', { name: 'Delete history…' }).click();
    const confirm = page.getByTestId('confirm-dialog');
    await confirm.waitFor();
    expect(await confirm.textContent()).toContain('last 24 hours');
    await ui.screenshot('usage-delete-confirm');
    await confirm.getByRole('button', { name: 'Delete history' }).click();
    await page.getByText('No requests in this range yet').waitFor();
    expect(await page.locator('[data-total="Requests"]').textContent()).toBe('0');
  });
});
