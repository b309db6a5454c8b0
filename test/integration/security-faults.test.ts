// Engine faults, with real engine processes and shrunk timings: a crash mid-answer, a crash loop
// that pauses restarts, an engine that hangs (SIGSTOP) or stops listening while its process lives.
import { afterEach, describe, expect, it } from 'vitest';
import type { FaultPolicy } from '../../src-main/core/models/faults.js';
import { chat, jsonChunks, postJson, readJson, readSse, sleep, waitFor } from '../helpers/http.js';
import { closeAllNodes, startNode, waitForState } from '../helpers/node-fixture.js';
import { isProcessRunning, processIdentity } from '../helpers/processes.js';
import { echoScript } from '../helpers/raw-http.js';

afterEach(closeAllNodes);

const NO_HEALTH_CHECKS: Partial<FaultPolicy> = { healthIntervalMs: 0 };

function faults(policy: Partial<FaultPolicy>) {
  return { webUiDir: null, supervisorDeps: { faults: policy } };
}

describe('an engine that crashes while ready', () => {
  it('in-flight requests get 502 / an in-band stream error; the model is failed with exit code and log tail; the next request restarts it', async () => {
    const fx = await startNode({
      models: [{ name: 'fragile', flags: ['--load-ms', '20', '--stream-delay-ms', '60', '--crash-after', '1'] }],
      nodeOptions: faults(NO_HEALTH_CHECKS),
    });
    // Request 1 (a long stream) is fine until request 2 makes the engine exit(3).
    const stream = await postJson(`${fx.url}/v1/chat/completions`, chat('fragile', { stream: true, max_tokens: 40 }));
    expect(stream.status).toBe(200);
    const streamed = readSse(stream);
    await sleep(150);
    const firstPid = (await fx.node.api.modelInfo('fragile')).pid!;
    const killer = await postJson(`${fx.url}/v1/chat/completions`, chat('fragile'));
    expect(killer.status).toBe(502);
    expect((await readJson(killer)).error.type).toBe('upstream_error');

    const { events } = await streamed;
    const last = jsonChunks(events).at(-1);
    expect(last.error).toMatchObject({ code: 'engine_died', type: 'upstream_error' });

    const failed = await waitForState(fx, 'fragile', 'failed');
    expect(failed.lastError).toMatchObject({ exitCode: 3 });
    expect(failed.lastError!.message).toContain('exited unexpectedly');
    expect(failed.lastError!.logTail.length).toBeGreaterThan(0);
    expect(isProcessRunning(firstPid)).toBe(false);

    const again = await postJson(`${fx.url}/v1/chat/completions`, chat('fragile'));
    expect(again.status).toBe(200);
    const info = await fx.node.api.modelInfo('fragile');
    expect(info.state).toBe('ready');
    expect(info.pid).not.toBe(firstPid);
    expect(await fx.spawnCount('fragile')).toBe(2);
  });
});

