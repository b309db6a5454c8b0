// The router's fast path (fast-path.ts): plain requests to a ready model skip node:http. These
// tests speak HTTP on raw sockets to check it answers like the full path — and hands every other
// request, with the bytes it read, to node:http.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import { afterEach, describe, expect, it } from 'vitest';
import { fastPathStats, idleEngineConnections } from '../../src-main/core/router/fast-path.js';
import { chat, postJson, waitFor } from '../helpers/http.js';
import { converse, ODD_ENGINE, rawConnection, request } from '../helpers/raw-wire.js';
import { closeAllNodes, startNode, waitForState, type NodeFixture } from '../helpers/node-fixture.js';


afterEach(closeAllNodes);

async function readyNode(program: Record<string, unknown> = {}): Promise<NodeFixture> {
  const fx = await startNode({
    models: [
      { name: 'demo', flags: ['--load-ms', '20', '--stream-delay-ms', '5', '--quiet'] },
      { name: 'odd', script: { file: 'odd.sh', text: `exec "$NODE" '${ODD_ENGINE}'\n` }, flags: [] },
    ],
    program,
  });
  await fx.node.api.startModel('demo');
  await fx.node.api.startModel('odd');
  return fx;
}

const stats = (fx: NodeFixture) => fastPathStats(fx.node.server)!;

