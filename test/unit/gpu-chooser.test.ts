// The GPU-aware chooser's side of the work, with in-memory engines and readings: concurrent starts
// don't count the same memory twice, a busy engine is waited for and then stopped, a recent reading
// decides a start that fits and, on a steady card, the stop of idle engines (a card in flux takes a new
// one), a stopped engine's memory is
// free once its processes have exited (else once the card shows it), and every wait is bounded.
import { describe, expect, it } from 'vitest';
import type { LaunchProfile, ModelConfig } from '../../src-shared/config.js';
import type { DeviceReading, MemoryHolder, ModelState } from '../../src-shared/contract.js';
import type { DeviceState } from '../../src-main/core/devices/monitor.js';
import { silentLogger } from '../../src-main/core/logger.js';
import { createGpuChooser, type DeviceSource, type SchedulableEngine } from '../../src-main/core/scheduler/gpu-chooser.js';
import { NoProfileError } from '../../src-main/core/scheduler/profile.js';

const TOTAL = 10_240;

class FakeEngine implements SchedulableEngine {
  currentState: ModelState = 'stopped';
  busy = 0;
  lastActivityAt = 0;
  stops: string[] = [];
  logLines: string[] = [];
  /** A stop that leaves a process of it behind (one that outlived SIGKILL). */
  leavesProcess = false;
  private readonly listeners = new Set<() => void>();
  private readonly idleListeners = new Set<() => void>();
  readonly log = { system: (text: string) => void this.logLines.push(text) };
  constructor(
    readonly name: string,
    private readonly world: FakeWorld,
  ) {}
  set(fields: Partial<Pick<FakeEngine, 'currentState' | 'busy' | 'lastActivityAt'>>): void {
    Object.assign(this, fields);
    for (const l of [...this.listeners]) l();
  }
  get pid(): number | null {
    return this.currentState === 'stopped' ? null : this.world.engines.indexOf(this) + 100;
  }
  async stop(reason: string): Promise<void> {
    this.stops.push(reason);
    this.world.events.push(`stop ${this.name}`);
    if (this.leavesProcess) this.world.leftBehind.add(this.world.engines.indexOf(this) + 100);
    this.set({ currentState: 'stopped' });
    this.world.exited(this.name);
  }
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  /** As the supervisor: its last request ended, told at once (its onChange comes later, or here not at all). */
  finishRequests(): void {
    this.busy = 0;
    for (const l of [...this.idleListeners]) l();
  }
  onIdle(listener: () => void): () => void {
    this.idleListeners.add(listener);
    return () => this.idleListeners.delete(listener);
  }
}

/** One 10 GB card; engines "use" memory once told to; a stopped engine's memory frees after `lag` reads. */
class FakeWorld implements DeviceSource {
  engines: FakeEngine[] = [];
  using = new Map<string, number>();
  pendingFree = new Map<string, number>();
  reads = 0;
  watchers = 0;
  events: string[] = [];
  lag = 0;
  /** Used by processes that aren't ours (another user's job). */
  othersMb = 0;
  /** As Windows (WDDM) drivers: the card can't say which process holds what. */
  holdersUnknown = false;
  last: DeviceState | null = null;
  /** Process groups a stop left behind (see FakeEngine.leavesProcess). */
  leftBehind = new Set<number>();
  private readonly readers = new Set<(s: DeviceState) => void>();

