// /api over real HTTP with real engines: health, model list and info, start/stop, logs, and the
// two SSE streams (manager events, one model's log).
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { afterEach, describe, expect, it } from 'vitest';
import type { LogLine, ManagerEvent, ModelInfo } from '../../src-shared/contract.js';
import { chat, postJson, readJson, subscribeSse, waitFor, type Json } from '../helpers/http.js';
import { closeAllNodes, startNode, type NodeFixture } from '../helpers/node-fixture.js';
import { isProcessRunning } from '../helpers/processes.js';

afterEach(closeAllNodes);

async function getJson(fx: NodeFixture, path: string): Promise<{ status: number; body: Json }> {
  const res = await fetch(`${fx.url}${path}`);
  return { status: res.status, body: await readJson(res) };
}

async function post(fx: NodeFixture, path: string): Promise<{ status: number; body: Json }> {
  const res = await fetch(`${fx.url}${path}`, { method: 'POST' });
  return { status: res.status, body: await readJson(res) };
}

function expectLogLine(line: LogLine): void {
  expect(Object.keys(line).sort()).toEqual(['seq', 'stream', 'text', 'ts']);
  expect(Number.isInteger(line.seq)).toBe(true);
  expect(line.ts).toBeGreaterThan(Date.parse('2020-01-01'));
  expect(['stdout', 'stderr', 'system']).toContain(line.stream);
  expect(typeof line.text).toBe('string');
}

const twoModels = () =>
  startNode({
    models: [
      { name: 'alpha', aliases: ['Alpha-Alias'], flags: ['--load-ms', '250'] },
      { name: 'beta', mode: 'Embedding' },
    ],
  });

