// The life of an engine process under a real node: stopped for idleness (never mid-stream),
// start failures answered to every waiting request, stops that escalate to SIGKILL, and whole
// process trees (a launch script's engine) taken down with the leader.
import fs from 'node:fs';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { afterEach, describe, expect, it } from 'vitest';
import { chat, jsonChunks, postJson, readJson, readSse, waitFor, type Json } from '../helpers/http.js';
import { closeAllNodes, startNode, waitForState, type NodeFixture } from '../helpers/node-fixture.js';
import { isProcessRunning } from '../helpers/processes.js';

afterEach(closeAllNodes);

async function logText(fx: NodeFixture, name: string): Promise<string> {
  return (await fx.node.api.modelLogs(name, 2000)).map((l) => l.text).join('\n');
}

async function apiPost(fx: NodeFixture, path: string): Promise<{ status: number; body: Json }> {
  const res = await fetch(`${fx.url}${path}`, { method: 'POST' });
  return { status: res.status, body: await readJson(res) };
}

/** `count` identical chat requests sent at once; resolves with every status and body. */
async function concurrentChats(fx: NodeFixture, model: string, count: number): Promise<{ status: number; body: Json }[]> {
  return Promise.all(
    Array.from({ length: count }, async () => {
      const res = await postJson(`${fx.url}/v1/chat/completions`, chat(model));
      return { status: res.status, body: await readJson(res) };
    }),
  );
}

describe('idle stop', () => {
  it('stops a model alive_time after its last request ended, and its process is gone', async () => {
    const fx = await startNode({ models: [{ name: 'napper', aliveTime: '1s', flags: ['--load-ms', '100'] }] });
    const res = await postJson(`${fx.url}/v1/chat/completions`, chat('napper'));
    expect(res.status).toBe(200);
    await readJson(res);
    const answeredAt = performance.now();

    const info = await fx.info('napper');
    expect(info.state).toBe('ready');
    expect(info.aliveTimeMs).toBe(1000);
    expect(Date.parse(info.idleStopAt!) - Date.parse(info.lastUsed!)).toBe(1000);
    const pid = info.pid!;
    expect(isProcessRunning(pid)).toBe(true);

    const stopped = await waitForState(fx, 'napper', 'stopped', 5000);
    const idleFor = performance.now() - answeredAt;
    expect(idleFor).toBeGreaterThanOrEqual(900);
    expect(idleFor).toBeLessThan(3000);
    expect(stopped).toMatchObject({ pid: null, idleStopAt: null, lastError: null });
    expect(isProcessRunning(pid)).toBe(false);
    expect(await logText(fx, 'napper')).toContain('stopping napper: idle for 1 s');
  });

  it('never stops an engine for idleness while a long stream is running, then stops it after alive_time', async () => {
    const fx = await startNode({ models: [{ name: 'talker', aliveTime: '1s', flags: ['--load-ms', '100', '--stream-delay-ms', '300'] }] });
    const res = await postJson(`${fx.url}/v1/chat/completions`, chat('talker', { max_tokens: 10, stream: true }));
    expect(res.status).toBe(200);
    const streamStart = performance.now();
    const reading = readSse(res);

    // Mid-stream (already longer than alive_time since the engine became ready): busy, no deadline.
    await waitFor(() => performance.now() - streamStart > 1500, 3000, '1.5 s of streaming', 50);
    const during = await fx.info('talker');
    expect(during).toMatchObject({ state: 'ready', inFlight: 1, idleStopAt: null });

    const { events, error, endedAt } = await reading;
    expect(error).toBeUndefined();
    expect(endedAt - streamStart).toBeGreaterThanOrEqual(2500);
    expect(events.at(-1)?.data).toBe('[DONE]');
    const tokens = jsonChunks(events).filter((c) => (c.choices[0]?.delta?.content ?? '') !== '');
    expect(tokens).toHaveLength(10);

    const after = await fx.info('talker');
    expect(after.state).toBe('ready');
    expect(after.pid).toBe(during.pid);
    expect(isProcessRunning(after.pid!)).toBe(true);

    await waitForState(fx, 'talker', 'stopped', 5000);
    expect(performance.now() - endedAt).toBeGreaterThanOrEqual(900);
    expect(isProcessRunning(after.pid!)).toBe(false);
    expect(await fx.spawnCount('talker')).toBe(1);
  });

  it('an explicit start of a running model (a warm-up) starts its idle countdown over', async () => {
    const fx = await startNode({ models: [{ name: 'warm', aliveTime: '1500ms', flags: ['--load-ms', '50'] }] });
    const started = await postJson(`${fx.url}/api/models/warm/start`, {});
    expect(started.status).toBe(200);
    const first = await fx.info('warm');
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const again = await readJson(await postJson(`${fx.url}/api/models/warm/start`, {}));
    expect(again).toMatchObject({ state: 'ready', pid: first.pid });
    expect(Date.parse(again.idleStopAt) - Date.parse(first.idleStopAt!)).toBeGreaterThanOrEqual(900);
    // Past the first deadline, it still runs; it stops after the new one.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, Date.parse(first.idleStopAt!) + 200 - Date.now())));
    expect((await fx.info('warm')).state).toBe('ready');
    await waitForState(fx, 'warm', 'stopped', 5000);
    expect(await fx.spawnCount('warm')).toBe(1);
  });

  it('a model with alive_time 0 is never stopped for idleness', async () => {
    const fx = await startNode({ models: [{ name: 'awake', aliveTime: 0 }, { name: 'napper', aliveTime: '300ms' }] });
    expect((await postJson(`${fx.url}/v1/chat/completions`, chat('awake'))).status).toBe(200);
    expect((await postJson(`${fx.url}/v1/chat/completions`, chat('napper'))).status).toBe(200);
    expect((await fx.info('awake')).idleStopAt).toBeNull();
    // Once the 300 ms model has been stopped, the other one has been idle longer than that too.
    await waitForState(fx, 'napper', 'stopped', 3000);
    expect((await fx.info('awake')).state).toBe('ready');
  });
});

