// The router's hot path with real engines: a request for a stopped model starts it, answers are
// streamed through as they are generated, and a crowd of cold requests shares a single start.
import { afterEach, describe, expect, it } from 'vitest';
import { chat, jsonChunks, postJson, readJson, readSse, waitFor } from '../helpers/http.js';
import { closeAllNodes, startNode, waitForState } from '../helpers/node-fixture.js';
import { isProcessRunning } from '../helpers/processes.js';

afterEach(closeAllNodes);

describe('on-demand start through /v1', () => {
  it('starts a stopped model on the first request, answers, and reports it ready in /api info', async () => {
    const fx = await startNode({ models: [{ name: 'demo', aliases: ['gpt-3.5-turbo'], flags: ['--load-ms', '200'] }] });
    const before = await fx.info('demo');
    expect(before).toMatchObject({ state: 'stopped', pid: null, startedAt: null, lastUsed: null });

    const sentAt = Date.now();
    const res = await postJson(`${fx.url}/v1/chat/completions`, chat('demo', { max_tokens: 3 }));
    expect(res.status).toBe(200);
    const body = await readJson(res);
    expect(body).toMatchObject({ object: 'chat.completion', model: 'demo' });
    expect(body.choices[0].message.content).toBe('Echo: hello there ');
    // The engine was loading for 200 ms: the request waited for it instead of failing.
    expect(Date.now() - sentAt).toBeGreaterThanOrEqual(190);

    const info = await fx.info('demo');
    expect(info).toMatchObject({ name: 'demo', state: 'ready', port: fx.ports['demo'], profile: 'Test-Profile', inFlight: 0, lastError: null });
    expect(info.pid).toEqual(expect.any(Number));
    expect(isProcessRunning(info.pid!)).toBe(true);
    for (const stamp of [info.startedAt, info.readyAt, info.lastUsed]) {
      expect(stamp).toEqual(expect.any(String));
      expect(Date.parse(stamp!)).toBeGreaterThanOrEqual(sentAt - 5);
    }
    expect(Date.parse(info.readyAt!)).toBeGreaterThanOrEqual(Date.parse(info.startedAt!) + 150);
    expect(await fx.spawnCount('demo')).toBe(1);

    // A second request is served by the same engine, not a new one.
    expect((await postJson(`${fx.url}/v1/chat/completions`, chat('demo'))).status).toBe(200);
    expect((await fx.info('demo')).pid).toBe(info.pid);
    expect(await fx.spawnCount('demo')).toBe(1);
  });

  it('finds a model by any alias, case-insensitively, and the engine sees the request', async () => {
    const fx = await startNode({ models: [{ name: 'demo', aliases: ['gpt-3.5-turbo', 'demo-chat'] }] });
    for (const model of ['GPT-3.5-TURBO', 'Demo-Chat', 'DEMO']) {
      const res = await postJson(`${fx.url}/v1/chat/completions`, chat(model, { max_tokens: 1 }));
      expect(res.status, model).toBe(200);
      // The demo engine names itself after MODEL_NAME, which is the model's real name.
      expect((await readJson(res)).model).toBe('demo');
    }
    expect(await fx.spawnCount('demo')).toBe(1);
    // The engine logs each request once it is done: all three reached the one engine.
    const served = async () => (await fx.node.api.modelLogs('demo')).filter((l) => l.text.includes('POST /v1/chat/completions 200')).length;
    await waitFor(async () => (await served()) === 3, 3000, 'three requests in the engine log');
  });

  it('rewrites "model" to served_model_name for an engine that knows only that name (vLLM)', async () => {
    const SERVED = 'Qwen/Qwen2.5-7B-Instruct';
    const fx = await startNode({
      models: [
        { name: 'qwen', aliases: ['gpt-3.5-turbo'], servedModelName: SERVED, flags: ['--load-ms', '50', '--model', SERVED, '--served-names', SERVED] },
        { name: 'strict', flags: ['--load-ms', '50', '--served-names', SERVED] },
      ],
    });
    // Cold and warm, by alias and by name, streamed too (fetch's requests take node:http's path; the
    // fast path's rewrite is tested with raw sockets in router-fast-path.test.ts).
    const cold = await postJson(`${fx.url}/v1/chat/completions`, chat('gpt-3.5-turbo', { max_tokens: 2 }));
    expect(cold.status).toBe(200);
    expect((await readJson(cold)).model).toBe(SERVED);
    const warm = await postJson(`${fx.url}/v1/chat/completions`, chat('qwen', { max_tokens: 8, messages: [{ role: 'user', content: 'the "model": "x" 🙂' }] }));
    expect(warm.status).toBe(200);
    expect((await readJson(warm)).choices[0].message.content).toMatch(/^Echo: the "model": "x" 🙂/);
    const streamed = await postJson(`${fx.url}/v1/chat/completions`, chat('GPT-3.5-Turbo', { stream: true, max_tokens: 2 }));
    expect(streamed.status).toBe(200);
    expect((await readSse(streamed)).events.at(-1)?.data).toBe('[DONE]');
    // A client that spoke to vLLM directly keeps its model name: the served name finds the model too.
    const direct = await postJson(`${fx.url}/v1/chat/completions`, chat(SERVED.toLowerCase(), { max_tokens: 2 }));
    expect(direct.status).toBe(200);
    expect((await readJson(direct)).model).toBe(SERVED);
    // Without the setting, such an engine refuses the router's name for it, and the client is told so.
    const refused = await postJson(`${fx.url}/v1/chat/completions`, chat('strict'));
    expect(refused.status).toBe(404);
    expect((await readJson(refused)).error.message).toBe('The model `strict` does not exist.');
  });

  it("a served name two models share, or that is another model's name or alias, finds no model by it", async () => {
    const fx = await startNode({
      models: [
        { name: 'a', servedModelName: 'shared', flags: ['--load-ms', '20'] },
        { name: 'b', servedModelName: 'shared', flags: ['--load-ms', '20'] },
        { name: 'c', servedModelName: 'a-alias', flags: ['--load-ms', '20'] },
        { name: 'd', aliases: ['a-alias'], servedModelName: 'only-d', flags: ['--load-ms', '20'] },
      ],
    });
    const ask = (model: string) => postJson(`${fx.url}/v1/chat/completions`, chat(model, { max_tokens: 1 }));
    const shared = await ask('shared');
    expect(shared.status).toBe(404);
    expect((await readJson(shared)).error.code).toBe('model_not_found');
    // The alias wins: d answers, c's engine never starts.
    expect((await ask('a-alias')).status).toBe(200);
    expect((await fx.info('c')).state).toBe('stopped');
    expect((await fx.info('d')).state).toBe('ready');
    expect((await ask('ONLY-D')).status).toBe(200);
  });

  it('serves /v1/completions and /v1/embeddings for the matching modes', async () => {
    const fx = await startNode({
      models: [
        { name: 'base', mode: 'Base' },
        { name: 'embed', mode: 'Embedding' },
      ],
    });
    const completion = await postJson(`${fx.url}/v1/completions`, { model: 'base', prompt: 'once upon', max_tokens: 3 });
    expect(completion.status).toBe(200);
    expect((await readJson(completion)).choices[0].text).toBe('Echo: once upon ');
    const embedding = await postJson(`${fx.url}/v1/embeddings`, { model: 'embed', input: ['a', 'b'] });
    expect(embedding.status).toBe(200);
    const body = await readJson(embedding);
    expect(body.data).toHaveLength(2);
    expect(body.data[0].embedding).toHaveLength(8);
  });
});

