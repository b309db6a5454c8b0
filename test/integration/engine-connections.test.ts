// Connection discipline per engine (issue #18): an engine that binds one HTTP thread to each
// connection (llama-server) never gets more connections than its max_connections from both of the
// router's paths together, so no connection waits unread for a thread; requests beyond the limit
// wait in the router and all are answered.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { probeHealth } from '../../src-main/core/models/process.js';
import { fastPathStats } from '../../src-main/core/router/fast-path.js';
import { chat, postJson, readJson } from '../helpers/http.js';
import { rawRequest } from '../helpers/raw-http.js';
import { closeAllNodes, startNode, type NodeFixture } from '../helpers/node-fixture.js';

const ENGINE = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'thread-bound-engine.mjs');

afterEach(closeAllNodes);

/** A model on the thread-bound engine: `threads` HTTP threads, `parallel` slots, at most `max` connections from the router. */
async function boundNode(threads: number, parallel: number, max: number, extra: string[] = []): Promise<NodeFixture> {
  return startNode({
    models: [{ name: 'bound', script: { file: 'bound.sh', text: `exec "$NODE" '${ENGINE}' "$@"\n` }, flags: ['--threads', String(threads), '--parallel', String(parallel), '--service-ms', '40', ...extra] }],
    nodeOptions: {},
    program: {},
  }).then(async (fx) => {
    // max_connections through a config save, as a user would set it.
    const { readFileSync } = await import('node:fs');
    const text = readFileSync(fx.configPath, 'utf8').replace('  bound:\n', `  bound:\n    max_connections: ${max}\n`);
    const saved = await fx.node.api.saveConfig(text);
    expect(saved.ok).toBe(true);
    return fx;
  });
}

async function engineLines(fx: NodeFixture): Promise<string[]> {
  return (await fx.node.api.modelLogs('bound', 2000)).map((l) => l.text).filter((t) => t.startsWith('thread-bound: '));
}

const maxOpen = (lines: string[]) => Math.max(0, ...lines.map((l) => Number(/max open (\d+)/.exec(l)?.[1] ?? 0)));

describe('connections to an engine', () => {
  it('a cold burst of 20 opens at most max_connections, none waits for a thread, all are answered', async () => {
    const fx = await boundNode(4, 2, 3);
    const answers = await Promise.all(Array.from({ length: 20 }, () => postJson(`${fx.url}/v1/chat/completions`, chat('bound')).then(async (r) => ({ status: r.status, body: await readJson(r) }))));
    expect(answers.map((a) => a.status)).toEqual(Array(20).fill(200));
    const lines = await engineLines(fx);
    // The router's 3, and at most one health probe beside them.
    expect(maxOpen(lines)).toBeLessThanOrEqual(4);
    expect(lines.filter((l) => l.includes('waited'))).toEqual([]);
  });

  it('a warm burst on both paths at once (plain requests and a browser\'s) keeps to the same budget', async () => {
    const fx = await boundNode(4, 2, 3);
    expect((await postJson(`${fx.url}/v1/chat/completions`, chat('bound'))).status).toBe(200);
    const served = fastPathStats(fx.node.server)!.served;
    // node:http's client sends a plain request (the fast path's); fetch adds Sec-Fetch-* (node:http's).
    const body = JSON.stringify(chat('bound'));
    const send = (i: number) =>
      i % 2 === 0
        ? rawRequest(fx.url, { method: 'POST', path: '/v1/chat/completions', headers: { 'content-type': 'application/json' }, body }).then((r) => r.status)
        : postJson(`${fx.url}/v1/chat/completions`, chat('bound')).then((r) => r.status);
    const statuses = await Promise.all(Array.from({ length: 40 }, (_, i) => send(i)));
    expect(statuses).toEqual(Array(40).fill(200));
    // Some went the fast way; none of either way opened a connection past the budget.
    expect(fastPathStats(fx.node.server)!.served).toBeGreaterThan(served);
    const lines = await engineLines(fx);
    expect(maxOpen(lines)).toBeLessThanOrEqual(4);
    expect(lines.filter((l) => l.includes('waited'))).toEqual([]);
  });
});

describe('health probes', () => {
  it('go on a connection of their own, closed after the answer (no engine thread held between probes)', async () => {
    let asked = '';
    // The server would keep the connection a minute: only the probe's own close ends it.
    const server = http.createServer((req, res) => {
      asked = String(req.headers.connection);
      res.end('{"status":"ok"}');
    });
    server.keepAliveTimeout = 60_000;
    const closed = new Promise<void>((resolve) => server.on('connection', (socket) => socket.once('close', () => resolve())));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    expect(await probeHealth(port, '/health')).toBe(200);
    await closed;
    expect(asked).toBe('close');
    server.close();
  });
});

describe('the probe that finds an engine ready while requests wait', () => {
  /** The engine's connection id of each answer and close it logged (--log-requests). */
  const conns = async (fx: NodeFixture) => {
    const lines = await engineLines(fx);
    const of = (re: RegExp) => lines.flatMap((l) => (re.test(l) ? [Number(/conn (\d+)/.exec(l)![1])] : []));
    return { readyProbe: of(/ GET \/health 200$/)[0], posts: of(/ POST \/v1\/chat\/completions 200$/), closed: of(/ closed$/) };
  };
  const body = JSON.stringify(chat('bound'));

  it('carries the first request that waited for the start: no connection is opened as the engine turns ready', async () => {
    const fx = await boundNode(4, 2, 3, ['--log-requests']);
    // A plain request: it waits for the start on the fast path.
    const answer = await rawRequest(fx.url, { method: 'POST', path: '/v1/chat/completions', headers: { 'content-type': 'application/json' }, body });
    expect(answer.status).toBe(200);
    const { readyProbe, posts, closed } = await conns(fx);
    expect(readyProbe).toBeDefined();
    expect(posts).toEqual([readyProbe]);
    expect(closed).not.toContain(readyProbe);
    // Kept alive and reused as any of the router's connections.
    expect((await rawRequest(fx.url, { method: 'POST', path: '/v1/chat/completions', headers: { 'content-type': 'application/json' }, body })).status).toBe(200);
    expect((await conns(fx)).posts).toEqual([readyProbe, readyProbe]);
  });

  it('is closed at once when no request that waited takes it (holding no engine thread)', async () => {
    // The engine would keep an idle connection a minute: only the router's close ends it sooner.
    const fx = await boundNode(4, 2, 3, ['--log-requests', '--idle-close-ms', '60000']);
    // A chunked body is node:http's (the fast path reads Content-Length bodies only): it waits there,
    // and goes out through node:http's own pool.
    const answer = await rawRequest(fx.url, { method: 'POST', path: '/v1/chat/completions', headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' }, body });
    expect(answer.status).toBe(200);
    let seen = await conns(fx);
    expect(seen.readyProbe).toBeDefined();
    expect(seen.posts).toHaveLength(1);
    expect(seen.posts[0]).not.toBe(seen.readyProbe);
    // Closed by the router in the turn the engine turned ready.
    const deadline = Date.now() + 10_000;
    while (!seen.closed.includes(seen.readyProbe!) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      seen = await conns(fx);
    }
    expect(seen.closed).toContain(seen.readyProbe);
  });
});
