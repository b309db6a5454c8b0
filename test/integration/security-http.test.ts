// Safe by default, at the HTTP door: web pages can't drive the node (DNS rebinding, cross-origin
// requests, CORS preflights), keys are checked and never reach an engine, and bad input gets a
// clear OpenAI-shaped 4xx while nothing else changes.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { chat, postJson, readJson, readSse, sleep, type Json } from '../helpers/http.js';
import { closeAllNodes, startNode, type NodeFixture } from '../helpers/node-fixture.js';
import { echoScript, rawRequest, slowClient } from '../helpers/raw-http.js';

afterEach(closeAllNodes);

const NO_UI = { webUiDir: null };
const CHAT_BODY = JSON.stringify(chat('demo'));
const JSON_TYPE = { 'content-type': 'application/json' };

function expectError(body: Json, status: number, code: string, res: { status: number }): void {
  expect(res.status).toBe(status);
  expect(Object.keys(body)).toEqual(['error']);
  expect(body.error).toMatchObject({ code, message: expect.any(String), type: expect.any(String) });
}

async function stateOf(fx: NodeFixture, name: string): Promise<string> {
  return (await fx.node.api.modelInfo(name)).state;
}

describe('DNS rebinding: the Host header must name this computer', () => {
  it('refuses a foreign Host on /v1, /api and the web UI with 403, and starts nothing', async () => {
    const fx = await startNode({ models: [{ name: 'demo' }], nodeOptions: NO_UI });
    const evil = `attacker.example:${fx.routerPort}`;
    for (const [method, p, body] of [
      ['GET', '/v1/models', undefined],
      ['POST', '/v1/chat/completions', CHAT_BODY],
      ['POST', '/api/models/demo/start', undefined],
      ['GET', '/api/models/demo/logs', undefined],
      ['GET', '/', undefined],
    ] as const) {
      const res = await rawRequest(fx.url, { method, path: p, headers: { host: evil, ...JSON_TYPE }, ...(body ? { body } : {}) });
      expectError(res.json, 403, 'host_not_allowed', res);
      expect(res.json.error.message).toContain('allowed_hosts');
      expect(res.headers['access-control-allow-origin']).toBeUndefined();
    }
    // A LAN address can't be rebound, but a loopback-only node has no business being asked by one.
    const lan = await rawRequest(fx.url, { path: '/v1/models', headers: { host: `192.168.1.20:${fx.routerPort}` } });
    expect(lan.status).toBe(403);
    expect(fx.pids()).toEqual([]);
    expect(await stateOf(fx, 'demo')).toBe('stopped');

    for (const host of [`localhost:${fx.routerPort}`, `127.0.0.1:${fx.routerPort}`, `[::1]:${fx.routerPort}`, 'LOCALHOST', 'app.localhost:1']) {
      expect((await rawRequest(fx.url, { path: '/v1/models', headers: { host } })).status, host).toBe(200);
    }
  });

  it('accepts the names in program.allowed_hosts (a leading dot covers subdomains)', async () => {
    const fx = await startNode({ models: [{ name: 'demo' }], program: { allowed_hosts: ['mybox.lan', '.home.arpa'] }, nodeOptions: NO_UI });
    for (const host of ['mybox.lan:8080', 'MyBox.Lan', 'nas.home.arpa:80', 'home.arpa']) {
      expect((await rawRequest(fx.url, { path: '/api/health', headers: { host } })).status, host).toBe(200);
    }
    expect((await rawRequest(fx.url, { path: '/api/health', headers: { host: 'mybox.lan.attacker.example' } })).status).toBe(403);
    expect((await rawRequest(fx.url, { path: '/api/health', headers: { host: 'evilhome.arpa' } })).status).toBe(403);
  });
});

