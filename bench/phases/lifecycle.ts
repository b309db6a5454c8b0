// Cold start, a burst of cold requests, and stop — each compared with the engine on its own.
import fs from 'node:fs';
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { RawClient } from '../raw-client.js';
import { waitEngineTimes } from '../engine-times.js';
import { awaitQuiet } from '../quiet.js';
import { freePort, sleep, start } from '../procs.js';
import { median } from '../stats.js';
import { modelInfo, modelLogs, startModel, stopModel, type LogLine, type RouterProcess } from '../targets.js';
import { settings } from '../settings.js';

const READY_LINE = /listening/i;
const coldBody = { model: 'cold', messages: [{ role: 'user', content: 'hi' }], max_tokens: 4 };

/** Spawns the demo engine alone (pinned like the router's engines); resolves at its "listening" line. */
async function engineAlone(loadMs: number): Promise<{ readyMs: number; port: number; stop: (signal?: NodeJS.Signals) => Promise<void>; exitMs: (signal?: NodeJS.Signals) => Promise<number> }> {
  const port = await freePort();
  const t0 = performance.now();
  const proc = start('engine-alone', process.execPath, [settings.engineScript, '--quiet', '--port', String(port), '--load-ms', String(loadMs), '--tokens-per-second', '0'], {
    cpu: settings.serverCpu,
    capture: true,
  });
  const readyAt = await new Promise<number>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      if (READY_LINE.test(chunk.toString())) {
        proc.child.stdout?.off('data', onData);
        resolve(performance.now());
      }
    };
    proc.child.stdout?.on('data', onData);
    void proc.exited.then((code) => reject(new Error(`engine exited early (${code}): ${proc.output()}`)));
  });
  return {
    readyMs: readyAt - t0,
    port,
    stop: (signal = 'SIGKILL') => proc.stop(signal, 2000),
    async exitMs(signal = 'SIGTERM') {
      const t = performance.now();
      process.kill(proc.pid, signal);
      await proc.exited;
      return performance.now() - t;
    },
  };
}

export interface ColdResult {
  engineReadyMs: number[];
  routerTtfbMs: number[];
  /** From the router's own log: engine "listening" line minus the "starting" line. */
  logSpawnToReadyMs: number[];
  /** The engine's own start → ready (its --times-file): what the peer's cold start is compared with too. */
  engineStartMs: number[];
  errors: string[];
}

export async function coldStart(router: RouterProcess, timesFile: string, log: (line: string) => void): Promise<ColdResult> {
  const result: ColdResult = { engineReadyMs: [], routerTtfbMs: [], logSpawnToReadyMs: [], engineStartMs: [], errors: [] };
  // Alternating engine alone / through the router, so a busy moment of the machine hits both.
  for (let i = 0; i < settings.coldReps; i++) {
    await awaitQuiet(1000);
    const engine = await engineAlone(settings.coldLoadMs);
    result.engineReadyMs.push(engine.readyMs);
    await engine.stop('SIGKILL');
    await stopModel(router.url, 'cold');
    const before = lastSeq(await modelLogs(router.url, 'cold'));
    await sleep(100);
    fs.writeFileSync(timesFile, '');
    const client = new RawClient(router.port);
    try {
      const res = await client.post('/v1/chat/completions', coldBody);
      if (res.status !== 200) result.errors.push(`cold request → ${res.status}: ${res.body.slice(0, 200)}`);
      result.routerTtfbMs.push(res.status === 200 ? res.firstByteAt - res.sentAt : NaN);
    } catch (err) {
      result.errors.push((err as Error).message);
      result.routerTtfbMs.push(NaN);
    } finally {
      client.close();
    }
    const lines = (await modelLogs(router.url, 'cold')).filter((l) => l.seq > before);
    const starting = lines.find((l) => l.stream === 'system' && l.text.startsWith('starting '));
    const ready = lines.find((l) => l.stream !== 'system' && READY_LINE.test(l.text));
    result.logSpawnToReadyMs.push(starting && ready ? ready.ts - starting.ts : NaN);
    const times = await waitEngineTimes(timesFile, ['start', 'ready']);
    result.engineStartMs.push(times.ready !== undefined && times.start !== undefined ? times.ready - times.start : NaN);
  }
  log(
    `  engine alone ready p50 ${median(result.engineReadyMs).toFixed(1)} ms; through the router TTFB p50 ${median(result.routerTtfbMs).toFixed(1)} ms ` +
      `(router log: spawn→listening p50 ${median(result.logSpawnToReadyMs).toFixed(1)} ms)${result.errors.length ? `; errors: ${result.errors.join('; ')}` : ''}`,
  );
  return result;
}

