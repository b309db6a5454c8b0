// Usage capture on both request paths: tokens from plain and streamed answers, a stream's usage
// asked of the engine when its client didn't ask (and that event dropped, every other byte as the
// engine sent it), llama-server's timings, failed requests, named keys, and usage: off.
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { UsageRequest } from '../../src-shared/usage.js';
import { fastPathStats } from '../../src-main/core/router/fast-path.js';
import { waitFor } from '../helpers/http.js';
import { closeAllNodes, startNode, type NodeFixture } from '../helpers/node-fixture.js';

const CANNED = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'canned-stream-engine.mjs');
const canned = { name: 'canned', aliases: ['gpt-4o-mini'], script: { file: 'canned.sh', text: `exec "$NODE" '${CANNED}'\n` }, flags: [] };

afterEach(() => closeAllNodes());

interface Answer { status: number; text: string }

/** A POST; `chunked` sends the body in chunks, which the fast path leaves to node:http. */
function post(fx: NodeFixture, body: unknown, { chunked = false, headers = {} as Record<string, string>, target = '/v1/chat/completions' } = {}): Promise<Answer> {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port: fx.routerPort, method: 'POST', path: target, agent: false, headers: { 'content-type': 'application/json', 'user-agent': 'OpenAI/Python 1.51.0', ...(chunked ? {} : { 'content-length': Buffer.byteLength(text) }), ...headers } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode!, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    if (chunked) req.write(text.slice(0, 5));
    req.end(chunked ? text.slice(5) : text);
  });
}

async function records(fx: NodeFixture, count: number): Promise<UsageRequest[]> {
  let rows: UsageRequest[] = [];
  await waitFor(async () => (rows = (await fx.node.api.listUsageRequests({ limit: 100 })).requests).length >= count, 10_000, `${count} usage records`);
  return rows.reverse(); // oldest first
}

async function engineSaw(fx: NodeFixture, name = 'canned'): Promise<Record<string, unknown>> {
  const res = await fetch(`http://127.0.0.1:${fx.ports[name]}/last`);
  return JSON.parse(await res.text()) as Record<string, unknown>;
}

const ask = (extra: Record<string, unknown> = {}) => ({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], ...extra });