describe('start failures are answered 503 to every waiting request', () => {
  it('an engine that exits before it is ready: exit code and its last log lines, to all 5 waiters', async () => {
    const fx = await startNode({ models: [{ name: 'broken', flags: ['--load-ms', '200', '--exit-before-ready', '7'] }] });
    const results = await concurrentChats(fx, 'broken', 5);
    for (const { status, body } of results) {
      expect(status).toBe(503);
      expect(body.error).toMatchObject({ type: 'service_unavailable', code: 'model_start_failed' });
      expect(body.error.message).toContain('broken exited before it was ready (exit code 7)');
      expect(body.error.message).toContain('last log lines:');
      expect(body.error.message).toContain('error: failed to load model broken');
    }
    expect(await fx.spawnCount('broken')).toBe(1);
    const info = await fx.info('broken');
    expect(info).toMatchObject({ state: 'failed', pid: null });
    expect(info.lastError).toMatchObject({ exitCode: 7, signal: null });
    expect(info.lastError!.logTail.join('\n')).toContain('failed to load model');
    for (const pid of fx.pids()) expect(isProcessRunning(pid)).toBe(false);
  });

  it('an engine not ready within start_timeout: 503 naming the timeout to every waiter, and it is killed', async () => {
    const fx = await startNode({ models: [{ name: 'sloth', startTimeout: '1s', stopTimeout: '1s', flags: ['--load-ms', '60000'] }] });
    const began = performance.now();
    const results = await concurrentChats(fx, 'sloth', 5);
    const waited = performance.now() - began;
    expect(waited).toBeGreaterThanOrEqual(900);
    expect(waited).toBeLessThan(4000);
    for (const { status, body } of results) {
      expect(status).toBe(503);
      expect(body.error.code).toBe('model_start_failed');
      expect(body.error.message).toContain('sloth was not ready within the start timeout (1 s)');
    }
    expect(fx.pids()).toHaveLength(1);
    expect(isProcessRunning(fx.pids()[0]!)).toBe(false);
    const info = await fx.info('sloth');
    expect(info).toMatchObject({ state: 'failed', pid: null });
    expect(await logText(fx, 'sloth')).toContain('not ready after 1 s; stopping it');
  });

  it('an engine without the configured health path is ready once its /v1/models answers 200; one that never is, is named', async () => {
    const fx = await startNode({
      models: [
        { name: 'plain', healthPath: '/status', flags: ['--load-ms', '300'] },
        { name: 'slow', healthPath: '/status', startTimeout: '1s', stopTimeout: '1s', flags: ['--load-ms', '60000'] },
      ],
    });
    // The demo engine answers 404 for /status at once, and 503 on /v1/models until it has loaded:
    // a 200 here means the fallback waited for the load.
    const res = await postJson(`${fx.url}/v1/chat/completions`, chat('plain'));
    expect(res.status).toBe(200);
    expect(await logText(fx, 'plain')).toContain('GET /status answers 404, GET /v1/models answers 200: taking that as ready (set health_path');
    const [slow] = await concurrentChats(fx, 'slow', 1);
    expect(slow!.status).toBe(503);
    expect(slow!.body.error.message).toContain('slow was not ready within the start timeout (1 s): GET /status last answered 404; set health_path to a path the engine serves');
  });

  it('a port held by another program: 503 naming the port, nothing spawned, the other program untouched', async () => {
    const fx = await startNode({ models: [{ name: 'squatted' }] });
    const port = fx.ports['squatted']!;
    const stranger = net.createServer((socket) => {
      socket.on('error', () => undefined); // the node's port probe hangs up at once
      socket.end('stranger\n');
    });
    await new Promise<void>((resolve) => stranger.listen(port, '127.0.0.1', resolve));
    try {
      const results = await concurrentChats(fx, 'squatted', 5);
      for (const { status, body } of results) {
        expect(status).toBe(503);
        expect(body.error.code).toBe('model_start_failed');
        expect(body.error.message).toContain(`port ${port} is already in use`);
      }
      expect(await fx.spawnCount('squatted')).toBe(0);
      expect(fx.pids()).toEqual([]);
      expect((await fx.info('squatted')).state).toBe('failed');
      // Still listening, still answering.
      expect(stranger.listening).toBe(true);
      const greeting = await new Promise<string>((resolve, reject) => {
        const socket = net.connect(port, '127.0.0.1');
        let text = '';
        socket.on('data', (chunk) => (text += chunk.toString()));
        socket.once('end', () => resolve(text));
        socket.once('error', reject);
      });
      expect(greeting).toBe('stranger\n');
    } finally {
      await new Promise<void>((resolve) => stranger.close(() => resolve()));
    }
    // Once the port is free again, the next request starts the model normally.
    expect((await postJson(`${fx.url}/v1/chat/completions`, chat('squatted'))).status).toBe(200);
  });
});