describe('streaming through the router', () => {
  it('delivers each SSE chunk as the engine writes it, not batched at the end', async () => {
    const fx = await startNode({ models: [{ name: 'streamer', flags: ['--load-ms', '100', '--stream-delay-ms', '100'] }] });
    // Warm up first, so the timing below measures the stream and not the engine's start.
    expect((await postJson(`${fx.url}/v1/chat/completions`, chat('streamer', { max_tokens: 1 }))).status).toBe(200);

    const res = await postJson(`${fx.url}/v1/chat/completions`, chat('streamer', { max_tokens: 8, stream: true }));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    expect(res.headers.get('content-encoding')).toBeNull();
    const { events, endedAt, error, rest } = await readSse(res);
    expect(error).toBeUndefined();
    expect(rest).toBe('');
    expect(events.at(-1)?.data).toBe('[DONE]');

    const contentEvents = events.filter((e) => e.data !== '[DONE]' && (JSON.parse(e.data).choices[0]?.delta?.content ?? '') !== '');
    expect(contentEvents).toHaveLength(8);
    const text = contentEvents.map((e) => JSON.parse(e.data).choices[0].delta.content as string).join('');
    expect(text).toBe('Echo: hello there token1 token2 token3 token4 token5 ');

    // 8 tokens 100 ms apart: the first one must reach us long before the stream ends ...
    expect(endedAt - contentEvents[0]!.at).toBeGreaterThanOrEqual(300);
    // ... and each in its own read, spaced out like the engine wrote them.
    expect(new Set(contentEvents.map((e) => e.read)).size).toBe(8);
    const gaps = contentEvents.slice(1).map((e, i) => e.at - contentEvents[i]!.at);
    expect(gaps.filter((gap) => gap >= 50).length).toBeGreaterThanOrEqual(6);
    expect(contentEvents.at(-1)!.at - contentEvents[0]!.at).toBeGreaterThanOrEqual(500);

    const chunks = jsonChunks(events);
    expect(chunks[0].choices[0].delta).toEqual({ role: 'assistant', content: '' });
    expect(chunks.at(-1).choices[0].finish_reason).toBe('length');
  });

  it('streams from a cold start: the request that starts the engine gets the whole stream', async () => {
    const fx = await startNode({ models: [{ name: 'cold', flags: ['--load-ms', '200', '--stream-delay-ms', '20'] }] });
    const res = await postJson(`${fx.url}/v1/chat/completions`, chat('cold', { max_tokens: 5, stream: true }));
    expect(res.status).toBe(200);
    const { events, error } = await readSse(res);
    expect(error).toBeUndefined();
    expect(events.at(-1)?.data).toBe('[DONE]');
    const text = jsonChunks(events).map((c) => (c.choices[0]?.delta?.content as string | undefined) ?? '').join('');
    expect(text).toBe('Echo: hello there token1 token2 ');
  });
});