  engine(name: string): FakeEngine {
    const engine = new FakeEngine(name, this);
    this.engines.push(engine);
    return engine;
  }
  use(name: string, mb: number): void {
    this.using.set(name, mb);
  }
  exited(name: string): void {
    if (this.using.has(name)) this.pendingFree.set(name, this.lag);
  }
  async read(maxAgeMs = 0): Promise<DeviceState> {
    if (this.last && Date.now() - this.last.at < maxAgeMs) return this.last;
    this.reads++;
    for (const [name, left] of this.pendingFree) {
      if (left <= 0) {
        this.using.delete(name);
        this.pendingFree.delete(name);
      } else this.pendingFree.set(name, left - 1);
    }
    const holders: MemoryHolder[] = [...this.using].map(([model, usedMb], i) => ({ model: this.pendingFree.has(model) ? null : model, pid: 100 + i, usedMb }));
    const used = this.othersMb + holders.reduce((sum, h) => sum + (h.usedMb ?? 0), 0);
    const gpu: DeviceReading = {
      id: 'gpu0', kind: 'gpu', vendor: 'nvidia', index: 0, name: 'NVIDIA GeForce RTX 3080', online: true, offlineReason: null,
      memory: { totalMb: TOTAL, usedMb: used, freeMb: TOTAL - used }, utilizationPct: 0, temperatureC: 40, powerW: 100, holders,
    };
    const state: DeviceState = { at: Date.now(), doneAt: Date.now(), holdersKnown: new Set(this.holdersUnknown ? [] : ['gpu0']), snapshot: { at: '', monitoringDisabled: false, devices: [gpu] } };
    this.last = state;
    for (const r of this.readers) r(state);
    return state;
  }
  watch(): () => void {
    this.watchers++;
    return () => void this.watchers--;
  }
  onReading(listener: (s: DeviceState) => void): () => void {
    this.readers.add(listener);
    return () => this.readers.delete(listener);
  }
}

function profile(name: string, requiredDevices: string[], memoryMb: Record<string, number> = {}): LaunchProfile {
  return { name, requiredDevices, memoryMb, env: {}, scriptPath: null, command: 'llama-server', args: [], cwd: null };
}
function model(name: string, needMb: number, startTimeoutMs = 10_000): ModelConfig {
  return { name, aliases: [], mode: 'Chat', port: 1, autoStart: false, aliveTimeMs: 0, healthPath: '/health', servedModelName: null, startTimeoutMs, stopTimeoutMs: 1000, maxConnections: null, profiles: [profile('GPU', ['gpu0'], { gpu0: needMb })] };
}
function chooser(world: FakeWorld, settings = { headroomMb: 512, monitoringDisabled: false }, freshMs = 0) {
  return createGpuChooser({
    devices: world, engines: () => world.engines, settings: () => settings, launchProblem: () => null, logger: silentLogger, freeWaitMs: 5000, freshMs,
    processGone: (pid) => !world.leftBehind.has(pid),
  });
}
const settle = () => new Promise((resolve) => setTimeout(resolve, 30));
/** A card with one idle engine using `mb`, and `next` starting. */
function idleAndNext(mb: number): { world: FakeWorld; idle: FakeEngine } {
  const world = new FakeWorld();
  const idle = world.engine('idle');
  idle.set({ currentState: 'ready', lastActivityAt: 1 });
  world.use('idle', mb);
  world.engine('next').set({ currentState: 'starting' });
  return { world, idle };
}