describe('stop', () => {
  it('kills an engine that ignores SIGTERM after stop_timeout; the stop call returns once it is gone', async () => {
    const fx = await startNode({ models: [{ name: 'stubborn', stopTimeout: '1s', flags: ['--load-ms', '100', '--ignore-sigterm'] }] });
    const started = await apiPost(fx, '/api/models/stubborn/start');
    expect(started.status).toBe(200);
    expect(started.body.state).toBe('ready');
    const pid = started.body.pid as number;
    expect(isProcessRunning(pid)).toBe(true);

    const began = performance.now();
    const stopped = await apiPost(fx, '/api/models/stubborn/stop');
    const took = performance.now() - began;
    expect(stopped.status).toBe(200);
    expect(stopped.body).toMatchObject({ name: 'stubborn', state: 'stopped', pid: null });
    expect(took).toBeGreaterThanOrEqual(900);
    expect(took).toBeLessThan(3000);
    expect(isProcessRunning(pid)).toBe(false);
    const log = await logText(fx, 'stubborn');
    expect(log).toContain('ignoring SIGTERM');
    expect(log).toContain('stubborn did not exit within 1 s; killing it');
    expect(log).toContain(`process ${pid} exited (signal SIGKILL)`);
  });

  it('stopping a model that is starting answers its waiters 503 model_start_cancelled', async () => {
    const fx = await startNode({ models: [{ name: 'loader', flags: ['--load-ms', '60000'] }] });
    const waiting = concurrentChats(fx, 'loader', 3);
    await waitFor(() => fx.pids().length === 1, 3000, 'the engine to be spawned');
    const stopped = await apiPost(fx, '/api/models/loader/stop');
    expect(stopped.body.state).toBe('stopped');
    for (const { status, body } of await waiting) {
      expect(status).toBe(503);
      expect(body.error.code).toBe('model_start_cancelled');
      expect(body.error.message).toContain('loader');
    }
    expect(isProcessRunning(fx.pids()[0]!)).toBe(false);
  });

  it('a request that arrives while the model is stopping waits, then gets a freshly started engine', async () => {
    const fx = await startNode({ models: [{ name: 'stubborn', stopTimeout: '1s', flags: ['--load-ms', '100', '--ignore-sigterm'] }] });
    const first = (await apiPost(fx, '/api/models/stubborn/start')).body.pid as number;
    const stopping = apiPost(fx, '/api/models/stubborn/stop');
    await waitForState(fx, 'stubborn', 'stopping');
    const res = await postJson(`${fx.url}/v1/chat/completions`, chat('stubborn'));
    expect(res.status).toBe(200);
    expect((await stopping).status).toBe(200);
    const info = await fx.info('stubborn');
    expect(info.state).toBe('ready');
    expect(info.pid).not.toBe(first);
    expect(isProcessRunning(first)).toBe(false);
    expect(await fx.spawnCount('stubborn')).toBe(2);
  });

  it('stop-all stops every running model (a stubborn one included) and leaves stopped ones alone', async () => {
    const fx = await startNode({
      models: [
        { name: 'one' },
        { name: 'two', stopTimeout: '1s', flags: ['--load-ms', '100', '--ignore-sigterm'] },
        { name: 'three' },
      ],
    });
    await Promise.all(['one', 'two'].map((name) => apiPost(fx, `/api/models/${name}/start`)));
    const pids = await Promise.all(['one', 'two'].map(async (name) => (await fx.info(name)).pid!));
    for (const pid of pids) expect(isProcessRunning(pid)).toBe(true);

    const res = await apiPost(fx, '/api/models/stop-all');
    expect(res.status).toBe(200);
    expect(res.body.map((m: Json) => [m.name, m.state, m.pid])).toEqual([
      ['one', 'stopped', null],
      ['two', 'stopped', null],
      ['three', 'stopped', null],
    ]);
    for (const pid of pids) expect(isProcessRunning(pid)).toBe(false);
    expect(await fx.spawnCount('three')).toBe(0);
  });

  it('node.close() leaves no engine behind: ready, streaming, starting and stubborn ones alike', async () => {
    const fx = await startNode({
      models: [
        { name: 'ready' },
        { name: 'streaming', flags: ['--load-ms', '100', '--stream-delay-ms', '200'] },
        { name: 'starting', flags: ['--load-ms', '60000'] },
        { name: 'stubborn', stopTimeout: '1s', flags: ['--load-ms', '100', '--ignore-sigterm'] },
      ],
    });
    await apiPost(fx, '/api/models/ready/start');
    await apiPost(fx, '/api/models/stubborn/start');
    const stream = await postJson(`${fx.url}/v1/chat/completions`, chat('streaming', { max_tokens: 100, stream: true }));
    expect(stream.status).toBe(200);
    const reading = readSse(stream);
    const waiter = postJson(`${fx.url}/v1/chat/completions`, chat('starting'));
    await waitFor(async () => (await fx.info('starting')).pid !== null, 3000, 'the slow engine to be spawned');
    const pids = fx.pids();
    expect(pids).toHaveLength(4);
    for (const pid of pids) expect(isProcessRunning(pid)).toBe(true);

    await fx.node.close();
    for (const pid of pids) expect(isProcessRunning(pid), `pid ${pid}`).toBe(false);
    // Nothing is left hanging: the stream ended, the waiting request got its answer.
    const { events } = await reading;
    expect(events.map((e) => e.data)).not.toContain('[DONE]');
    const waited = await waiter.then(
      async (res) => ({ status: res.status, body: await readJson(res) }),
      (err: unknown) => ({ status: 0, body: String(err) }),
    );
    expect(waited.status).toBe(503);
    expect(waited.body.error.code).toBe('model_start_cancelled');
    // The router is closed too.
    await expect(fetch(`${fx.url}/api/health`)).rejects.toThrow();
  });
});