describe('crash loop', () => {
  it('3 failures within the window pause restarts (503 + Retry-After + the reason), doubling; an explicit start clears the pause', async () => {
    const policy: Partial<FaultPolicy> = { crashLoopFailures: 3, crashLoopWindowMs: 10_000, backoffInitialMs: 1500, backoffMaxMs: 4000, healthIntervalMs: 0 };
    const fx = await startNode({ models: [{ name: 'broken', flags: ['--load-ms', '20', '--exit-before-ready', '5'] }], nodeOptions: faults(policy) });
    const ask = () => postJson(`${fx.url}/v1/chat/completions`, chat('broken')).then(async (res) => ({ res, body: await readJson(res) }));

    for (let i = 1; i <= 3; i++) {
      const { res, body } = await ask();
      expect(res.status).toBe(503);
      expect(body.error.code).toBe('model_start_failed');
      expect(body.error.message).toContain('exit code 5');
    }
    expect(await fx.spawnCount('broken')).toBe(3);
    const info = await fx.node.api.modelInfo('broken');
    expect(info.state).toBe('failed');
    expect(info.lastError!.message).toContain('automatic restarts paused for 2 s');

    // Paused: answered at once, with when to come back and why; nothing is spawned.
    const paused = await ask();
    expect(paused.res.status).toBe(503);
    expect(paused.body.error.code).toBe('model_backoff');
    expect(paused.body.error.type).toBe('service_unavailable');
    expect(paused.body.error.message).toContain('exited before it was ready (exit code 5)');
    expect(paused.body.error.message).toContain('/api/models/broken/start');
    const retry = Number(paused.res.headers.get('retry-after'));
    expect(retry).toBeGreaterThanOrEqual(1);
    expect(retry).toBeLessThanOrEqual(2);
    expect(await fx.spawnCount('broken')).toBe(3);

    // After the pause one more try; it fails again, so the next pause is twice as long.
    await sleep(1600);
    expect((await ask()).body.error.code).toBe('model_start_failed');
    expect(await fx.spawnCount('broken')).toBe(4);
    const longer = await ask();
    expect(longer.body.error.code).toBe('model_backoff');
    expect(Number(longer.res.headers.get('retry-after'))).toBe(3);
    expect((await fx.node.api.modelInfo('broken')).lastError!.message).toContain('paused for 3 s');

    // A person starting it explicitly is not paused.
    const start = await fetch(`${fx.url}/api/models/broken/start`, { method: 'POST' });
    expect(start.status).toBe(503);
    expect((await readJson(start)).error.code).toBe('model_start_failed');
    expect(await fx.spawnCount('broken')).toBe(5);
  });
});

describe('an engine that stops answering while its process lives', () => {
  it('SIGSTOP: the health checks notice, the engine is killed and failed, and the next request starts a fresh one', async () => {
    const fx = await startNode({
      models: [{ name: 'frozen', flags: ['--load-ms', '20'] }],
      nodeOptions: faults({ healthIntervalMs: 100, healthFailures: 3, healthTimeoutMs: 150 }),
    });
    expect((await postJson(`${fx.url}/v1/chat/completions`, chat('frozen'))).status).toBe(200);
    const pid = (await fx.node.api.modelInfo('frozen')).pid!;
    const identity = processIdentity(pid);
    // Healthy engines are left alone by the checks.
    await sleep(500);
    expect((await fx.node.api.modelInfo('frozen')).state).toBe('ready');

    process.kill(pid, 'SIGSTOP');
    const stoppedAt = Date.now();
    const failed = await waitForState(fx, 'frozen', 'failed', 4000);
    expect(Date.now() - stoppedAt).toBeLessThan(2500);
    expect(failed.lastError!.message).toContain('stopped answering its health check');
    expect(failed.lastError!.signal).toBe('SIGKILL');
    await waitFor(() => !isProcessRunning(pid, identity), 3000, 'the hung engine to be gone');

    const res = await postJson(`${fx.url}/v1/chat/completions`, chat('frozen'));
    expect(res.status).toBe(200);
    const info = await fx.node.api.modelInfo('frozen');
    expect(info.state).toBe('ready');
    expect(info.pid).not.toBe(pid);
  });

  it('connection refused by a "ready" engine: that request gets 502, the engine is checked at once, killed, and restarted on the next request', async () => {
    const fx = await startNode({ models: [{ name: 'deaf', script: echoScript(['--close-after', '1']) }], nodeOptions: faults(NO_HEALTH_CHECKS) });
    expect((await postJson(`${fx.url}/v1/chat/completions`, chat('deaf'))).status).toBe(200);
    const pid = (await fx.node.api.modelInfo('deaf')).pid!;
    await waitFor(async () => (await fx.node.api.modelLogs('deaf')).some((l) => l.text.includes('stopped listening')), 3000, 'the engine to stop listening');
    expect(isProcessRunning(pid)).toBe(true);

    const refused = await postJson(`${fx.url}/v1/chat/completions`, chat('deaf'));
    expect(refused.status).toBe(502);
    const failed = await waitForState(fx, 'deaf', 'failed', 3000);
    expect(failed.lastError!.message).toContain('refused a connection');
    await waitFor(() => !isProcessRunning(pid), 3000, 'the deaf engine to be killed');

    expect((await postJson(`${fx.url}/v1/chat/completions`, chat('deaf'))).status).toBe(200);
    expect((await fx.node.api.modelInfo('deaf')).pid).not.toBe(pid);
  });
});