describe('GPU-aware chooser', () => {
  it('two starts at once never share the same free memory; the second waits for the first, then stops it once idle', async () => {
    const world = new FakeWorld();
    const { choose } = chooser(world);
    const a = world.engine('a');
    const b = world.engine('b');
    a.set({ currentState: 'starting' });
    b.set({ currentState: 'starting' });

    let bDone = false;
    const [choiceA] = await Promise.all([choose(model('a', 6000)), settle()]);
    expect(choiceA.profile.name).toBe('GPU');
    const choiceB = choose(model('b', 6000)).then((c) => {
      bDone = true;
      world.events.push('b chosen');
      return c;
    });
    await settle();
    // a was promised 6000 MB and has not used any yet: b must not take it.
    expect(bDone).toBe(false);
    expect(b.logLines).toContain('waiting for a to finish before GPU fits');
    expect(world.watchers).toBe(1); // b keeps the poll loop alive while it waits

    // a loads and serves a request: still nothing for b, and a is not stopped mid-request.
    world.use('a', 6000);
    a.set({ currentState: 'ready', busy: 1 });
    await settle();
    expect(bDone).toBe(false);
    expect(a.stops).toEqual([]);

    // The request ends: a is idle, least recently used, and goes.
    a.set({ busy: 0, lastActivityAt: 1 });
    await choiceB;
    expect(world.events).toEqual(['stop a', 'b chosen']);
    expect(a.stops).toEqual(['making room for b on gpu0']);
    expect(b.logLines).toContain('stopping idle a to make room on gpu0');
    expect(world.watchers).toBe(0);
  });

  it("once a stopped engine's processes have exited, its memory counts as free at once, though the card shows it late; one reading follows", async () => {
    const world = new FakeWorld();
    world.lag = 3; // the driver takes three readings to show the memory free
    const old = world.engine('old');
    const newer = world.engine('newer');
    const next = world.engine('next');
    old.set({ currentState: 'ready', lastActivityAt: 1 });
    newer.set({ currentState: 'ready', lastActivityAt: 2 });
    world.use('old', 5000);
    world.use('newer', 4000);
    next.set({ currentState: 'starting' });

    const choice = await chooser(world).choose(model('next', 5000));
    expect(choice.profile.name).toBe('GPU');
    expect(old.stops).toHaveLength(1);
    expect(newer.stops).toEqual([]);
    // The decision's reading only; one more once next is ready and has answered its first request.
    await settle();
    expect(world.reads).toBe(1);
    expect(world.using.has('old')).toBe(true);
    next.set({ currentState: 'ready', busy: 1 });
    await settle();
    expect(world.reads).toBe(1);
    next.finishRequests();
    await settle();
    expect(world.reads).toBe(2);
  });

  it("after a stop that left a process behind, waits until the card reports the memory free, and doesn't stop more meanwhile", async () => {
    const world = new FakeWorld();
    world.lag = 3;
    const old = world.engine('old');
    const newer = world.engine('newer');
    const next = world.engine('next');
    old.set({ currentState: 'ready', lastActivityAt: 1 });
    newer.set({ currentState: 'ready', lastActivityAt: 2 });
    old.leavesProcess = true;
    world.use('old', 5000);
    world.use('newer', 4000);
    next.set({ currentState: 'starting' });

    const choice = await chooser(world).choose(model('next', 5000));
    expect(choice.profile.name).toBe('GPU');
    expect(old.stops).toHaveLength(1);
    expect(newer.stops).toEqual([]);
    expect(world.reads).toBeGreaterThanOrEqual(5);
    expect(world.using.has('old')).toBe(false);
  });

  it('a reading from the last poll interval decides a start that fits, without a new one', async () => {
    const world = new FakeWorld();
    world.use('small', 2000);
    world.engine('small').set({ currentState: 'ready', lastActivityAt: 1 });
    world.engine('next').set({ currentState: 'starting' });
    await world.read();
    const choice = await chooser(world, undefined, 2000).choose(model('next', 4000));
    expect(choice.profile.name).toBe('GPU');
    expect(world.reads).toBe(1);
    expect(world.engines[0]!.stops).toEqual([]);
  });

  it('a recent reading on a steady card decides a swap: the idle engine is stopped on it, no new reading before', async () => {
    const { world, idle } = idleAndNext(8000);
    const { choose } = chooser(world, undefined, 2000); // as in a node: there before the readings, it sees each
    await world.read();
    await settle();
    await world.read(); // two readings, the same memory not ours in both: steady
    await settle(); // the last is now 30 ms old: recent, not new
    const choice = await choose(model('next', 4000));
    expect(choice.profile.name).toBe('GPU');
    expect(idle.stops).toEqual(['making room for next on gpu0']);
    expect(world.reads).toBe(2);
  });

  it('a recent reading on a card in flux (memory not ours moved) stops nobody: a new one decides, and when it shows room, nobody is stopped', async () => {
    const { world, idle } = idleAndNext(5000);
    const { choose } = chooser(world, undefined, 2000);
    await world.read();
    world.othersMb = 4000; // another program loading...
    await world.read();
    world.othersMb = 0; // ...and gone by the time the new reading is taken
    await settle();
    const choice = await choose(model('next', 4000));
    expect(choice.profile.name).toBe('GPU');
    expect(idle.stops).toEqual([]);
    expect(world.reads).toBe(3);
  });

  it('with no reading before the recent one to compare, a swap takes a new reading first', async () => {
    const { world, idle } = idleAndNext(8000);
    await world.read();
    await settle();
    await chooser(world, undefined, 2000).choose(model('next', 4000));
    expect(idle.stops).toEqual(['making room for next on gpu0']);
    expect(world.reads).toBe(2);
  });

  it("a recent reading from before an engine turned ready doesn't count its memory as the card's: where the card can't say whose memory is whose, its declaration stays reserved", async () => {
    const world = new FakeWorld();
    world.holdersUnknown = true;
    const late = world.engine('late');
    const next = world.engine('next');
    const { choose } = chooser(world, undefined, 2000);
    late.set({ currentState: 'starting' });
    await choose(model('late', 6000)); // the reading taken here shows the card empty
    await settle();
    // late loads its 6000 MB and turns ready after that reading.
    world.use('late', 6000);
    late.set({ currentState: 'ready', lastActivityAt: 1 });
    Object.assign(late, { info: () => ({ readyAt: new Date(Date.now() - 1).toISOString() }) });
    next.set({ currentState: 'starting' });
    await choose(model('next', 6000));
    // On the old reading next would have "fitted" beside late; a new one was read, and late made room.
    expect(late.stops).toEqual(['making room for next on gpu0']);
    expect(world.reads).toBe(2);
  });

  it("stops a busy engine as soon as its last request ends (its onIdle), not at the next recheck or its later onChange", async () => {
    const world = new FakeWorld();
    const busy = world.engine('busy');
    busy.set({ currentState: 'ready', busy: 1, lastActivityAt: 1 });
    world.use('busy', 9000);
    world.engine('next').set({ currentState: 'starting' });
    const pending = chooser(world).choose(model('next', 4000));
    await settle();
    expect(busy.stops).toEqual([]);
    const ended = performance.now();
    busy.finishRequests();
    await pending;
    expect(busy.stops).toEqual(['making room for next on gpu0']);
    // The wait rechecks every second otherwise.
    expect(performance.now() - ended).toBeLessThan(500);
  });

  it('gives up at the start timeout when the busy engine never finishes', async () => {
    const world = new FakeWorld();
    const busy = world.engine('busy');
    busy.set({ currentState: 'ready', busy: 1 });
    world.use('busy', 9000);
    world.engine('late').set({ currentState: 'starting' });
    const err = await chooser(world).choose(model('late', 4000, 300)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NoProfileError);
    expect((err as Error).message).toBe(
      'no launch profile of late can start: GPU: gpu0 needs 4000 MB, 728 MB free (busy is answering requests); gave up after waiting 300 ms (start_timeout)',
    );
    expect(busy.stops).toEqual([]);
    expect(world.watchers).toBe(0);
  });

  it('stops waiting when the start is cancelled', async () => {
    const world = new FakeWorld();
    world.engine('busy').set({ currentState: 'ready', busy: 1 });
    world.use('busy', 9000);
    const self = world.engine('m');
    self.set({ currentState: 'starting' });
    const pending = chooser(world).choose(model('m', 4000)).catch((e: Error) => e);
    await settle();
    self.set({ currentState: 'stopping' });
    world.engines[0]!.set({ busy: 1 }); // any change wakes the waiter
    expect(((await pending) as Error).message).toBe('the start of m was cancelled');
  });

  it('fails at once, with the reason, when even everything we run would not make room', async () => {
    const world = new FakeWorld();
    world.engine('m').set({ currentState: 'starting' });
    await expect(chooser(world).choose(model('m', 20_000))).rejects.toThrow('no launch profile of m can start: GPU: gpu0 needs 20000 MB, 9728 MB free');
  });

  it('a CPU-only model is chosen without reading any device', async () => {
    const world = new FakeWorld();
    const cpuModel: ModelConfig = { ...model('demo', 0), profiles: [profile('CPU-Config', [])] };
    const choice = await chooser(world).choose(cpuModel);
    expect(choice).toEqual({ profile: cpuModel.profiles[0], skipped: [], env: {} });
    expect(world.reads).toBe(0);
    expect(world.watchers).toBe(0);
  });

  it('with monitoring disabled: one reading, no poll loop, no eviction — the start is forced', async () => {
    const world = new FakeWorld();
    const idle = world.engine('idle');
    idle.set({ currentState: 'ready' });
    world.use('idle', 9000);
    world.engine('m').set({ currentState: 'starting' });
    const { choose } = chooser(world, { headroomMb: 512, monitoringDisabled: true });
    const choice = await choose(model('m', 6000));
    expect(choice).toMatchObject({ profile: { name: 'GPU' }, env: { CUDA_VISIBLE_DEVICES: '0', CUDA_DEVICE_ORDER: 'PCI_BUS_ID' } });
    expect(idle.stops).toEqual([]);
    expect(world.reads).toBe(1);
    expect(world.watchers).toBe(0);
  });
});