describe('management API', () => {
  it('GET /api/health reports the endpoint and counts running models', async () => {
    const fx = await twoModels();
    const { status, body } = await getJson(fx, '/api/health');
    expect(status).toBe(200);
    expect(body).toMatchObject({
      status: 'ok',
      version: expect.any(String),
      uptimeS: expect.any(Number),
      endpoint: `${fx.url}/v1`,
      configPath: fx.configPath,
      models: { total: 2, running: 0, starting: 0, failed: 0 },
      heldSince: null,
    });
    await post(fx, '/api/models/alpha/start');
    expect((await getJson(fx, '/api/health')).body.models).toEqual({ total: 2, running: 1, starting: 0, failed: 0 });
  });

  it('GET /api/models lists every model in config order with its settings and state', async () => {
    const fx = await twoModels();
    const { status, body } = await getJson(fx, '/api/models');
    expect(status).toBe(200);
    expect(body.map((m: ModelInfo) => m.name)).toEqual(['alpha', 'beta']);
    // toMatchObject: the contract may grow fields; these must all be there with these values.
    expect(body[0]).toMatchObject({
      name: 'alpha',
      aliases: ['Alpha-Alias'],
      mode: 'Chat',
      port: fx.ports['alpha'],
      state: 'stopped',
      autoStart: false,
      pid: null,
      profile: null,
      skippedProfiles: [],
      startedAt: null,
      readyAt: null,
      lastUsed: null,
      inFlight: 0,
      idleStopAt: null,
      aliveTimeMs: 0,
      lastError: null,
    });
    expect(body[1]).toMatchObject({ name: 'beta', mode: 'Embedding', port: fx.ports['beta'] });
  });

  it('POST /api/models/:name/start resolves once the engine is ready; start again is a no-op; stop stops it', async () => {
    const fx = await twoModels();
    const began = performance.now();
    const started = await post(fx, '/api/models/alpha-alias/start'); // by alias, any case
    expect(started.status).toBe(200);
    expect(performance.now() - began).toBeGreaterThanOrEqual(240);
    expect(started.body).toMatchObject({ name: 'alpha', state: 'ready', profile: 'Test-Profile' });
    const pid = started.body.pid as number;
    expect(isProcessRunning(pid)).toBe(true);
    // Ready means ready: the engine itself answers its health check right now.
    expect((await fetch(`http://127.0.0.1:${fx.ports['alpha']}/health`)).status).toBe(200);

    const again = await post(fx, '/api/models/alpha/start');
    expect(again.body).toMatchObject({ state: 'ready', pid });
    expect(await fx.spawnCount('alpha')).toBe(1);

    const stopped = await post(fx, '/api/models/alpha/stop');
    expect(stopped.status).toBe(200);
    expect(stopped.body).toMatchObject({ name: 'alpha', state: 'stopped', pid: null });
    expect(isProcessRunning(pid)).toBe(false);
    await expect(fetch(`http://127.0.0.1:${fx.ports['alpha']}/health`)).rejects.toThrow();

    // Stopping a stopped model is fine too.
    expect((await post(fx, '/api/models/alpha/stop')).body.state).toBe('stopped');
  });

  it('POST /api/models/:name/start of a model that cannot start → 503 with the reason', async () => {
    const fx = await startNode({ models: [{ name: 'broken', flags: ['--load-ms', '100', '--exit-before-ready', '9'] }] });
    const res = await post(fx, '/api/models/broken/start');
    expect(res.status).toBe(503);
    expect(res.body.error).toMatchObject({ type: 'service_unavailable', code: 'model_start_failed' });
    expect(res.body.error.message).toContain('exit code 9');
    expect((await getJson(fx, '/api/health')).body.models.failed).toBe(1);
  });

  it('POST /api/models/stop-all stops every running model', async () => {
    const fx = await twoModels();
    await Promise.all([post(fx, '/api/models/alpha/start'), post(fx, '/api/models/beta/start')]);
    const pids = fx.pids();
    expect(pids).toHaveLength(2);
    const res = await post(fx, '/api/models/stop-all');
    expect(res.status).toBe(200);
    expect(res.body.map((m: ModelInfo) => m.state)).toEqual(['stopped', 'stopped']);
    for (const pid of pids) expect(isProcessRunning(pid)).toBe(false);
  });

  it('GET /api/models/:name/logs?tail=5 returns at most the last 5 lines, oldest first', async () => {
    const fx = await twoModels();
    await post(fx, '/api/models/alpha/start');
    expect((await postJson(`${fx.url}/v1/chat/completions`, chat('alpha'))).status).toBe(200);
    const all = (await fx.node.api.modelLogs('alpha', 2000)).length;
    expect(all).toBeGreaterThan(5);

    const { status, body } = await getJson(fx, '/api/models/alpha/logs?tail=5');
    expect(status).toBe(200);
    const lines = body as LogLine[];
    expect(lines.length).toBeLessThanOrEqual(5);
    expect(lines.length).toBe(5);
    lines.forEach(expectLogLine);
    // Consecutive and the newest ones.
    expect(lines.map((l) => l.seq)).toEqual([0, 1, 2, 3, 4].map((i) => lines[0]!.seq + i));
    const latest = await fx.node.api.modelLogs('alpha', 1);
    expect(lines.at(-1)!.seq).toBeGreaterThanOrEqual(latest[0]!.seq - 2);

    const full = (await getJson(fx, '/api/models/alpha/logs')).body as LogLine[];
    expect(full[0]!.text).toMatch(/^starting alpha \(profile Test-Profile, port \d+\): /);
    expect(full.some((l) => l.stream === 'stdout' && l.text.includes('server is listening'))).toBe(true);
    expect(full.some((l) => l.stream === 'system' && /^alpha is ready \(\d+ ms, pid \d+, port \d+\)$/.test(l.text))).toBe(true);

    expect((await getJson(fx, '/api/models/alpha/logs?tail=0')).body).toEqual([]);
    const bad = await getJson(fx, '/api/models/alpha/logs?tail=abc');
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({ code: 'invalid_tail', type: 'invalid_request_error' });
  });
});