describe.skipIf(process.platform === 'win32')('engines launched through a shell script', () => {
  // No `exec`: bash stays the parent of the engine, as in most hand-written launch scripts. The
  // engine's pid is logged by the `sh` that execs into it.
  const SCRIPT = [
    '#!/usr/bin/env bash',
    'echo "wrapper pid $$"',
    `sh -c 'echo "engine pid $$"; exec "$@"' sh "$NODE" "$ENGINE" "$@"`,
    'echo "engine exited with status $?"',
    '',
  ].join('\n');

  async function scriptPids(fx: NodeFixture, name: string): Promise<{ wrapper: number; engine: number }> {
    const lines = await logText(fx, name);
    const wrapper = Number(/^wrapper pid (\d+)$/m.exec(lines)?.[1]);
    const engine = Number(/^engine pid (\d+)$/m.exec(lines)?.[1]);
    expect(wrapper).toBeGreaterThan(0);
    expect(engine).toBeGreaterThan(0);
    return { wrapper, engine };
  }

  function parentOf(pid: number): number | null {
    if (process.platform !== 'linux') return null;
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  }

  it('serves through the script, and stopping it ends the engine (the grandchild) too', async () => {
    const fx = await startNode({ models: [{ name: 'scripted', stopTimeout: '2s', script: { file: 'run.sh', text: SCRIPT }, flags: ['--load-ms', '100'] }] });
    const res = await postJson(`${fx.url}/v1/chat/completions`, chat('scripted'));
    expect(res.status).toBe(200);
    expect((await readJson(res)).model).toBe('scripted');

    const { wrapper, engine } = await scriptPids(fx, 'scripted');
    expect((await fx.info('scripted')).pid).toBe(wrapper);
    expect(wrapper).not.toBe(engine);
    const parent = parentOf(engine);
    if (parent !== null) expect(parent).toBe(wrapper);
    expect(isProcessRunning(wrapper)).toBe(true);
    expect(isProcessRunning(engine)).toBe(true);

    const stopped = await apiPost(fx, '/api/models/scripted/stop');
    expect(stopped.body.state).toBe('stopped');
    expect(isProcessRunning(wrapper)).toBe(false);
    expect(isProcessRunning(engine)).toBe(false);
    // The port is free again: a new start works.
    expect((await apiPost(fx, '/api/models/scripted/start')).body.state).toBe('ready');
  });

  it('a grandchild that ignores SIGTERM outlives its shell only until stop_timeout, then is killed', async () => {
    const fx = await startNode({
      models: [{ name: 'scripted', stopTimeout: '1s', script: { file: 'run.sh', text: SCRIPT }, flags: ['--load-ms', '100', '--ignore-sigterm'] }],
    });
    expect((await apiPost(fx, '/api/models/scripted/start')).body.state).toBe('ready');
    const { wrapper, engine } = await scriptPids(fx, 'scripted');

    const began = performance.now();
    const stopping = apiPost(fx, '/api/models/scripted/stop');
    // SIGTERM ends the shell at once; the engine ignores it and lives on without its parent ...
    await waitFor(() => !isProcessRunning(wrapper), 3000, 'the shell to exit');
    expect(isProcessRunning(engine)).toBe(true);
    // ... until stop_timeout has passed and the whole group gets SIGKILL.
    const stopped = await stopping;
    const took = performance.now() - began;
    expect(stopped.body).toMatchObject({ state: 'stopped', pid: null });
    expect(took).toBeGreaterThanOrEqual(900);
    // Killed right after stop_timeout: not held up by the engine lingering as an unreaped zombie.
    expect(took).toBeLessThan(4000);
    expect(isProcessRunning(wrapper)).toBe(false);
    expect(isProcessRunning(engine)).toBe(false);
    expect(await logText(fx, 'scripted')).toContain('scripted did not exit within 1 s; killing it');
    expect(await logText(fx, 'scripted')).toContain('ignoring SIGTERM');
  });
});