describe('the fast path', () => {
  it('rewrites "model" to served_model_name on the way to the engine, streams included', async () => {
    const SERVED = 'Qwen/Qwen2.5-7B-Instruct';
    const fx = await startNode({ models: [{ name: 'qwen', aliases: ['gpt-3.5-turbo'], servedModelName: SERVED, flags: ['--load-ms', '20', '--quiet', '--model', SERVED, '--served-names', SERVED] }] });
    await fx.node.api.startModel('qwen');
    const before = { ...stats(fx) };
    const asked = chat('gpt-3.5-turbo', { max_tokens: 8, messages: [{ role: 'user', content: 'the "model": "x" 🙂' }] });
    const [plain, streamed] = await converse(fx.routerPort, [request(asked), request(chat('qwen', { stream: true, max_tokens: 2 }))], 2);
    expect(stats(fx).served - before.served).toBe(2);
    expect(stats(fx).handedOff).toBe(before.handedOff);
    expect(plain!.status).toBe(200);
    expect(JSON.parse(plain!.body)).toMatchObject({ model: SERVED, choices: [{ message: { content: expect.stringMatching(/^Echo: the "model": "x" 🙂/) } }] });
    expect(streamed!.status).toBe(200);
    expect(streamed!.body.trimEnd().endsWith('data: [DONE]')).toBe(true);
  });

  it('answers plain and streamed requests to a ready model on one kept-alive connection, as the full path would', async () => {
    const fx = await readyNode();
    const before = { ...stats(fx) };
    const answers = await converse(fx.routerPort, [request(chat('demo')), request(chat('demo', { stream: true, max_tokens: 4 })), request(chat('demo'))], 3);
    expect(stats(fx).served - before.served).toBe(3);
    expect(stats(fx).handedOff).toBe(before.handedOff);
    const [plain, streamed, again] = answers;
    expect(plain!.status).toBe(200);
    expect(plain!.headers['content-type']).toContain('application/json');
    expect(JSON.parse(plain!.body).choices[0].message.content).toMatch(/^Echo:/);
    expect(again!.status).toBe(200);
    expect(streamed!.headers['content-type']).toContain('text/event-stream');
    expect(streamed!.headers['transfer-encoding']).toBe('chunked');
    const events = streamed!.body.split('\n\n').filter(Boolean);
    expect(events.at(-1)).toBe('data: [DONE]');
    expect(events.length).toBe(4 + 3);
    // The same request through node:http (a browser-like Origin header sends it there) gets the same shape.
    const full = await converse(fx.routerPort, [request(chat('demo'), { Origin: 'http://127.0.0.1' })], 1);
    expect(stats(fx).handedOff).toBe(before.handedOff + 1);
    expect(full[0]!.status).toBe(200);
    expect(Object.keys(full[0]!.headers).filter((h) => h !== 'date').sort()).toEqual(
      Object.keys(plain!.headers).filter((h) => h !== 'date').sort(),
    );
    expect(await fx.info('demo')).toMatchObject({ inFlight: 0 });
    // The kept-alive engine connection is closed after 2 s idle, before engines close theirs.
    expect(idleEngineConnections(fx.node.server)).toBeGreaterThan(0);
    await waitFor(() => idleEngineConnections(fx.node.server) === 0, 3_500, 'the idle engine connection closed', 50);
  });

  it('hands anything unusual to node:http with the bytes read, and that connection stays there', async () => {
    const fx = await readyNode();
    const cases: [string, string | Buffer, number][] = [
      ['bad JSON', request('{"model":"demo",'), 400],
      ['unknown model', request(chat('nope')), 404],
      ['not JSON', request('x', { 'Content-Type': 'text/plain' }).replace('Content-Type: application/json\r\n', ''), 415],
      ['mode mismatch', request({ model: 'demo', input: 'x' }, {}, '/v1/embeddings'), 400],
      ['HTTP/1.0', request(chat('demo')).replace('HTTP/1.1', 'HTTP/1.0'), 200],
      ['chunked upload', `POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n${(() => { const b = JSON.stringify(chat('demo')); return `${b.length.toString(16)}\r\n${b}\r\n0\r\n\r\n`; })()}`, 200],
      ['a foreign Host', request(chat('demo')).replace('Host: 127.0.0.1', 'Host: evil.example'), 403],
      ['a cross-site page', request(chat('demo'), { Origin: 'http://evil.example' }), 403],
    ];
    for (const [name, text, status] of cases) {
      const before = stats(fx).handedOff;
      const [answer] = await converse(fx.routerPort, [text], 1);
      expect(answer?.status, name).toBe(status);
      expect(stats(fx).handedOff, name).toBe(before + 1);
    }
    // Pipelined: the fast path answers the first, gives the connection away at the second, and
    // node:http answers the rest, in order.
    const served = stats(fx).served;
    const answers = await converse(fx.routerPort, [request(chat('demo')) + request('{oops') + request(chat('demo'), { Connection: 'close' })], 3);
    expect(answers.map((a) => a.status)).toEqual([200, 400, 200]);
    expect(stats(fx).served).toBe(served + 1);
    expect(fx.pids().length).toBe(2);
  });

  it('takes requests that arrive a byte at a time, and keeps the Connection: close of the client', async () => {
    const fx = await readyNode();
    const before = stats(fx).served;
    const bytes = Buffer.from(request(chat('demo'), { Connection: 'close' }));
    const pieces = [...bytes].map((b) => Buffer.of(b));
    const answers = await converse(fx.routerPort, pieces.slice(0, 60).concat([Buffer.concat(pieces.slice(60))]), 1, 2);
    expect(answers).toHaveLength(1);
    expect(answers[0]!.status).toBe(200);
    expect(answers[0]!.headers['connection']).toBe('close');
    expect(answers[0]!.headers['keep-alive']).toBeUndefined();
    expect(stats(fx).served).toBe(before + 1);
  });

  it('a client that half-closes after its request is answered as node:http answers it: the request is cancelled, the connection ends', async () => {
    const fx = await readyNode();
    const socket = net.connect({ port: fx.routerPort, host: '127.0.0.1', allowHalfOpen: true });
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    const ended = new Promise((resolve) => socket.once('end', resolve));
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.end(request(chat('demo', { stream: true, max_tokens: 50 })));
    await ended;
    socket.destroy();
    // No answer, or the start of one cut off; never a request left in flight.
    expect(Buffer.concat(chunks).toString('latin1')).not.toContain('[DONE]');
    await waitFor(async () => (await fx.info('demo')).inFlight === 0, 2000, 'the request cancelled', 10);
  });

  it('relays the rarer answer shapes: close-delimited, 103 first, chunk extensions and trailers a byte at a time, a socket the engine closed', async () => {
    const fx = await readyNode();
    const body = (mode: string) => ({ model: 'odd', mode, messages: [{ role: 'user', content: 'x' }] });
    const before = stats(fx).served;
    const answers = await converse(
      fx.routerPort,
      [request(body('eof-body')), request(body('early-hints')), request(body('trickle')), request(body('close-after')), request(body('plain')), request(body('plain'))],
      6,
      40,
    );
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 200, 200]);
    expect(JSON.parse(answers[0]!.body).mode).toBe('eof-body');
    expect(answers[0]!.headers['transfer-encoding']).toBe('chunked');
    expect(JSON.parse(answers[1]!.body).mode).toBe('early-hints');
    expect(answers[2]!.body).toBe('data: {"n":1}\n\ndata: {"n":2}\n\ndata: [DONE]\n\n');
    expect(answers[2]!.trailers).toEqual({ 'x-done': 'yes' });
    // After "close-after" the engine's socket is gone: the next request needs a new one.
    expect(JSON.parse(answers[4]!.body).mode).toBe('plain');
    // The engine's CORS header never reaches the client.
    for (const a of answers) expect(Object.keys(a.headers).some((h) => h.startsWith('access-control-'))).toBe(false);
    expect(stats(fx).served).toBe(before + 6);

    // An engine that says close (in a list, any case, \s around it) is not sent another request on that
    // connection, though it left it open; one whose token only starts with "close" is.
    const modes = ['says-close', 'plain', 'says-closed', 'plain'];
    const told = (await converse(fx.routerPort, modes.map((m) => request(body(m))), 4, 40)).map((a) => JSON.parse(a.body) as { mode: string; conn: number });
    expect(told.map((a) => a.mode)).toEqual(modes);
    const [saidClose, next, saidClosed, last] = told.map((a) => a.conn);
    expect(next).not.toBe(saidClose);
    expect([saidClosed, last]).toEqual([next, next]);

    // A header node:http would refuse to send is not passed on: 502.
    const [split] = await converse(fx.routerPort, [request(body('split-header'))], 1);
    expect(split!.status).toBe(502);
    expect(split!.headers['set-cookie']).toBeUndefined();
  });

  it("passes the client's header lines to the engine as sent, and the engine's back, less hop-by-hop, credentials and CORS", async () => {
    const fx = await readyNode();
    const before = stats(fx);
    const served = before.served;
    const body = JSON.stringify({ model: 'odd', mode: 'echo-head', messages: [{ role: 'user', content: 'x' }] });
    const text =
      'POST /v1/chat/completions HTTP/1.1\r\nHOST: 127.0.0.1\r\nUser-Agent: OpenAI/Python 1.54\r\nX-Stainless-Arch:   x64  \r\n' +
      'Authorization: Bearer sk-for-us\r\nCookie: a=1\r\nAccept-Encoding: gzip\r\nKeep-Alive: timeout=9\r\nConnection: keep-alive\r\n' +
      `X-Dup: one\r\nX-Dup: two\r\ncontent-type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
    const [answer] = await converse(fx.routerPort, [text], 1);
    expect(stats(fx).served).toBe(served + 1);
    expect(answer!.status).toBe(201);
    const lines = (JSON.parse(answer!.body) as { head: string }).head.split('\r\n');
    expect(lines[0]).toBe('POST /v1/chat/completions HTTP/1.1');
    // Ours: the engine's host and the body's length; then the client's lines byte for byte.
    expect(lines.slice(1)).toEqual([
      `host: 127.0.0.1:${(await fx.info('odd')).port}`,
      `content-length: ${body.length}`,
      'User-Agent: OpenAI/Python 1.54',
      'X-Stainless-Arch:   x64  ',
      'X-Dup: one',
      'X-Dup: two',
      'content-type: application/json',
    ]);
    // The engine's answer: its own lines pass (spacing trimmed by our reader), the hop-by-hop and CORS ones don't.
    expect(answer!.headers['x-engine-note']).toBe('kept as sent');
    expect(answer!.headers['keep-alive']).toBe('timeout=65');
    expect(answer!.headers['proxy-connection']).toBeUndefined();
    expect(answer!.headers['access-control-allow-origin']).toBeUndefined();
    expect(answer!.headers['transfer-encoding']).toBe('chunked');

    // The Responses and Anthropic Messages APIs go the same way, their own headers with them (the
    // client's x-api-key is for us, not the engine); node:http (a browser's Origin) does the same.
    for (const [target, extra] of [
      ['/v1/responses', ''],
      ['/v1/messages', 'x-api-key: sk-ant-for-us\r\nanthropic-version: 2023-06-01\r\n'],
      ['/v1/messages/count_tokens', 'anthropic-version: 2023-06-01\r\n'],
    ] as const) {
      for (const origin of ['', 'Origin: http://127.0.0.1\r\n']) {
        const fast = stats(fx).served;
        const request = text.replace('POST /v1/chat/completions', `POST ${target}`).replace('X-Dup: one\r\n', `${extra}${origin}X-Dup: one\r\n`);
        const [reply] = await converse(fx.routerPort, [request], 1);
        expect(reply!.status, target).toBe(201);
        const head = (JSON.parse(reply!.body) as { head: string }).head;
        expect(head.split('\r\n')[0]).toBe(`POST ${target} HTTP/1.1`);
        expect(head.toLowerCase().includes('x-api-key')).toBe(false);
        if (extra.includes('anthropic-version')) expect(head).toContain('anthropic-version: 2023-06-01');
        expect(stats(fx).served - fast, `${target} ${origin}`).toBe(origin ? 0 : 1);
      }
    }

    // Claude Code asks for /v1/messages?beta=true: the query goes to the engine with the path, on
    // the fast path; one with a byte a target may not hold goes to node:http.
    const beforeBeta = stats(fx).served;
    const [beta] = await converse(fx.routerPort, [text.replace('POST /v1/chat/completions', 'POST /v1/messages?beta=true')], 1);
    expect(beta!.status).toBe(201);
    expect((JSON.parse(beta!.body) as { head: string }).head.split('\r\n')[0]).toBe('POST /v1/messages?beta=true HTTP/1.1');
    expect(stats(fx).served).toBe(beforeBeta + 1);
    const [odd] = await converse(fx.routerPort, [Buffer.concat([Buffer.from('POST /v1/messages?q=\x7f'), Buffer.from(text.slice(text.indexOf(' HTTP/1.1')))])], 1);
    expect(stats(fx).served).toBe(beforeBeta + 1);
    expect(odd!.status).toBeGreaterThanOrEqual(200);

    // JSON content types in any spelling isJsonType accepts stay on the fast path.
    for (const type of ['Application/JSON; charset=utf-8', ' application/json ', 'application/vnd.api+json']) {
      const fast = stats(fx).served;
      const [reply] = await converse(fx.routerPort, [text.replace('content-type: application/json', `content-type: ${type}`)], 1);
      expect(reply?.status, type).toBe(201);
      expect(stats(fx).served, type).toBe(fast + 1);
    }

    // What the fast path reads must be said once, and header lines must be well-formed; else node:http decides.
    const cases: [string, string, number][] = [
      ['two Host lines', text.replace('HOST: 127.0.0.1\r\n', 'HOST: 127.0.0.1\r\nHost: 127.0.0.1\r\n'), 201],
      ['two Content-Type lines', text.replace('content-type: application/json\r\n', 'content-type: application/json\r\nContent-Type: application/json\r\n'), 201],
      ['a space before the colon', text.replace('User-Agent:', 'User-Agent :'), 400],
      ['a control byte in a value', text.replace('x64', 'x\u000164'), 400],
      ['a folded line', text.replace('X-Dup: two\r\n', 'X-Dup: two\r\n  folded\r\n'), 400],
      ['a bare LF', text.replace('X-Dup: one\r\n', 'X-Dup: one\n'), 400],
    ];
    for (const [name, variant, status] of cases) {
      const handed = stats(fx).handedOff;
      const [reply] = await converse(fx.routerPort, [variant], 1);
      expect(stats(fx).handedOff, name).toBe(handed + 1);
      expect(reply?.status, name).toBe(status);
    }
  });

  it('an engine that dies mid-answer: the stream gets the in-band error event, a plain request its 502', async () => {
    const fx = await startNode({ models: [{ name: 'fragile', flags: ['--load-ms', '20', '--stream-delay-ms', '60', '--crash-after', '1', '--quiet'] }] });
    await fx.node.api.startModel('fragile');
    const before = stats(fx).served;
    const stream = converse(fx.routerPort, [request(chat('fragile', { stream: true, max_tokens: 40 }))], 1);
    await waitFor(async () => (await fx.info('fragile')).inFlight === 1, 2000, 'the stream to be in flight', 10);
    const [killer] = await converse(fx.routerPort, [request(chat('fragile'))], 1);
    expect(killer!.status).toBe(502);
    expect(JSON.parse(killer!.body).error.code).toBe('engine_unavailable');
    const [streamed] = await stream;
    const events = streamed!.body.split('\n\n').filter(Boolean);
    expect(JSON.parse(events.at(-1)!.slice('data: '.length)).error).toMatchObject({ code: 'engine_died', type: 'upstream_error' });
    expect(stats(fx).served).toBe(before + 2);
    await waitFor(async () => (await fx.info('fragile')).state === 'failed', 5000, 'the model to be failed', 20);
    // The next request is for node:http (a model to start), and it is answered by a new engine.
    expect((await postJson(`${fx.url}/v1/chat/completions`, chat('fragile'))).status).toBe(200);
  });

  it('a client that leaves mid-stream ends the engine request and the in-flight count', async () => {
    const fx = await startNode({ models: [{ name: 'demo', flags: ['--load-ms', '20', '--stream-delay-ms', '200', '--quiet'] }] });
    await fx.node.api.startModel('demo');
    const socket = net.connect({ port: fx.routerPort, host: '127.0.0.1' });
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write(request(chat('demo', { stream: true, max_tokens: 50 })));
    await new Promise((resolve) => socket.once('data', resolve));
    await waitFor(async () => (await fx.info('demo')).inFlight === 1, 2000, 'the request in flight', 10);
    socket.destroy();
    await waitFor(async () => (await fx.info('demo')).inFlight === 0, 2000, 'the request to end', 10);
    // The engine is still fine for the next one.
    expect((await postJson(`${fx.url}/v1/chat/completions`, chat('demo'))).status).toBe(200);
  });

  it('with api_keys: a request without the right key is handed on (and refused there); with it, fast', async () => {
    const key = 'fast-path-key-0123456789';
    const fx = await readyNode({ api_keys: [key] });
    const handed = stats(fx).handedOff;
    const [missing] = await converse(fx.routerPort, [request(chat('demo'))], 1);
    const [wrong] = await converse(fx.routerPort, [request(chat('demo'), { Authorization: 'Bearer nope' })], 1);
    expect([missing!.status, wrong!.status]).toEqual([401, 401]);
    expect(stats(fx).handedOff).toBe(handed + 2);
    const served = stats(fx).served;
    const [ok] = await converse(fx.routerPort, [request(chat('demo'), { Authorization: `Bearer ${key}` })], 1);
    expect(ok!.status).toBe(200);
    expect(stats(fx).served).toBe(served + 1);
  });

  it("a kept-alive client's repeated head: its new Content-Length is read, and a new guard policy gets a fresh look", async () => {
    const fx = await readyNode();
    const conn = await rawConnection(fx.routerPort);
    const { served, handedOff } = stats(fx);
    // The same head but for the digits (bodies of 3-digit lengths): each body read whole, on the fast path.
    const bodies = [chat('demo', { messages: [{ role: 'user', content: 'a'.repeat(60) }] }), chat('demo', { messages: [{ role: 'user', content: 'b'.repeat(150) }] }), chat('demo')];
    const lengths = bodies.map((b) => Buffer.byteLength(JSON.stringify(b)));
    expect(lengths.map((n) => String(n).length)).toEqual([3, 3, 2]);
    const key = { Authorization: 'Bearer a-key-the-node-does-not-know' };
    let answers = await conn.ask(request(bodies[0], key), 1);
    answers = await conn.ask(request(bodies[1], key), 2);
    // Two digits where there were three: another head, parsed afresh.
    answers = await conn.ask(request(bodies[2], key), 3);
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
    expect(answers.map((a) => JSON.parse(a.body.toString()).object)).toEqual(['chat.completion', 'chat.completion', 'chat.completion']);
    expect(stats(fx)).toMatchObject({ served: served + 3, handedOff });

    // Keys now set: the same bytes again on the same connection are judged by the new policy (refused
    // by node:http, not let through on the verdict kept from before).
    const doc = parse(fs.readFileSync(fx.configPath, 'utf8'));
    doc.program.api_keys = ['the-only-key-0123456789'];
    expect(await fx.node.api.saveConfig(stringify(doc))).toMatchObject({ ok: true });
    answers = await conn.ask(request(bodies[2], key), 4);
    expect(answers[3]!.status).toBe(401);
    expect(stats(fx)).toMatchObject({ served: served + 3, handedOff: handedOff + 1 });
    conn.socket.destroy();
  });
});

describe('a request that waits for its model to start', () => {
  it('waits on the fast path and is served there, on its kept-alive connection', async () => {
    const fx = await startNode({ models: [{ name: 'cold', flags: ['--load-ms', '100', '--quiet'] }] });
    const before = { ...stats(fx) };
    const client = await rawConnection(fx.routerPort);
    const [first] = await client.ask(request(chat('cold')), 1);
    expect(first!.status).toBe(200);
    expect(JSON.parse(first!.body).choices[0].message.content).toMatch(/^Echo: hello/);
    const second = await client.ask(request(chat('cold', { stream: true })), 2);
    expect(second[1]!.status).toBe(200);
    expect(second[1]!.body).toContain('data: [DONE]');
    expect(client.closed).toBe(false);
    client.socket.destroy();
    expect(stats(fx)).toEqual({ served: before.served + 2, handedOff: before.handedOff });
    expect(await fx.spawnCount('cold')).toBe(1);
    await waitFor(async () => (await fx.info('cold')).inFlight === 0, 2000, 'nothing in flight');
    // Each request counted once (its wait and its exchange are one request).
    expect(fx.node.registry.resolve('cold')!.counters.requests).toBe(2);
  });

  it("a start that fails: the waiting request gets node:http's 503, recorded the same, and its connection goes on", async () => {
    const fx = await startNode({
      models: [
        { name: 'broken', flags: ['--load-ms', '300', '--exit-before-ready', '3'] },
        { name: 'demo', flags: ['--load-ms', '20', '--quiet'] },
      ],
    });
    await fx.node.api.startModel('demo');
    const before = { ...stats(fx) };
    const client = await rawConnection(fx.routerPort);
    const waiting = client.ask(request(chat('broken')), 1);
    await waitForState(fx, 'broken', 'starting');
    // The same start waited for on node:http's path (a chunked upload goes there).
    const body = JSON.stringify(chat('broken'));
    const chunkedAnswer = converse(
      fx.routerPort,
      [`POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n${Buffer.byteLength(body).toString(16)}\r\n${body}\r\n0\r\n\r\n`],
      1,
    );
    const [fast] = await waiting;
    const [slow] = await chunkedAnswer;
    expect(fast!.status).toBe(503);
    expect(fast!.status).toBe(slow!.status);
    expect(JSON.parse(fast!.body)).toEqual(JSON.parse(slow!.body));
    expect(JSON.parse(fast!.body).error.code).toBe('model_start_failed');
    expect(fast!.headers['content-type']).toBe(slow!.headers['content-type']);
    expect(fast!.headers['retry-after']).toBe(slow!.headers['retry-after']);
    expect(stats(fx).handedOff).toBe(before.handedOff + 1);
    // The connection is still good: the next request on it is answered.
    const answers = await client.ask(request(chat('demo')), 2);
    expect(answers[1]!.status).toBe(200);
    client.socket.destroy();
    const rows = (await fx.node.api.listUsageRequests({ limit: 10 })).requests.filter((r) => r.model === 'broken');
    expect(rows.map((r) => [r.status, r.errorCode, r.requested])).toEqual([
      [503, 'model_start_failed', 'broken'],
      [503, 'model_start_failed', 'broken'],
    ]);
    expect((await fx.info('broken')).inFlight).toBe(0);
    expect(fx.node.registry.resolve('broken')!.counters.requests).toBe(2);
  });

  it('past the engine\'s connections it goes on through node:http, and its usage record still counts from its arrival', async () => {
    const gate = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ready-gate-')), 'ready');
    const fx = await startNode({ models: [{ name: 'cold', flags: ['--load-ms', '0', '--ready-file', gate, '--quiet'], keys: { max_connections: 2 } }] });
    const before = { ...stats(fx) };
    const clients = await Promise.all(Array.from({ length: 6 }, () => rawConnection(fx.routerPort)));
    const answers = Promise.all(clients.map((c) => c.ask(request(chat('cold')), 1)));
    // All six have arrived and wait; the engine turns ready no sooner than HOLD_MS after that.
    await waitFor(async () => (await fx.info('cold')).inFlight === 6, 5000, 'six waiting');
    const HOLD_MS = 250;
    await new Promise((resolve) => setTimeout(resolve, HOLD_MS));
    fs.writeFileSync(gate, '');
    expect((await answers).map(([a]) => a!.status)).toEqual(Array(6).fill(200));
    for (const c of clients) c.socket.destroy();
    // Two went out on the fast path (the engine's two connections), the other four through node:http's pool.
    expect(stats(fx).served - before.served).toBe(2);
    const records = async () => (await fx.node.api.listUsageRequests({ limit: 20 })).requests.filter((x) => x.model === 'cold');
    await waitFor(async () => (await records()).length === 6, 5000, 'six usage records');
    // Each waited at least HOLD_MS, whichever way it went on.
    for (const row of await records()) expect(row.totalMs).toBeGreaterThanOrEqual(HOLD_MS);
    fs.rmSync(path.dirname(gate), { recursive: true, force: true });
  });

  it('goes to node:http when it asks for loading progress, or models are held', async () => {
    const fx = await startNode({ models: [{ name: 'cold', flags: ['--load-ms', '100', '--quiet'] }] });
    const before = stats(fx).handedOff;
    const [progress] = await converse(fx.routerPort, [request(chat('cold', { stream: true }), { 'X-LLM-Manager-Loading': 'stream', Connection: 'close' })], 1);
    expect(progress!.status).toBe(200);
    expect(progress!.body).toMatch(/^: loading cold/);
    expect(stats(fx).handedOff).toBe(before + 1);
    await fx.node.api.stopModel('cold');
    await fx.node.api.holdModels();
    const [held] = await converse(fx.routerPort, [request(chat('cold'), { Connection: 'close' })], 1);
    expect(held!.status).toBe(503);
    expect(JSON.parse(held!.body).error.code).toBe('models_held');
    expect(stats(fx).handedOff).toBe(before + 2);
  });
});

describe("Node's fetch (the JS SDKs' client)", () => {
  it('its requests take the fast path, Sec-Fetch-Mode passed on; a browser-shaped one goes to node:http', async () => {
    const fx = await readyNode();
    const before = { ...stats(fx) };
    const body = { model: 'odd', mode: 'echo-head', messages: [{ role: 'user', content: 'x' }] };
    const res = await postJson(`${fx.url}/v1/chat/completions`, body);
    expect(res.status).toBe(201);
    const lines = ((await res.json()) as { head: string }).head.split('\r\n');
    expect(lines).toContain('sec-fetch-mode: cors');
    expect(stats(fx)).toEqual({ served: before.served + 1, handedOff: before.handedOff });
    // With another Sec-* (a browser sends several, and Origin), node:http and its guard decide.
    const [browser] = await converse(fx.routerPort, [request(body, { 'Sec-Fetch-Mode': 'cors', 'Sec-Fetch-Site': 'same-origin', Connection: 'close' })], 1);
    expect(browser!.status).toBe(201);
    expect(stats(fx).handedOff).toBe(before.handedOff + 1);
  });
});
