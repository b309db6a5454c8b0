// Bursts against an engine shaped like llama-server's HTTP layer (a fixed set of threads, each
// bound to one connection; test/fixtures/thread-bound-engine.mjs): N requests at once, each on a
// connection of its own, straight to a fresh engine and through the router, cold (the model
// stopped: the router starts it) and warm. A router that opened a connection per queued request
// stalled for the engine's idle timeout (seconds); the target is ≤ 1.2 × direct.
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { awaitQuiet } from '../quiet.js';
import { freePort, start } from '../procs.js';
import { modelLogs, startModel, stopModel, type RouterProcess } from '../targets.js';
import { settings } from '../settings.js';

export const BOUND_MODEL = 'bound';
const READY_LINE = /listening/i;
const body = JSON.stringify({ model: BOUND_MODEL, messages: [{ role: 'user', content: 'hi' }], max_tokens: 4 });

export function boundEngineFlags(): string[] {
  const e = settings.boundEngine;
  return ['--threads', String(e.threads), '--parallel', String(e.parallel), '--service-ms', String(e.serviceMs), '--idle-close-ms', String(e.idleCloseMs), '--load-ms', String(e.loadMs)];
}

/** What a llama-server launch with this --parallel gets by default (models/connection-limit.ts). */
export const boundMaxConnections = () => settings.boundEngine.parallel + 1;

export interface BurstRun {
  size: number;
  directColdMs: number;
  directWarmMs: number;
  /** The engine's "listening" line (in the router's log) → last answer: what the burst took once the engine was ready. */
  routerColdMs: number;
  routerWarmMs: number;
  failures: number;
}

/** `size` requests at once on fresh connections (closed after their answer); ms until the last answer. */
async function burst(port: number, size: number): Promise<{ ms: number; failures: number; endedAt: number }> {
  const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });
  const t0 = performance.now();
  const ok = await Promise.all(
    Array.from(
      { length: size },
      () =>
        new Promise<boolean>((resolve) => {
          const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/v1/chat/completions', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode === 200));
            res.on('error', () => resolve(false));
          });
          req.setTimeout(60_000, () => req.destroy(new Error('timeout')));
          req.on('error', () => resolve(false));
          req.end(body);
        }),
    ),
  );
  const ms = performance.now() - t0;
  agent.destroy();
  return { ms, failures: ok.filter((x) => !x).length, endedAt: Date.now() };
}

async function freshEngine(): Promise<{ port: number; stop: () => Promise<void> }> {
  const port = await freePort();
  const proc = start('bound-engine-alone', process.execPath, [settings.boundEngineScript, ...boundEngineFlags()], { cpu: settings.serverCpu, capture: true, env: { ...process.env, PORT: String(port) } });
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      if (READY_LINE.test(chunk.toString())) {
        proc.child.stdout?.off('data', onData);
        resolve();
      }
    };
    proc.child.stdout?.on('data', onData);
    void proc.exited.then((code) => reject(new Error(`the bound engine exited early (${code}): ${proc.output()}`)));
  });
  return { port, stop: () => proc.stop('SIGKILL', 2000) };
}

export async function bursts(router: RouterProcess, log: (line: string) => void): Promise<BurstRun[]> {
  const runs: BurstRun[] = [];
  for (const size of settings.burstSizes) {
    await awaitQuiet(1000);
    const engine = await freshEngine();
    const directCold = await burst(engine.port, size);
    const directWarm = await burst(engine.port, size);
    await engine.stop();

    await stopModel(router.url, BOUND_MODEL);
    const before = (await modelLogs(router.url, BOUND_MODEL)).at(-1)?.seq ?? 0;
    const routerCold = await burst(router.port, size);
    const lines = (await modelLogs(router.url, BOUND_MODEL)).filter((l) => l.seq > before);
    const starting = lines.find((l) => l.stream === 'system' && l.text.startsWith('starting '));
    const ready = lines.find((l) => l.stream !== 'system' && READY_LINE.test(l.text));
    const engineStartMs = starting && ready ? ready.ts - starting.ts : NaN;
    // The router's and this process's clocks are the same machine's Date.now().
    const sinceReadyMs = ready ? routerCold.endedAt - ready.ts : NaN;
    const routerWarm = await burst(router.port, size);
    const run: BurstRun = {
      size,
      directColdMs: directCold.ms,
      directWarmMs: directWarm.ms,
      routerColdMs: sinceReadyMs,
      routerWarmMs: routerWarm.ms,
      failures: directCold.failures + directWarm.failures + routerCold.failures + routerWarm.failures,
    };
    runs.push(run);
    log(
      `  ${size} at once: direct to a fresh engine ${run.directColdMs.toFixed(0)} ms, again ${run.directWarmMs.toFixed(0)} ms; ` +
        `router cold ${routerCold.ms.toFixed(0)} ms (the engine's spawn → ready ${engineStartMs.toFixed(0)} ms; from its ready line ${sinceReadyMs.toFixed(0)} ms), warm ${run.routerWarmMs.toFixed(0)} ms; failures ${run.failures}`,
    );
  }
  await startModel(router.url, BOUND_MODEL).catch(() => undefined);
  return runs;
}