describe('what a start tells, and how loudly', () => {
  it("a failure shows this run's lines, not the last run's, with the error first and without the engine's log of our probes", async () => {
    // First run: a working engine. Second run (the marker file exists): it loads for a while
    // answering 503 to every probe, prints an error and exits.
    const fx = await startNode({
      models: [
        {
          name: 'flaky',
          script: {
            file: 'flaky.sh',
            text: [
              'if [ -f second-run ]; then',
              '  echo "second run: loading" >&2',
              '  exec "$NODE" -e \'const s=require("http").createServer((q,r)=>{console.log("GET /health 503");r.writeHead(503);r.end()}).listen(process.env.PORT);setTimeout(()=>{console.error("error: model file missing: /m/x.gguf");process.exit(4)},600)\'',
              'fi',
              'touch second-run',
              'echo "first run: all fine"',
              'exec "$NODE" "$ENGINE" --load-ms 20 --quiet',
              '',
            ].join('\n'),
          },
          flags: [],
        },
      ],
    });
    await fx.node.api.startModel('flaky');
    await fx.node.api.stopModel('flaky');
    await expect(fx.node.api.startModel('flaky')).rejects.toThrow(/exited before it was ready \(exit code 4\)/);
    const { lastError } = await fx.info('flaky');
    expect(lastError!.logTail.join('\n')).not.toContain('first run');
    expect(lastError!.logTail.join('\n')).not.toContain('GET /health');
    expect(lastError!.logTail).toContain('second run: loading');
    expect(lastError!.errorLines).toEqual(['error: model file missing: /m/x.gguf']);
    // The probes did happen (and the engine logged them): they are only left out of the failure.
    expect(await logText(fx, 'flaky')).toContain('GET /health 503');
  });

  it("a start that fails before its engine is spawned shows none of the last run's lines", async () => {
    const fx = await startNode({ models: [{ name: 'twice', flags: ['--load-ms', '100', '--exit-before-ready', '5'] }] });
    await expect(fx.node.api.startModel('twice')).rejects.toThrow(/exit code 5/);
    expect((await fx.info('twice')).lastError!.errorLines).toEqual(['demo-engine: error: failed to load model twice']);
    const stranger = net.createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => stranger.listen(fx.ports['twice'], '127.0.0.1', resolve));
    try {
      await expect(fx.node.api.startModel('twice')).rejects.toThrow(/already in use/);
      const { lastError } = await fx.info('twice');
      expect(lastError!.message).toContain('already in use');
      expect(lastError!.logTail).toEqual([]);
      expect(lastError!.errorLines).toEqual([]);
    } finally {
      await new Promise<void>((resolve) => stranger.close(() => resolve()));
    }
  });

  it('an engine that says when it is ready is probed calmly while it loads, from its second start on', async () => {
    // The demo engine answers 503 while loading, logs every request, and prints "listening" when ready.
    const fx = await startNode({ models: [{ name: 'loud', flags: ['--load-ms', '1500'] }] });
    const probesOf = async (run: number) => {
      const lines = await fx.node.api.modelLogs('loud', 2000);
      const starts = lines.map((l, i) => (l.stream === 'system' && l.text.startsWith('starting loud ') ? i : -1)).filter((i) => i >= 0);
      const from = starts[run - 1]!;
      const to = starts[run] ?? lines.length;
      return lines.slice(from, to).filter((l) => l.text === 'demo-engine: GET /health 503').length;
    };
    await fx.node.api.startModel('loud');
    await fx.node.api.stopModel('loud');
    await fx.node.api.startModel('loud');
    const first = await probesOf(1);
    const second = await probesOf(2);
    // 1.5 s at 25 ms is about 60 probes; doubling up to 1 s, about 7.
    expect(first).toBeGreaterThan(20);
    expect(second).toBeLessThan(12);
    expect((await fx.info('loud')).state).toBe('ready');
  });
});