describe('usage capture', () => {
  it('streams: the client that asked for usage gets the engine bytes unchanged; one that did not gets them without the usage event; both recorded, on both paths', async () => {
    const fx = await startNode({ models: [canned] });
    await fx.node.api.startModel('canned');
    const engineStream = async (options: Record<string, unknown>) => {
      const res = await fetch(`http://127.0.0.1:${fx.ports.canned}/v1/chat/completions`, { method: 'POST', body: JSON.stringify(ask({ stream: true, ...options })) });
      return res.text();
    };
    const withUsage = await engineStream({ stream_options: { include_usage: true } });
    const withoutUsage = await engineStream({});
    expect(withUsage).toContain('"choices":[],"usage"');
    const fastBefore = fastPathStats(fx.node.server)!.served;

    for (const chunked of [false, true]) {
      // Asked for by the client: passed on untouched, both ways.
      const own = ask({ stream: true, stream_options: { include_usage: true } });
      const a = await post(fx, own, { chunked });
      expect(a.text).toBe(withUsage);
      expect(await engineSaw(fx)).toEqual({ ...own, model: 'gpt-4o-mini' });
      // Not asked for: the engine is asked, the client sees exactly the stream it would have seen.
      const plain = ask({ stream: true });
      const b = await post(fx, plain, { chunked });
      expect(b.text).toBe(withoutUsage);
      expect(await engineSaw(fx)).toEqual({ ...plain, stream_options: { include_usage: true } });
    }
    // Two of the four went the fast path, two node:http (the chunked uploads).
    expect(fastPathStats(fx.node.server)!.served - fastBefore).toBe(2);

    const rows = await records(fx, 4);
    for (const row of rows) {
      expect(row).toMatchObject({ model: 'canned', requested: 'gpt-4o-mini', endpoint: '/v1/chat/completions', status: 200, errorCode: null, client: 'OpenAI/Python', promptTokens: 11, completionTokens: 3, cachedTokens: 4, streamed: true });
      expect(row.ttftMs).toBeGreaterThanOrEqual(0);
      expect(row.totalMs).toBeGreaterThanOrEqual(row.ttftMs!);
      // No timings from this engine: completion tokens over the generation time.
      expect(row.tokensPerSecond).toBeGreaterThan(0);
    }
  });

  it('plain answers: usage from the JSON on both paths; failures recorded with their codes', async () => {
    const fx = await startNode({ models: [canned] });
    await fx.node.api.startModel('canned');
    const a = await post(fx, ask());
    const b = await post(fx, ask(), { chunked: true });
    expect([a.status, b.status]).toEqual([200, 200]);
    expect(await post(fx, ask({ model: 'nope' }))).toMatchObject({ status: 404 });
    expect(await post(fx, '{"model": ')).toMatchObject({ status: 400 });
    const rows = await records(fx, 4);
    expect(rows.slice(0, 2).map((r) => [r.status, r.promptTokens, r.completionTokens, r.streamed])).toEqual([[200, 7, 2, false], [200, 7, 2, false]]);
    expect(rows[2]).toMatchObject({ status: 404, errorCode: 'model_not_found', model: '', requested: 'nope', promptTokens: null });
    expect(rows[3]).toMatchObject({ status: 400, errorCode: 'invalid_json', model: '', requested: '' });
  });

  it.each([
    ['the fast path', false],
    ["node:http's path (a chunked upload)", true],
  ])("llama-server's timings: its own tokens/s; once seen, streams are no longer asked for usage — %s", async (_path, chunked) => {
    const fx = await startNode({ models: [{ name: 'llama', flags: ['--load-ms', '0', '--timings', '--tokens-per-second', '0'] }] });
    await fx.node.api.startModel('llama');
    const stream = async () => (await post(fx, { model: 'llama', stream: true, max_tokens: 4, messages: [{ role: 'user', content: 'one two three' }] }, { chunked })).text;
    const first = await stream();
    // Asked for usage (the launch is not llama-server by name): the usage event, timings and all, was dropped.
    expect(first).not.toContain('"usage"');
    const second = await stream();
    // Its timings were seen: the second is not asked, and its last event carries them as the engine sent it.
    expect(second).toContain('"timings"');
    expect(second).not.toContain('"usage"');
    const speed = (JSON.parse(/data: (\{.*"timings".*\})\n/.exec(second)![1]!) as { timings: { predicted_per_second: number } }).timings.predicted_per_second;
    const plain = JSON.parse((await post(fx, { model: 'llama', max_tokens: 4, messages: [{ role: 'user', content: 'one two three' }] })).text) as { timings: { predicted_per_second: number } };
    const rows = await records(fx, 3);
    expect(rows.map((r) => [r.promptTokens, r.completionTokens])).toEqual([[3, 4], [3, 4], [3, 4]]);
    expect(rows[1]!.tokensPerSecond).toBeCloseTo(speed, 1);
    expect(rows[2]!.tokensPerSecond).toBeCloseTo(plain.timings.predicted_per_second, 1);
  });

  it('an engine that dies mid-stream: engine_died; named keys: the key name is the client', async () => {
    const KEY = 'usage-capture-key-0123456789abcdef';
    const fx = await startNode({ models: [{ name: 'crashy', flags: ['--load-ms', '0', '--crash-after', '0', '--tokens-per-second', '0'] }], program: { api_keys: [{ name: 'laptop', key: KEY }] } });
    await fx.node.api.startModel('crashy');
    const res = await post(fx, { model: 'crashy', stream: true, max_tokens: 8, messages: [{ role: 'user', content: 'x' }] }, { headers: { authorization: `Bearer ${KEY}` } });
    expect(res.text).toContain('engine_died');
    const [row] = await records(fx, 1);
    expect(row).toMatchObject({ model: 'crashy', status: 200, errorCode: 'engine_died', client: 'laptop', streamed: true });
    expect(JSON.stringify(await fx.node.api.listUsageRequests({}))).not.toContain(KEY);
  });

  it('usage: off — nothing recorded and no request changed', async () => {
    const fx = await startNode({ models: [canned], program: { usage: 'off' } });
    await fx.node.api.startModel('canned');
    const plain = ask({ stream: true });
    const res = await post(fx, plain);
    expect(res.status).toBe(200);
    expect(await engineSaw(fx)).toEqual(plain);
    expect((await fx.node.api.listUsageRequests({})).requests).toEqual([]);
  });
});