describe('GET /metrics', () => {
  /** name{labels} → value, from Prometheus' text format. */
  const parse = (text: string) => new Map(text.split('\n').filter((l) => l !== '' && !l.startsWith('#')).map((l) => [l.slice(0, l.lastIndexOf(' ')), Number(l.slice(l.lastIndexOf(' ') + 1))]));

  it("reports each model's state, requests, starts, failures and last start time, in Prometheus' text format", async () => {
    const fx = await startNode({ models: [{ name: 'alpha', flags: ['--load-ms', '100'] }, { name: 'we"ird\\name', flags: ['--exit-before-ready', '3'] }] });
    for (let i = 0; i < 3; i++) expect((await postJson(`${fx.url}/v1/chat/completions`, chat('alpha'))).status).toBe(200);
    expect((await postJson(`${fx.url}/v1/chat/completions`, chat('we"ird\\name'))).status).toBe(503);
    const res = await fetch(`${fx.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const text = await res.text();
    expect(text).toContain('# TYPE llm_manager_model_requests_total counter');
    const m = parse(text);
    expect(m.get('llm_manager_model_state{model="alpha",state="ready"}')).toBe(1);
    expect(m.get('llm_manager_model_state{model="alpha",state="stopped"}')).toBe(0);
    expect(m.get('llm_manager_model_requests_total{model="alpha"}')).toBe(3);
    expect(m.get('llm_manager_model_starts_total{model="alpha"}')).toBe(1);
    expect(m.get('llm_manager_model_failures_total{model="alpha"}')).toBe(0);
    expect(m.get('llm_manager_model_last_start_seconds{model="alpha"}')).toBeGreaterThanOrEqual(0.1);
    expect(m.get('llm_manager_model_requests_in_flight{model="alpha"}')).toBe(0);
    // Label values escaped as the format says.
    expect(m.get('llm_manager_model_state{model="we\\"ird\\\\name",state="failed"}')).toBe(1);
    expect(m.get('llm_manager_model_failures_total{model="we\\"ird\\\\name"}')).toBe(1);
    expect(m.get('llm_manager_models_held')).toBe(0);
    expect(m.get('llm_manager_router_handed_off_total')).toBeGreaterThan(0);
    expect((await fetch(`${fx.url}/metrics`, { method: 'POST' })).status).toBe(405);
  });

  it('asks for a key like /api does when program.api_keys is set', async () => {
    const fx = await startNode({ models: [{ name: 'alpha' }], program: { api_keys: ['k'.repeat(24)] } });
    expect((await fetch(`${fx.url}/metrics`)).status).toBe(401);
    const ok = await fetch(`${fx.url}/metrics`, { headers: { authorization: `Bearer ${'k'.repeat(24)}` } });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain('llm_manager_model_state{model="alpha",state="stopped"} 1');
  });
});

describe('holding models off (for a game)', () => {
  it('POST /api/hold stops every engine and starts none on request; an explicit start still works; /api/release ends it', async () => {
    const fx = await twoModels();
    const events = await subscribeSse(`${fx.url}/api/events`);
    expect((await postJson(`${fx.url}/v1/chat/completions`, chat('alpha'))).status).toBe(200);
    const pid = (await fx.info('alpha')).pid!;

    const held = await post(fx, '/api/hold');
    expect(held.status).toBe(200);
    expect(held.body.heldSince).toEqual(expect.any(String));
    expect(held.body.models.running).toBe(0);
    expect(isProcessRunning(pid)).toBe(false);
    expect((await getJson(fx, '/api/health')).body.heldSince).toBe(held.body.heldSince);

    // A request (an IDE plugin in the background, say) doesn't bring the engine back.
    const refused = await postJson(`${fx.url}/v1/chat/completions`, chat('Alpha-Alias'));
    expect(refused.status).toBe(503);
    expect((await readJson(refused)).error).toMatchObject({
      code: 'models_held',
      type: 'service_unavailable',
      message: 'models are held off (Hold models, in the tray or the window), so alpha is not started; release the hold to use it',
    });
    expect(await fx.spawnCount('alpha')).toBe(1);
    // A person starting one on purpose: it runs, and requests reach it.
    expect((await post(fx, '/api/models/beta/start')).body.state).toBe('ready');
    expect((await postJson(`${fx.url}/v1/embeddings`, { model: 'beta', input: 'x' })).status).toBe(200);

    const released = await post(fx, '/api/release');
    expect(released.body.heldSince).toBeNull();
    expect((await postJson(`${fx.url}/v1/chat/completions`, chat('alpha'))).status).toBe(200);
    expect(await fx.spawnCount('alpha')).toBe(2);
    await waitFor(() => events.events.filter((e) => e.event === 'hold').length === 2, 3000, 'two hold events');
    expect(events.events.filter((e) => e.event === 'hold').map((e) => JSON.parse(e.data).heldSince === null)).toEqual([false, true]);
    await events.close();
  });
});

describe('POST /api/models/:name/log-folder', () => {
  it('names the log file; opens its folder where the node can (the desktop app), and says which', async () => {
    const fx = await twoModels();
    const { status, body } = await post(fx, '/api/models/Alpha-Alias/log-folder');
    expect(status).toBe(200);
    expect(body).toEqual({ path: path.join(fx.dir, 'logs', 'alpha.log'), opened: false });
    const unknown = await post(fx, '/api/models/nope/log-folder');
    expect(unknown.status).toBe(404);
    expect(unknown.body.error).toMatchObject({ code: 'model_not_found' });

    const opened: string[] = [];
    const desktop = await startNode({ models: [{ name: 'alpha' }], nodeOptions: { openFolder: async (dir) => void opened.push(dir) } });
    expect(await desktop.node.api.openLogFolder('alpha')).toEqual({ path: path.join(desktop.dir, 'logs', 'alpha.log'), opened: true });
    expect(opened).toEqual([path.join(desktop.dir, 'logs')]);
    const failing = await startNode({ models: [{ name: 'alpha' }], nodeOptions: { openFolder: async () => Promise.reject(new Error('no file manager')) } });
    const failed = await post(failing, '/api/models/alpha/log-folder');
    expect(failed.status).toBe(500);
    expect(failed.body.error.message).toBe(`couldn't open ${path.join(failing.dir, 'logs')}: no file manager`);
  });
});

describe('SSE streams', () => {
  it('GET /api/events: a snapshot of every model, then starting → ready as a model starts, then stopping → stopped', async () => {
    const fx = await twoModels();
    const baseline = fx.node.events.size;
    const sub = await subscribeSse(`${fx.url}/api/events`);
    try {
      expect(sub.status).toBe(200);
      expect(sub.contentType).toContain('text/event-stream');
      await waitFor(() => sub.events.length >= 2, 3000, 'the snapshot');
      const snapshot = sub.events.slice(0, 2).map((e) => JSON.parse(e.data) as ManagerEvent);
      expect(sub.events.slice(0, 2).map((e) => e.event)).toEqual(['model', 'model']);
      expect(snapshot.map((e) => (e.type === 'model' ? [e.model.name, e.model.state] : null))).toEqual([
        ['alpha', 'stopped'],
        ['beta', 'stopped'],
      ]);

      expect((await post(fx, '/api/models/alpha/start')).body.state).toBe('ready');
      await sub.next((e) => e.event === 'model' && JSON.parse(e.data).model.state === 'ready');
      await post(fx, '/api/models/alpha/stop');
      await sub.next((e) => e.event === 'model' && JSON.parse(e.data).model.state === 'stopped', 5000, 2);

      const alphaStates = sub.events
        .filter((e) => e.event === 'model')
        .map((e) => JSON.parse(e.data) as Extract<ManagerEvent, { type: 'model' }>)
        .filter((e) => e.model.name === 'alpha')
        .map((e) => e.model.state)
        .filter((state, i, all) => i === 0 || all[i - 1] !== state);
      expect(alphaStates).toEqual(['stopped', 'starting', 'ready', 'stopping', 'stopped']);

      // The model's log lines come along as `log` events.
      const logs = sub.events.filter((e) => e.event === 'log').map((e) => JSON.parse(e.data) as Extract<ManagerEvent, { type: 'log' }>);
      expect(logs.some((e) => e.model === 'alpha' && e.line.text.includes('server is listening'))).toBe(true);
      logs.forEach((e) => expectLogLine(e.line));
      expect(fx.node.events.size).toBe(baseline + 1);
    } finally {
      await sub.close();
    }
    // The subscription is dropped when the client goes away.
    await waitFor(() => fx.node.events.size === baseline, 3000, 'the SSE subscriber to be removed');
  });

  it('GET /api/models/:name/logs/stream: history first, then live lines, without gaps or repeats', async () => {
    const fx = await twoModels();
    await post(fx, '/api/models/alpha/start');
    // The engine logs the readiness probe's 200 just after answering it; let the log settle.
    await waitFor(
      async () => (await fx.node.api.modelLogs('alpha', 3)).some((l) => l.text === 'demo-engine: GET /health 200'),
      3000,
      'the last probe line',
    );
    const history = await fx.node.api.modelLogs('alpha', 3);
    expect(history).toHaveLength(3);

    const sub = await subscribeSse(`${fx.url}/api/models/alpha/logs/stream?tail=3`);
    try {
      expect(sub.status).toBe(200);
      await waitFor(() => sub.events.length >= 3, 3000, 'the history');
      const first = sub.events.slice(0, 3).map((e) => JSON.parse(e.data) as LogLine);
      expect(first).toEqual(history);
      expect(sub.events.slice(0, 3).map((e) => [e.event, e.id])).toEqual(history.map((l) => ['log', String(l.seq)]));

      // Live: the request's line from the engine, and our own system lines from a stop.
      expect((await postJson(`${fx.url}/v1/chat/completions`, chat('alpha'))).status).toBe(200);
      await sub.next((e) => (JSON.parse(e.data) as LogLine).text.includes('POST /v1/chat/completions 200'));
      await post(fx, '/api/models/alpha/stop');
      await sub.next((e) => (JSON.parse(e.data) as LogLine).text === 'alpha stopped');

      const lines = sub.events.map((e) => JSON.parse(e.data) as LogLine);
      lines.forEach(expectLogLine);
      const seqs = lines.map((l) => l.seq);
      expect(seqs).toEqual(seqs.map((_, i) => seqs[0]! + i)); // consecutive: nothing lost, nothing twice
      expect(lines.map((l) => l).slice(3).every((l) => l.seq > history.at(-1)!.seq)).toBe(true);
      expect(await fx.node.api.modelLogs('alpha', 1)).toEqual([lines.at(-1)]);
    } finally {
      await sub.close();
    }
  });
});
