// Every failure of the router answers in the OpenAI error shape {"error":{"message","type","code"}}
// with the right status — including an engine that dies in the middle of an answer.
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { chat, jsonChunks, postJson, readJson, readSse, type Json } from '../helpers/http.js';
import { closeAllNodes, startNode, waitForState, type NodeFixture } from '../helpers/node-fixture.js';
import { isProcessRunning } from '../helpers/processes.js';

afterEach(closeAllNodes);

function expectErrorShape(body: Json, code: string, type: string): void {
  expect(Object.keys(body)).toEqual(['error']);
  expect(body.error).toEqual({ message: expect.any(String), type, code });
  expect(body.error.message.length).toBeGreaterThan(0);
}

async function twoModels(): Promise<NodeFixture> {
  return startNode({
    models: [
      { name: 'chatty', aliases: ['gpt-3.5-turbo'] },
      { name: 'vectors', mode: 'Embedding', aliases: ['embed-alias'] },
    ],
  });
}

describe('request errors on /v1', () => {
  it('unknown model → 404 model_not_found naming every available model and alias; nothing starts', async () => {
    const fx = await twoModels();
    const res = await postJson(`${fx.url}/v1/chat/completions`, chat('no-such-model'));
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toContain('application/json');
    const body = await readJson(res);
    expectErrorShape(body, 'model_not_found', 'not_found_error');
    expect(body.error.message).toContain('no-such-model');
    for (const name of ['chatty', 'gpt-3.5-turbo', 'vectors', 'embed-alias']) expect(body.error.message).toContain(name);
    expect(fx.pids()).toEqual([]);
    expect((await fx.info('chatty')).state).toBe('stopped');
  });

  it('malformed JSON, an empty body and a non-object body → 400', async () => {
    const fx = await twoModels();
    const bad = await postJson(`${fx.url}/v1/chat/completions`, '{"model": "chatty",');
    expect(bad.status).toBe(400);
    expectErrorShape(await readJson(bad), 'invalid_json', 'invalid_request_error');

    const empty = await postJson(`${fx.url}/v1/chat/completions`, '');
    expect(empty.status).toBe(400);
    expectErrorShape(await readJson(empty), 'invalid_json', 'invalid_request_error');

    const list = await postJson(`${fx.url}/v1/chat/completions`, '["chatty"]');
    expect(list.status).toBe(400);
    expectErrorShape(await readJson(list), 'invalid_request', 'invalid_request_error');
    expect(fx.pids()).toEqual([]);
  });

  it('missing model → 400 model_required; a non-string or blank model → 400 invalid_model', async () => {
    const fx = await twoModels();
    const missing = await postJson(`${fx.url}/v1/chat/completions`, { messages: [{ role: 'user', content: 'hi' }] });
    expect(missing.status).toBe(400);
    const missingBody = await readJson(missing);
    expectErrorShape(missingBody, 'model_required', 'invalid_request_error');
    expect(missingBody.error.message).toContain('model');

    for (const model of [42, null, ['chatty'], { name: 'chatty' }, '   ']) {
      const res = await postJson(`${fx.url}/v1/chat/completions`, chat('x', { model }));
      expect(res.status, JSON.stringify(model)).toBe(400);
      expectErrorShape(await readJson(res), 'invalid_model', 'invalid_request_error');
    }
    expect(fx.pids()).toEqual([]);
  });

  it('a body over program.body_limit_mb → 413, whether its length is declared or not', async () => {
    const fx = await startNode({ bodyLimitMb: 0.01, models: [{ name: 'chatty' }] }); // 10 KiB
    const big = JSON.stringify(chat('chatty', { messages: [{ role: 'user', content: 'x'.repeat(20_000) }] }));

    const declared = await postJson(`${fx.url}/v1/chat/completions`, big);
    expect(declared.status).toBe(413);
    const body = await readJson(declared);
    expectErrorShape(body, 'request_too_large', 'invalid_request_error');
    expect(body.error.message).toContain('10 KB');

    // Chunked upload without content-length: the limit is noticed while reading.
    const chunks = [big.slice(0, 8000), big.slice(8000)];
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        const next = chunks.shift();
        if (next === undefined) controller.close();
        else controller.enqueue(new TextEncoder().encode(next));
      },
    });
    const chunked = await fetch(`${fx.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: stream,
      duplex: 'half',
    } as RequestInit);
    expect(chunked.status).toBe(413);
    expectErrorShape(await readJson(chunked), 'request_too_large', 'invalid_request_error');

    // Under the limit is fine, and nothing was started for the rejected ones.
    expect(fx.pids()).toEqual([]);
    expect((await postJson(`${fx.url}/v1/chat/completions`, chat('chatty'))).status).toBe(200);
  });

  it('embeddings to a Chat model (and chat to an Embedding model) → 400 model_mode_mismatch', async () => {
    const fx = await twoModels();
    const res = await postJson(`${fx.url}/v1/embeddings`, { model: 'gpt-3.5-turbo', input: 'hi' });
    expect(res.status).toBe(400);
    const body = await readJson(res);
    expectErrorShape(body, 'model_mode_mismatch', 'invalid_request_error');
    expect(body.error.message).toContain('Chat');
    expect(body.error.message).toContain('Embedding');

    const reverse = await postJson(`${fx.url}/v1/chat/completions`, chat('embed-alias'));
    expect(reverse.status).toBe(400);
    expectErrorShape(await readJson(reverse), 'model_mode_mismatch', 'invalid_request_error');
    expect(fx.pids()).toEqual([]);
  });

  it('unknown /v1 paths → 404 unknown_url; wrong methods → 405; other paths → 404', async () => {
    const fx = await twoModels();
    const unknown = await postJson(`${fx.url}/v1/does-not-exist`, chat('chatty'));
    expect(unknown.status).toBe(404);
    const body = await readJson(unknown);
    expectErrorShape(body, 'unknown_url', 'not_found_error');
    expect(body.error.message).toContain('/v1/does-not-exist');

    const get = await fetch(`${fx.url}/v1/chat/completions`);
    expect(get.status).toBe(405);
    expectErrorShape(await readJson(get), 'method_not_allowed', 'invalid_request_error');

    const root = await fetch(`${fx.url}/nothing`);
    expect(root.status).toBe(404);
    expectErrorShape(await readJson(root), 'unknown_url', 'not_found_error');
    expect(fx.pids()).toEqual([]);
  });

  it('/api with an unknown model → 404 model_not_found in the same shape', async () => {
    const fx = await twoModels();
    for (const [method, path] of [
      ['GET', '/api/models/ghost/info'],
      ['POST', '/api/models/ghost/start'],
      ['POST', '/api/models/ghost/stop'],
      ['GET', '/api/models/ghost/logs'],
      ['GET', '/api/models/ghost/logs/stream'],
    ] as const) {
      const res = await fetch(`${fx.url}${path}`, { method });
      expect(res.status, path).toBe(404);
      const body = await readJson(res);
      expectErrorShape(body, 'model_not_found', 'not_found_error');
      expect(body.error.message).toContain('chatty');
    }
    const unknownApi = await fetch(`${fx.url}/api/nope`);
    expect(unknownApi.status).toBe(404);
    expectErrorShape(await readJson(unknownApi), 'unknown_url', 'not_found_error');
  });
});

describe('an engine that dies mid-request', () => {
  it('non-streaming: the first request succeeds, the one that kills the engine → 502; the next restarts it', async () => {
    const fx = await startNode({ models: [{ name: 'fragile', flags: ['--load-ms', '100', '--crash-after', '1'] }] });
    expect((await postJson(`${fx.url}/v1/chat/completions`, chat('fragile'))).status).toBe(200);
    const firstPid = (await fx.info('fragile')).pid!;

    const res = await postJson(`${fx.url}/v1/chat/completions`, chat('fragile'));
    expect(res.status).toBe(502);
    const body = await readJson(res);
    expectErrorShape(body, 'engine_unavailable', 'upstream_error');
    expect(body.error.message).toContain('fragile');

    const failed = await waitForState(fx, 'fragile', 'failed');
    expect(failed.lastError).toMatchObject({ exitCode: 3 });
    expect(failed.lastError!.message).toContain('exited unexpectedly');
    expect(failed.lastError!.logTail.join('\n')).toContain('simulated crash');
    expect(failed.pid).toBeNull();
    expect(isProcessRunning(firstPid)).toBe(false);

    // A failed model is started afresh by the next request.
    expect((await postJson(`${fx.url}/v1/chat/completions`, chat('fragile'))).status).toBe(200);
    const again = await fx.info('fragile');
    expect(again.state).toBe('ready');
    expect(again.pid).not.toBe(firstPid);
    expect(await fx.spawnCount('fragile')).toBe(2);
  });

  it('streaming: a stream cut by the engine dying ends with an in-band error event instead of hanging', async () => {
    const fx = await startNode({ models: [{ name: 'fragile', flags: ['--load-ms', '100', '--crash-after', '1', '--stream-delay-ms', '30'] }] });
    expect((await postJson(`${fx.url}/v1/chat/completions`, chat('fragile'))).status).toBe(200);

    const res = await postJson(`${fx.url}/v1/chat/completions`, chat('fragile', { max_tokens: 50, stream: true }));
    expect(res.status).toBe(200);
    const started = performance.now();
    const { events, error } = await readSse(res);
    expect(performance.now() - started).toBeLessThan(5000);
    expect(error).toBeUndefined();
    expect(events.map((e) => e.data)).not.toContain('[DONE]');
    // Some of the answer arrived before the crash ...
    const chunks = jsonChunks(events.slice(0, -1));
    expect(chunks.some((c) => (c.choices?.[0]?.delta?.content ?? '') !== '')).toBe(true);
    // ... and the last event says what happened.
    const last = JSON.parse(events.at(-1)!.data);
    expectErrorShape(last, 'engine_died', 'upstream_error');
    expect(last.error.message).toContain('fragile');
    await waitForState(fx, 'fragile', 'failed');
  });

  it('a request in flight to an engine stopped through the API fails fast instead of hanging', async () => {
    const fx = await startNode({ models: [{ name: 'slow', flags: ['--load-ms', '100', '--stream-delay-ms', '200'] }] });
    const res = await postJson(`${fx.url}/v1/chat/completions`, chat('slow', { max_tokens: 50, stream: true }));
    expect(res.status).toBe(200);
    const reading = readSse(res);
    const stopped = await readJson(await fetch(`${fx.url}/api/models/slow/stop`, { method: 'POST' }));
    expect(stopped.state).toBe('stopped');
    const { events, error } = await reading;
    expect(error).toBeUndefined();
    expect(events.map((e) => e.data)).not.toContain('[DONE]');
    expectErrorShape(JSON.parse(events.at(-1)!.data), 'engine_died', 'upstream_error');
  });
});

describe('port checks do not hurt strangers', () => {
  it('/v1 requests never reach a foreign server sitting on a stopped model port', async () => {
    const fx = await twoModels();
    let connections = 0;
    const stranger = net.createServer((socket) => {
      connections++;
      socket.destroy();
    });
    await new Promise<void>((resolve) => stranger.listen(fx.ports['chatty'], '127.0.0.1', resolve));
    try {
      const res = await postJson(`${fx.url}/v1/chat/completions`, chat('chatty'));
      expect(res.status).toBe(503);
      // Only the "is the port taken?" probe touched it; no HTTP request was forwarded there.
      expect(connections).toBeLessThanOrEqual(1);
      expect(stranger.listening).toBe(true);
    } finally {
      await new Promise<void>((resolve) => stranger.close(() => resolve()));
    }
  });
});