describe('cross-origin requests from web pages', () => {
  it('a page on another site cannot start a model through /api: 403, and the model stays stopped', async () => {
    const fx = await startNode({ models: [{ name: 'demo' }], nodeOptions: NO_UI });
    const host = `127.0.0.1:${fx.routerPort}`;
    // What a <form method=post> or fetch(mode: 'no-cors') on attacker.example sends.
    const attempts: Record<string, string>[] = [
      { origin: 'https://attacker.example', 'content-type': 'application/x-www-form-urlencoded' },
      { origin: 'https://attacker.example', 'content-type': 'text/plain', 'sec-fetch-site': 'cross-site' },
      { origin: 'null' }, // sandboxed iframe
      { origin: `http://localhost:${fx.routerPort + 1}`, 'sec-fetch-site': 'same-site' }, // another local port
    ];
    for (const headers of attempts) {
      const res = await rawRequest(fx.url, { method: 'POST', path: '/api/models/demo/start', headers: { host, ...headers }, body: 'x=1' });
      expectError(res.json, 403, 'origin_not_allowed', res);
      expect(res.headers['access-control-allow-origin']).toBeUndefined();
    }
    // No Origin, but the browser says it comes from another site (<img src>, <script src>): refused too.
    const logs = await rawRequest(fx.url, { path: '/api/models/demo/logs', headers: { host, 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'no-cors' } });
    expectError(logs.json, 403, 'cross_site_request', logs);
    const events = await rawRequest(fx.url, { path: '/api/events', headers: { host, origin: 'https://attacker.example' } });
    expect(events.status).toBe(403);

    await sleep(100);
    expect(fx.pids()).toEqual([]);
    expect(await stateOf(fx, 'demo')).toBe('stopped');
    expect(await fx.spawnCount('demo')).toBe(0);
  });

  it('our own web UI (same origin) keeps working: Origin equal to Host, Sec-Fetch-Site same-origin', async () => {
    const ui = fs.mkdtempSync(path.join(os.tmpdir(), 'llm-ui-'));
    fs.writeFileSync(path.join(ui, 'index.html'), '<!doctype html><title>ui</title>');
    try {
      const fx = await startNode({ models: [{ name: 'demo', flags: ['--load-ms', '20'] }], nodeOptions: { webUiDir: ui } });
      for (const host of [`127.0.0.1:${fx.routerPort}`, `localhost:${fx.routerPort}`]) {
        const page = await rawRequest(fx.url, { path: '/', headers: { host } });
        expect(page.status).toBe(200);
        expect(page.text).toContain('<title>ui</title>');
        const headers = { host, origin: `http://${host}`, 'sec-fetch-site': 'same-origin', ...JSON_TYPE };
        const start = await rawRequest(fx.url, { method: 'POST', path: '/api/models/demo/start', headers });
        expect(start.status).toBe(200);
        expect(start.json.state).toBe('ready');
        const chatRes = await rawRequest(fx.url, { method: 'POST', path: '/v1/chat/completions', headers, body: CHAT_BODY });
        expect(chatRes.status).toBe(200);
        // Same origin: no CORS header needed, none given.
        expect(chatRes.headers['access-control-allow-origin']).toBeUndefined();
        const stop = await rawRequest(fx.url, { method: 'POST', path: '/api/models/demo/stop', headers });
        expect(stop.json.state).toBe('stopped');
      }
    } finally {
      fs.rmSync(ui, { recursive: true, force: true });
    }
  });

  it('CORS preflights: answered for configured origins, refused otherwise; "*" opens /v1 only', async () => {
    const fx = await startNode({
      models: [{ name: 'demo', script: echoScript() }],
      program: { cors_origins: ['http://localhost:3000'] },
      nodeOptions: NO_UI,
    });
    const preflight = (origin: string, p = '/v1/chat/completions', requestHeaders = 'content-type, authorization, x-stainless-os') =>
      rawRequest(fx.url, {
        method: 'OPTIONS',
        path: p,
        headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': requestHeaders },
      });

    const ok = await preflight('http://localhost:3000');
    expect(ok.status).toBe(204);
    expect(ok.headers['access-control-allow-origin']).toBe('http://localhost:3000');
    expect(ok.headers['access-control-allow-methods']).toContain('POST');
    expect(ok.headers['access-control-allow-headers']).toBe('content-type, authorization, x-stainless-os');
    expect(ok.headers['vary']).toContain('Origin');
    expect((await preflight('http://localhost:3000', '/api/models/demo/start')).status).toBe(204);

    for (const [origin, requested] of [
      ['http://localhost:3001', undefined],
      ['https://attacker.example', undefined],
      ['http://localhost:3000.attacker.example', undefined],
      // A page without an origin is let through a preflight only to send a key (see the Origin null test).
      ['null', 'content-type'],
    ] as const) {
      const refused = await preflight(origin, '/v1/chat/completions', requested);
      expectError(refused.json, 403, 'origin_not_allowed', refused);
      expect(refused.headers['access-control-allow-origin']).toBeUndefined();
    }

    // The real request from the allowed page: our CORS header, not the engine's "*".
    const res = await rawRequest(fx.url, { method: 'POST', path: '/v1/chat/completions', headers: { origin: 'http://localhost:3000', ...JSON_TYPE }, body: CHAT_BODY });
    expect(res.status).toBe(200);
    expect(res.headers['access-control-allow-origin']).toBe('http://localhost:3000');
    expect(res.headers['access-control-allow-credentials']).toBeUndefined();
    expect(res.json.headers.origin).toBe('http://localhost:3000');
    // A page not listed gets no CORS header from the engine either: it is refused before.
    const other = await rawRequest(fx.url, { method: 'POST', path: '/v1/chat/completions', headers: { origin: 'http://localhost:3001', ...JSON_TYPE }, body: CHAT_BODY });
    expect(other.status).toBe(403);
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('cors_origins "*" lets any page use /v1, never /api', async () => {
    const fx = await startNode({ models: [{ name: 'demo', flags: ['--load-ms', '20'] }], program: { cors_origins: ['*'] }, nodeOptions: NO_UI });
    const origin = 'https://some-chat-ui.example';
    const pre = await rawRequest(fx.url, { method: 'OPTIONS', path: '/v1/chat/completions', headers: { origin, 'access-control-request-method': 'POST' } });
    expect(pre.status).toBe(204);
    expect(pre.headers['access-control-allow-origin']).toBe('*');
    const res = await rawRequest(fx.url, { method: 'POST', path: '/v1/chat/completions', headers: { origin, ...JSON_TYPE }, body: CHAT_BODY });
    expect(res.status).toBe(200);
    expect(res.headers['access-control-allow-origin']).toBe('*');

    const apiPre = await rawRequest(fx.url, { method: 'OPTIONS', path: '/api/models/demo/stop', headers: { origin, 'access-control-request-method': 'POST' } });
    expect(apiPre.status).toBe(403);
    const stop = await rawRequest(fx.url, { method: 'POST', path: '/api/models/demo/stop', headers: { origin } });
    expectError(stop.json, 403, 'origin_not_allowed', stop);
    expect(await stateOf(fx, 'demo')).toBe('ready');
  });

  it('Origin null (the Electron window from file://) reaches /v1 only with the node\'s local key', async () => {
    const fx = await startNode({ models: [{ name: 'demo', flags: ['--load-ms', '20'] }], nodeOptions: NO_UI });
    const without = await rawRequest(fx.url, { method: 'POST', path: '/v1/chat/completions', headers: { origin: 'null', ...JSON_TYPE }, body: CHAT_BODY });
    expectError(without.json, 403, 'origin_not_allowed', without);
    const wrong = await rawRequest(fx.url, { method: 'POST', path: '/v1/chat/completions', headers: { origin: 'null', authorization: 'Bearer nope', ...JSON_TYPE }, body: CHAT_BODY });
    expect(wrong.status).toBe(403);
    expect(fx.pids()).toEqual([]);

    const pre = await rawRequest(fx.url, {
      method: 'OPTIONS',
      path: '/v1/chat/completions',
      headers: { origin: 'null', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' },
    });
    expect(pre.status).toBe(204);
    expect(pre.headers['access-control-allow-origin']).toBe('null');
    for (const origin of ['null', 'file://']) {
      const res = await rawRequest(fx.url, {
        method: 'POST',
        path: '/v1/chat/completions',
        headers: { origin, authorization: `Bearer ${fx.node.localKey}`, ...JSON_TYPE },
        body: CHAT_BODY,
      });
      expect(res.status).toBe(200);
      expect(res.headers['access-control-allow-origin']).toBe(origin);
    }
    // The local key does not open /api to pages.
    const api = await rawRequest(fx.url, { method: 'POST', path: '/api/models/demo/stop', headers: { origin: 'null', authorization: `Bearer ${fx.node.localKey}` } });
    expect(api.status).toBe(403);
  });
});

describe('API keys', () => {
  const KEY = 'test-key-0123456789abcdef';
  const OTHER = 'second-key-abcdefghijklmnop';

  it('every /v1 and /api request needs a key: missing or wrong → 401 in OpenAI shape; either key works', async () => {
    const fx = await startNode({ models: [{ name: 'demo', flags: ['--load-ms', '20'] }], program: { api_keys: [KEY, OTHER] }, nodeOptions: NO_UI });
    for (const [method, p] of [
      ['GET', '/v1/models'],
      ['POST', '/v1/chat/completions'],
      ['GET', '/api/health'],
      ['POST', '/api/models/demo/start'],
      ['GET', '/api/models/demo/logs'],
      ['GET', '/api/config'],
    ] as const) {
      const body = method === 'POST' ? CHAT_BODY : undefined;
      const missing = await rawRequest(fx.url, { method, path: p, headers: JSON_TYPE, ...(body ? { body } : {}) });
      expectError(missing.json, 401, 'missing_api_key', missing);
      expect(missing.json.error.type).toBe('authentication_error');
      expect(missing.headers['www-authenticate']).toContain('Bearer');
      const wrongKeys: Record<string, string>[] = [{ authorization: `Bearer ${KEY}x` }, { authorization: `Bearer ${KEY.slice(0, -1)}` }, { 'x-api-key': 'nope' }, { authorization: `Basic ${KEY}` }];
      for (const headers of wrongKeys) {
        const wrong = await rawRequest(fx.url, { method, path: p, headers: { ...JSON_TYPE, ...headers }, ...(body ? { body } : {}) });
        expect(wrong.status, `${p} ${JSON.stringify(headers)}`).toBe(401);
        expect(wrong.text).not.toContain(KEY);
      }
    }
    expect(fx.pids()).toEqual([]);
    expect(await stateOf(fx, 'demo')).toBe('stopped');

    const bearer = await rawRequest(fx.url, { path: '/v1/models', headers: { authorization: `Bearer ${KEY}` } });
    expect(bearer.status).toBe(200);
    const lower = await rawRequest(fx.url, { path: '/api/health', headers: { authorization: `bearer ${OTHER}` } });
    expect(lower.status).toBe(200);
    const xKey = await rawRequest(fx.url, { method: 'POST', path: '/v1/chat/completions', headers: { 'x-api-key': OTHER, ...JSON_TYPE }, body: CHAT_BODY });
    expect(xKey.status).toBe(200);
  });

  it('the key headers (and cookies) are stripped before the engine sees the request, and never logged', async () => {
    const lines: string[] = [];
    const logger = { debug: (m: string) => lines.push(m), info: (m: string) => lines.push(m), warn: (m: string) => lines.push(m), error: (m: string) => lines.push(m) };
    const fx = await startNode({ models: [{ name: 'demo', script: echoScript() }], program: { api_keys: [KEY], log_level: 'DEBUG' }, nodeOptions: { ...NO_UI, logger } });
    const res = await rawRequest(fx.url, {
      method: 'POST',
      path: '/v1/chat/completions',
      headers: { authorization: `Bearer ${KEY}`, 'x-api-key': KEY, cookie: 'session=secret', 'x-custom': 'kept', ...JSON_TYPE },
      body: CHAT_BODY,
    });
    expect(res.status).toBe(200);
    const seen = res.json.headers as Record<string, string>;
    expect(seen['x-custom']).toBe('kept');
    expect(seen['authorization']).toBeUndefined();
    expect(seen['x-api-key']).toBeUndefined();
    expect(seen['cookie']).toBeUndefined();
    expect(JSON.stringify(seen)).not.toContain(KEY);

    await fx.node.api.stopModel('demo');
    const logFile = path.join(fx.dir, 'logs', 'demo.log');
    const engineLog = fs.readFileSync(logFile, 'utf8');
    expect(engineLog.length).toBeGreaterThan(0);
    expect(engineLog).not.toContain(KEY);
    expect(lines.join('\n')).not.toContain(KEY);
    for (const l of await fx.node.api.modelLogs('demo')) expect(l.text).not.toContain(KEY);
  });

  it('the static web UI loads without a key (it holds no data); its API calls need one', async () => {
    const ui = fs.mkdtempSync(path.join(os.tmpdir(), 'llm-ui-'));
    fs.writeFileSync(path.join(ui, 'index.html'), '<!doctype html><title>ui</title>');
    try {
      const fx = await startNode({ models: [{ name: 'demo' }], program: { api_keys: [KEY] }, nodeOptions: { webUiDir: ui } });
      expect((await rawRequest(fx.url, { path: '/' })).status).toBe(200);
      expect((await rawRequest(fx.url, { path: '/api/models' })).status).toBe(401);
    } finally {
      fs.rmSync(ui, { recursive: true, force: true });
    }
  });
});

describe('bad input: a clear 4xx, and nothing starts', () => {
  it('content types: JSON (or none, or curl -d\'s default) is read; anything else is 415 naming the fix', async () => {
    const fx = await startNode({ models: [{ name: 'demo', flags: ['--load-ms', '20'] }], nodeOptions: NO_UI });
    for (const type of ['text/plain', 'multipart/form-data; boundary=x', 'application/jsonx']) {
      const res = await rawRequest(fx.url, { method: 'POST', path: '/v1/chat/completions', headers: { 'content-type': type }, body: CHAT_BODY });
      expectError(res.json, 415, 'unsupported_media_type', res);
      expect(res.json.error.message).toContain("-H 'content-type: application/json'");
    }
    expect(fx.pids()).toEqual([]);
    const jsonish: Record<string, string>[] = [
      {},
      { 'content-type': 'application/json; charset=utf-8' },
      { 'content-type': 'Application/JSON' },
      // `curl URL -d '{"model":...}'` labels its JSON this way; the body must still be JSON.
      { 'content-type': 'application/x-www-form-urlencoded' },
    ];
    for (const headers of jsonish) {
      const res = await rawRequest(fx.url, { method: 'POST', path: '/v1/chat/completions', headers, body: CHAT_BODY });
      expect(res.status, JSON.stringify(headers)).toBe(200);
    }
  });

  it('malformed JSON, non-objects, non-string and over-long models, oversized bodies, unknown paths', async () => {
    const fx = await startNode({ models: [{ name: 'demo' }], bodyLimitMb: 0.01, nodeOptions: NO_UI });
    const post = (body: string, p = '/v1/chat/completions') => rawRequest(fx.url, { method: 'POST', path: p, headers: JSON_TYPE, body });
    const cases: [string, number, string][] = [
      ['{"model": "demo",', 400, 'invalid_json'],
      ['\u0000\u0001', 400, 'invalid_json'],
      ['"demo"', 400, 'invalid_request'],
      ['null', 400, 'invalid_request'],
      ['[{"model":"demo"}]', 400, 'invalid_request'],
      [JSON.stringify({ model: 7 }), 400, 'invalid_model'],
      [JSON.stringify({ model: { $ne: null } }), 400, 'invalid_model'],
      [JSON.stringify({ model: 'x'.repeat(257) }), 400, 'invalid_model'],
      [JSON.stringify({ model: '../../etc/passwd' }), 404, 'model_not_found'],
      [JSON.stringify(chat('demo', { pad: 'x'.repeat(20_000) })), 413, 'request_too_large'],
    ];
    for (const [body, status, code] of cases) {
      const res = await post(body);
      expectError(res.json, status, code, res);
    }
    const unknown = await post(CHAT_BODY, '/v1/../../etc/passwd');
    expect(unknown.status).toBe(404);
    expect(fx.pids()).toEqual([]);
    expect(await stateOf(fx, 'demo')).toBe('stopped');
  });

  it('odd model names in /api paths never reach a file: traversal, encoded dots, NUL, very long → 404/400', async () => {
    const fx = await startNode({ models: [{ name: 'demo', flags: ['--load-ms', '20'] }], nodeOptions: NO_UI });
    await fx.node.api.startModel('demo');
    const secret = path.join(fx.dir, 'secret.log');
    fs.writeFileSync(secret, 'TOP-SECRET\n');
    const cases: [string, number[]][] = [
      ['/api/models/..%2Fsecret/logs', [404]],
      ['/api/models/%2e%2e%2fsecret/logs', [404]],
      ['/api/models/%2e%2e/logs', [404]],
      ['/api/models/../secret/logs', [404]],
      ['/api/models/..%5Csecret/logs', [404]],
      ['/api/models/demo%00/logs', [400]],
      ['/api/models/%00/info', [400]],
      [`/api/models/${'a'.repeat(5000)}/logs`, [400]],
      ['/api/models/%E0%A4%A/logs', [400, 404]],
      ['/api/models/demo/logs?tail=../../x', [400]],
      ['/api/models/secret.log/logs/stream', [404]],
    ];
    for (const [p, statuses] of cases) {
      const res = await rawRequest(fx.url, { path: p });
      expect(statuses, `${p} → ${res.status}`).toContain(res.status);
      expect(res.json?.error?.code, p).toEqual(expect.any(String));
      expect(res.text).not.toContain('TOP-SECRET');
    }
    // The real log still answers.
    expect((await rawRequest(fx.url, { path: '/api/models/demo/logs?tail=5' })).status).toBe(200);
  });
});

describe('slow clients', () => {
  it('headers and bodies that trickle in are cut off; a long streamed answer is not', async () => {
    const fx = await startNode({
      models: [{ name: 'demo', flags: ['--load-ms', '20', '--stream-delay-ms', '120'] }],
      program: { header_timeout: '300ms', request_timeout: '900ms', body_timeout: '300ms' },
      nodeOptions: { ...NO_UI, connectionsCheckingIntervalMs: 50 },
    });
    // Slowloris: headers that never end.
    const headers = await slowClient(fx.routerPort, 'POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: 1\r\n', 3000);
    expect(headers.closedAfterMs).not.toBeNull();
    expect(headers.closedAfterMs!).toBeLessThan(1500);

    // A body that stops halfway: 408 in OpenAI shape, then the connection is closed.
    const body = await slowClient(
      fx.routerPort,
      'POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{"model":"demo",',
      3000,
    );
    expect(body.closedAfterMs).not.toBeNull();
    expect(body.closedAfterMs!).toBeLessThan(1500);
    expect(body.received).toMatch(/^HTTP\/1\.1 408/);
    expect(body.received).toContain('"code":"request_timeout"');
    expect(fx.pids()).toEqual([]);

    // 12 tokens 120 ms apart: far longer than every timeout above, and it arrives whole.
    const res = await postJson(`${fx.url}/v1/chat/completions`, chat('demo', { stream: true, max_tokens: 12 }));
    expect(res.status).toBe(200);
    const started = Date.now();
    const { events, error } = await readSse(res);
    expect(error).toBeUndefined();
    expect(Date.now() - started).toBeGreaterThan(1200);
    expect(events.at(-1)?.data).toBe('[DONE]');
  });
});

describe('a crowd waiting on a starting model is bounded', () => {
  it('past program.max_queued_requests, requests get 503 with Retry-After; the queued ones are served', async () => {
    const fx = await startNode({ models: [{ name: 'demo', flags: ['--load-ms', '700', '--quiet'] }], program: { max_queued_requests: 5 }, nodeOptions: NO_UI });
    const results = await Promise.all(
      Array.from({ length: 12 }, () =>
        postJson(`${fx.url}/v1/chat/completions`, chat('demo')).then(async (res) => ({ status: res.status, retry: res.headers.get('retry-after'), body: await readJson(res) })),
      ),
    );
    const served = results.filter((r) => r.status === 200);
    const refused = results.filter((r) => r.status === 503);
    expect(served).toHaveLength(5);
    expect(refused).toHaveLength(7);
    for (const r of refused) {
      expect(r.body.error.code).toBe('model_queue_full');
      expect(Number(r.retry)).toBeGreaterThanOrEqual(1);
    }
    expect(await fx.spawnCount('demo')).toBe(1);
    // Once ready, there is no queue: a burst is served.
    const burst = await Promise.all(Array.from({ length: 20 }, () => postJson(`${fx.url}/v1/chat/completions`, chat('demo')).then((r) => r.status)));
    expect(burst.every((s) => s === 200)).toBe(true);
  });
});