describe('clients that hang up', () => {
  it('a client leaving mid-stream stops the generation and frees the engine for idle stop', async () => {
    const fx = await startNode({ models: [{ name: 'talker', aliveTime: '500ms', flags: ['--load-ms', '100', '--stream-delay-ms', '50'] }] });
    const controller = new AbortController();
    const res = await postJson(`${fx.url}/v1/chat/completions`, chat('talker', { max_tokens: 500, stream: true }), { signal: controller.signal });
    expect(res.status).toBe(200);
    const { events } = await readSse(res, 3); // read a few chunks, then hang up
    expect(events).toHaveLength(3);
    controller.abort();

    // The router cut its upstream request too, so the engine stopped generating ...
    await waitFor(
      async () => (await fx.node.api.modelLogs('talker')).some((l) => l.text.includes('POST /v1/chat/completions 200 (aborted)')),
      3000,
      'the engine to see the abort',
    );
    // ... and the request no longer counts as in flight: the idle timer runs and stops the engine.
    await waitFor(async () => (await fx.info('talker')).inFlight === 0, 3000, 'inFlight 0');
    await waitForState(fx, 'talker', 'stopped', 3000);
  });

  it('clients that give up while the engine starts leave no request counted in flight', async () => {
    const fx = await startNode({ models: [{ name: 'slow', aliveTime: '500ms', flags: ['--load-ms', '400'] }] });
    const controllers = Array.from({ length: 3 }, () => new AbortController());
    const requests = controllers.map((c) => postJson(`${fx.url}/v1/chat/completions`, chat('slow'), { signal: c.signal }).catch((err: unknown) => err));
    await waitForState(fx, 'slow', 'starting');
    await waitFor(async () => (await fx.info('slow')).inFlight === 3, 3000, 'three requests in flight');
    for (const c of controllers) c.abort();
    for (const outcome of await Promise.all(requests)) expect(outcome).toBeInstanceOf(Error);

    // The start goes on; once ready, nothing is in flight and the idle stop follows.
    const ready = await waitForState(fx, 'slow', 'ready', 3000);
    expect(ready.inFlight).toBe(0);
    await waitForState(fx, 'slow', 'stopped', 3000);
    expect(await fx.spawnCount('slow')).toBe(1);
  });
});