export interface BurstResult {
  requests: number;
  ok: number;
  failures: number;
  spawns: number;
  wallMs: number;
  failureSamples: string[];
}

export async function coldBurst(router: RouterProcess, log: (line: string) => void): Promise<BurstResult> {
  await stopModel(router.url, 'cold');
  const before = lastSeq(await modelLogs(router.url, 'cold'));
  const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });
  const payload = JSON.stringify(coldBody);
  const samples: string[] = [];
  const t0 = performance.now();
  const outcomes = await Promise.all(
    Array.from(
      { length: settings.coldBurst },
      () =>
        new Promise<boolean>((resolve) => {
          const req = http.request(
            { host: '127.0.0.1', port: router.port, method: 'POST', path: '/v1/chat/completions', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } },
            (res) => {
              let text = '';
              res.on('data', (c: Buffer) => (text += c.toString()));
              res.on('end', () => {
                if (res.statusCode !== 200 && samples.length < 5) samples.push(`${res.statusCode}: ${text.slice(0, 200)}`);
                resolve(res.statusCode === 200);
              });
              res.on('error', () => resolve(false));
            },
          );
          req.setTimeout(30_000, () => req.destroy(new Error('timeout')));
          req.on('error', (err) => {
            if (samples.length < 5) samples.push(err.message);
            resolve(false);
          });
          req.end(payload);
        }),
    ),
  );
  const wallMs = performance.now() - t0;
  agent.destroy();
  const lines = (await modelLogs(router.url, 'cold')).filter((l) => l.seq > before);
  const spawns = lines.filter((l) => l.stream === 'system' && l.text.startsWith('starting ')).length;
  const ok = outcomes.filter(Boolean).length;
  const result = { requests: outcomes.length, ok, failures: outcomes.length - ok, spawns, wallMs, failureSamples: samples };
  log(`  ${result.requests} concurrent cold requests: ${ok} ok, ${result.failures} failed, ${spawns} spawn(s), all answered in ${wallMs.toFixed(0)} ms`);
  return result;
}

export interface StopResult {
  engineExitMs: number[];
  routerStopMs: number[];
  /** From the router's log: "stopping" line to "process N exited" line. */
  logStopToExitMs: number[];
  errors: string[];
}

export async function stopTimes(router: RouterProcess, log: (line: string) => void): Promise<StopResult> {
  const result: StopResult = { engineExitMs: [], routerStopMs: [], logStopToExitMs: [], errors: [] };
  const keepAlive = new http.Agent({ keepAlive: true });
  for (let i = 0; i < settings.stopReps; i++) {
    await awaitQuiet(1000);
    const engine = await engineAlone(0);
    await oneRequest(engine.port, keepAlive); // an idle keep-alive connection, as the router's agent holds
    result.engineExitMs.push(await engine.exitMs('SIGTERM'));
    await startModel(router.url, 'cold');
    const client = new RawClient(router.port);
    await client.post('/v1/chat/completions', coldBody).catch((err: Error) => result.errors.push(err.message));
    client.close();
    await sleep(100);
    const before = lastSeq(await modelLogs(router.url, 'cold'));
    const { pid } = await modelInfo(router.url, 'cold');
    const t0 = performance.now();
    const after = await stopModel(router.url, 'cold');
    result.routerStopMs.push(performance.now() - t0);
    if (after.state !== 'stopped') result.errors.push(`state after stop: ${after.state}`);
    const lines = (await modelLogs(router.url, 'cold')).filter((l) => l.seq > before);
    const stopping = lines.find((l) => l.stream === 'system' && l.text.startsWith('stopping '));
    const exited = lines.find((l) => l.stream === 'system' && l.text.startsWith(`process ${pid} exited`));
    if (stopping && exited) result.logStopToExitMs.push(exited.ts - stopping.ts);
  }
  keepAlive.destroy();
  log(
    `  engine alone SIGTERM→exit p50 ${median(result.engineExitMs).toFixed(1)} ms; router stop request→answer p50 ${median(result.routerStopMs).toFixed(1)} ms ` +
      `(router log: stopping→exited p50 ${median(result.logStopToExitMs).toFixed(1)} ms)`,
  );
  return result;
}

function oneRequest(port: number, agent: http.Agent): Promise<void> {
  return new Promise((resolve, reject) => {
    const payload = JSON.stringify({ ...coldBody, model: 'demo' });
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/v1/chat/completions', agent, headers: { 'content-type': 'application/json' } }, (res) => {
      res.resume();
      res.on('end', resolve);
    });
    req.on('error', reject);
    req.end(payload);
  });
}

function lastSeq(lines: LogLine[]): number {
  return lines.length === 0 ? 0 : lines[lines.length - 1]!.seq;
}
