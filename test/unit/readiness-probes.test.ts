// The readiness probe schedule of a starting engine (models/supervisor.ts), on a fake clock: an
// engine that binds its port only once loaded (probes refused until then) is probed often, a
// pause of 0.5 % of the time waited so far (2 ms at least), so it is seen ready within a few ms;
// one that answers 503 while loading is asked less and less often (every probe is a request it
// serves, and maybe a log line: 2 % of the time waited, 25 ms to 500 ms); a ready line wakes the
// probe at once.
import { EventEmitter } from 'node:events';
import type { ChildProcess } from 'node:child_process';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { parseConfigText, type ModelConfig } from '../../src-shared/config.js';
import { ModelLog } from '../../src-main/core/logs/model-log.js';
import { ModelSupervisor, processDeps } from '../../src-main/core/models/supervisor.js';

function modelConfig(): ModelConfig {
  const parsed = parseConfigText(
    ['Local-Models:', '  m:', '    mode: Chat', '    port: 41999', '    CPU-Config:', '      required_devices: []', '      command: engine', ''].join('\n'),
  );
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  return parsed.config.models.find((m) => m.name === 'm')!;
}

interface Engine {
  child: ChildProcess & { stdout: PassThrough; stderr: PassThrough };
  probes: number[];
}

const newChild = () => Object.assign(new EventEmitter(), { pid: 4242, stdout: new PassThrough(), stderr: new PassThrough(), kill: () => true }) as unknown as Engine['child'];

/** A supervisor whose engine turns ready at `readyAt` (fake ms after the start, or when it says so); before that its probes get `loading`. */
function setup(readyAt: number | (() => boolean), loading: number | null): { supervisor: ModelSupervisor; engine: Engine; t0: number } {
  const engine: Engine = { child: newChild(), probes: [] };
  const t0 = Date.now();
  let spawned = 0;
  const deps = processDeps({
    chooseProfile: async (model) => ({ profile: model.profiles[0]!, skipped: [], env: {} }),
    defaultCwd: '/',
    // Each start its own process (the first one is engine.child until then).
    spawn: () => (spawned++ === 0 ? engine.child : (engine.child = newChild())),
    describeLaunch: () => 'engine',
    isPortInUse: async () => false,
    signalTree: () => undefined,
    treeAlive: () => false,
    probeHealth: async () => {
      const at = Date.now() - t0;
      engine.probes.push(at);
      return (typeof readyAt === 'number' ? at >= readyAt : readyAt()) ? 200 : loading;
    },
    baseEnv: {},
  });
  return { supervisor: new ModelSupervisor(modelConfig(), new ModelLog('m', null), deps), engine, t0 };
}

/** Stops the supervisor's engine (its fake process exits at once). */
async function stopEngine(supervisor: ModelSupervisor, engine: Engine): Promise<void> {
  const stopped = supervisor.stop('test');
  engine.child.emit('exit', 0, null);
  engine.child.emit('close', 0, null);
  await vi.advanceTimersByTimeAsync(0);
  await stopped;
}

const gaps = (times: number[], from: number, to: number) =>
  times
    .map((t, i) => (i > 0 ? t - times[i - 1]! : NaN))
    .filter((g, i) => Number.isFinite(g) && times[i]! > from && times[i]! <= to);