describe('a crowd of cold requests', () => {
  it('200 concurrent requests for a stopped model share one engine start and all succeed', async () => {
    const fx = await startNode({ models: [{ name: 'crowd', aliases: ['crowd-alias'], flags: ['--load-ms', '300', '--quiet'] }] });
    const requests = Array.from({ length: 200 }, (_, i) =>
      postJson(`${fx.url}/v1/chat/completions`, chat(i % 2 === 0 ? 'crowd' : 'CROWD-ALIAS', { max_tokens: 2 })).then(async (res) => ({
        status: res.status,
        body: await readJson(res),
      })),
    );
    const results = await Promise.all(requests);
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(200);
    expect(results.every((r) => r.body.choices[0].message.content === 'Echo: hello ')).toBe(true);

    expect(await fx.spawnCount('crowd')).toBe(1);
    expect(fx.pids()).toHaveLength(1);
    const info = await fx.info('crowd');
    expect(info).toMatchObject({ state: 'ready', inFlight: 0 });
    expect(info.pid).toBe(fx.pids()[0]);
  });
});

describe('GET /v1/models', () => {
  it('lists every model and every alias with its state', async () => {
    const fx = await startNode({
      models: [
        { name: 'chat-a', aliases: ['gpt-3.5-turbo', 'alias-a'] },
        { name: 'embed-b', mode: 'Embedding', aliases: ['text-embedding-3-small'] },
        { name: 'plain-c' },
      ],
    });
    expect((await postJson(`${fx.url}/v1/chat/completions`, chat('alias-a', { max_tokens: 1 }))).status).toBe(200);

    const res = await fetch(`${fx.url}/v1/models`);
    expect(res.status).toBe(200);
    const body = await readJson(res);
    expect(body.object).toBe('list');
    const byId = new Map<string, { state: string; mode: string; object: string; parent?: string; port: number }>(
      body.data.map((m: { id: string }) => [m.id, m]),
    );
    expect([...byId.keys()].sort()).toEqual(['alias-a', 'chat-a', 'embed-b', 'gpt-3.5-turbo', 'plain-c', 'text-embedding-3-small']);
    expect(byId.get('chat-a')).toMatchObject({ object: 'model', state: 'ready', mode: 'Chat', port: fx.ports['chat-a'] });
    expect(byId.get('gpt-3.5-turbo')).toMatchObject({ state: 'ready', parent: 'chat-a' });
    expect(byId.get('alias-a')).toMatchObject({ state: 'ready', parent: 'chat-a' });
    expect(byId.get('embed-b')).toMatchObject({ state: 'stopped', mode: 'Embedding' });
    expect(byId.get('text-embedding-3-small')).toMatchObject({ state: 'stopped', parent: 'embed-b' });
    expect(byId.get('plain-c')).toMatchObject({ state: 'stopped' });

    const one = await fetch(`${fx.url}/v1/models/GPT-3.5-Turbo`);
    expect(one.status).toBe(200);
    expect(await readJson(one)).toMatchObject({ id: 'gpt-3.5-turbo', parent: 'chat-a', state: 'ready' });
  });
});