describe('readiness probes', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('probes an engine that refuses connections while it loads every 0.5 % of the time waited (≥ 2 ms), and sees it ready within a few ms', async () => {
    const { supervisor, engine, t0 } = setup(800, null);
    const ready = supervisor.ensureReady();
    await vi.advanceTimersByTimeAsync(1000);
    await ready;
    expect(supervisor.currentState).toBe('ready');
    const seen = Date.parse(supervisor.info().readyAt!) - t0;
    expect(seen - 800).toBeLessThanOrEqual(5);
    // At 100 ms the pause is the 2 ms floor; at 600-800 ms, 3-4 ms.
    expect(Math.max(...gaps(engine.probes, 50, 100))).toBeLessThanOrEqual(2);
    expect(Math.max(...gaps(engine.probes, 600, 800))).toBeLessThanOrEqual(4);
    // Some 200 probes in 800 ms; the 25 ms schedule would have taken 33.
    expect(engine.probes.length).toBeGreaterThan(150);
    expect(engine.probes.length).toBeLessThan(400);
  });

  it('caps the pause at the usual schedule: 25 ms for the first 3 s, then 100 ms', async () => {
    const { supervisor, engine } = setup(30_000, null);
    const ready = supervisor.ensureReady();
    await vi.advanceTimersByTimeAsync(30_100);
    await ready;
    expect(Math.max(...gaps(engine.probes, 2000, 3000))).toBeLessThanOrEqual(25);
    expect(Math.min(...gaps(engine.probes, 25_000, 30_000))).toBeGreaterThanOrEqual(100);
    // A 30 s load: ~1,000 refused probes (the plain schedule: ~390).
    expect(engine.probes.length).toBeLessThan(1200);
  });

  it('probes an engine that answers 503 while it loads every 25 ms for a short load', async () => {
    const { supervisor, engine } = setup(800, 503);
    const ready = supervisor.ensureReady();
    await vi.advanceTimersByTimeAsync(1000);
    await ready;
    expect(Math.min(...gaps(engine.probes, 100, 775))).toBeGreaterThanOrEqual(25);
    expect(Math.max(...gaps(engine.probes, 100, 775))).toBeLessThanOrEqual(25);
    expect(engine.probes.length).toBeLessThan(40);
  });

  it('backs off from an engine that keeps answering 503: 2 % of the time waited, at most 500 ms', async () => {
    const { supervisor, engine, t0 } = setup(30_000, 503);
    const ready = supervisor.ensureReady();
    await vi.advanceTimersByTimeAsync(30_600);
    await ready;
    // 40-60 ms between 2 and 3 s (the plain schedule: 25), 500 ms from 25 s on (plain: 100).
    expect(Math.min(...gaps(engine.probes, 2100, 3000))).toBeGreaterThanOrEqual(40);
    expect(Math.max(...gaps(engine.probes, 2100, 3000))).toBeLessThanOrEqual(61);
    expect(Math.min(...gaps(engine.probes, 26_000, 30_000))).toBe(500);
    // Some 210 probes in 30 s (the plain schedule: ~390); seen ready within a pause of it.
    expect(engine.probes.length).toBeLessThan(250);
    expect(Date.parse(supervisor.info().readyAt!) - t0 - 30_000).toBeLessThanOrEqual(500);
  });

  it('probes at once when the engine prints its ready line', async () => {
    let said = false;
    const { supervisor, engine, t0 } = setup(() => said, 503);
    const ready = supervisor.ensureReady();
    await vi.advanceTimersByTimeAsync(410); // between two probes (25 ms apart)
    const before = engine.probes.length;
    said = true;
    engine.child.stdout.write('main: server is listening on http://127.0.0.1:41999 - starting the main loop\n');
    await vi.advanceTimersByTimeAsync(0);
    await ready;
    expect(engine.probes.length).toBe(before + 1);
    expect(Date.parse(supervisor.info().readyAt!) - t0).toBe(410);
  });

  it('probes an engine that binds late but says when it is ready calmly until its line, from its second start on, and still sees it at once', async () => {
    let said = false;
    const { supervisor, engine, t0 } = setup(() => said, null);
    const say = () => {
      said = true;
      engine.child.stdout.write('main: server is listening on http://127.0.0.1:41999 - starting the main loop\n');
    };
    /** A start that loads for 800 ms and then says so: the probes it took before its line. */
    const start = async (): Promise<number> => {
      engine.probes.length = 0;
      const ready = supervisor.ensureReady();
      await vi.advanceTimersByTimeAsync(800);
      const probes = engine.probes.length;
      say();
      await vi.advanceTimersByTimeAsync(0);
      await ready;
      return probes;
    };
    // First start: nothing known about it, the dense schedule for refused probes.
    expect(await start()).toBeGreaterThan(150);
    // Stopped, started again: its line woke the probe that found it ready, so now it is asked
    // calmly (doubling to 1 s) while refused, and its line still wakes the probe at once.
    await stopEngine(supervisor, engine);
    said = false;
    const began = Date.now() - t0;
    expect(await start()).toBeLessThan(12);
    expect(Date.parse(supervisor.info().readyAt!) - t0 - began).toBe(800);
  });

  it('after the ready line, an engine that binds a moment later is probed densely again', async () => {
    let bound = false;
    let woken = false;
    const { supervisor, engine, t0 } = setup(() => bound, null);
    // Teach it that this engine says when it is ready (its line wakes the probe that finds it ready).
    let ready = supervisor.ensureReady();
    await vi.advanceTimersByTimeAsync(50);
    bound = true;
    engine.child.stdout.write('server is listening\n');
    await vi.advanceTimersByTimeAsync(0);
    await ready;
    await stopEngine(supervisor, engine);
    bound = false;
    ready = supervisor.ensureReady();
    await vi.advanceTimersByTimeAsync(500);
    engine.child.stdout.write('server is listening\n'); // ...but binds 30 ms later
    woken = true;
    await vi.advanceTimersByTimeAsync(30);
    bound = true;
    const boundAt = Date.now() - t0;
    await vi.advanceTimersByTimeAsync(10);
    await ready;
    expect(woken).toBe(true);
    expect(Date.parse(supervisor.info().readyAt!) - t0 - boundAt).toBeLessThanOrEqual(4);
  });
});
