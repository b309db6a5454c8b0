// Models that stay and models that never run together (#16 item 5), table-driven and without
// processes: keep (never a victim, and the why-not says so), priority (eviction order), a running
// engine counted as max(declared, measured), exclusive_group (mates stop first, busy ones are waited
// for), and which stopped residents may start again now.
import { describe, expect, it } from 'vitest';
import type { LaunchProfile, ModelConfig } from '../../src-shared/config.js';
import type { DeviceReading, ManagerApi, ModelState } from '../../src-shared/contract.js';
import { engineView } from '../../src-main/core/scheduler/gpu-chooser.js';
import { chooseVictims, planStart, type EngineView, type Placement } from '../../src-main/core/scheduler/placement.js';
import { ResidentKeeper, residentsToStart, withResidentIntent } from '../../src-main/core/scheduler/resident.js';
import { NoProfileError } from '../../src-main/core/scheduler/profile.js';

const card = (freeMb: number, totalMb = 10240): DeviceReading => ({
  id: 'gpu0', kind: 'gpu', vendor: 'nvidia', index: 0, uuid: 'GPU-0', name: 'NVIDIA GeForce RTX 3080', online: true, offlineReason: null,
  memory: { totalMb, usedMb: totalMb - freeMb, freeMb }, utilizationPct: 0, temperatureC: 40, powerW: 50, holders: [],
});
const ram = (freeMb: number): DeviceReading => ({ ...card(freeMb, 65536), id: 'ram', kind: 'ram', vendor: 'system', index: null, name: 'System memory' });
const CPU: DeviceReading = { ...card(0), id: 'cpu', kind: 'cpu', vendor: 'cpu', index: null, name: 'AMD Ryzen 9', memory: null };
const profile = (name: string, requiredDevices: string[], memoryMb: Record<string, number>): LaunchProfile => ({ name, requiredDevices, memoryMb, env: {}, scriptPath: null, command: 'llama-server', args: [], cwd: null });
function model(name: string, needMb: number, extra: Partial<ModelConfig> = {}): ModelConfig {
  const profiles = [profile('GPU', ['gpu0'], needMb > 0 ? { gpu0: needMb } : {})];
  return { name, aliases: [], mode: 'Chat', port: 10001, autoStart: false, aliveTimeMs: 0, healthPath: '/health', servedModelName: null, startTimeoutMs: 300_000, stopTimeoutMs: 10_000, maxConnections: null, profiles, ...extra };
}
const holds = (mb: number) => ({ gpu0: mb });
function engine(name: string, fields: Partial<EngineView> = {}): EngineView {
  return { name, state: 'ready', busy: 0, lastActivityAt: 0, heldMb: {}, reservedMb: {}, ...fields };
}
const summary = (p: Placement) =>
  p.kind === 'evict' ? `evict ${p.victims.join(',')}` : p.kind === 'wait' ? `wait ${p.blockers.join(',')}` : p.kind === 'none' ? `none: ${new NoProfileError('new', p.skipped).message}` : 'start';

describe('keep, priority and declared-vs-measured under memory pressure', () => {
  // A 10 GB card; the new model needs 4000 MB; 512 MB headroom.
  const rows: { name: string; freeMb: number; engines: EngineView[]; model?: ModelConfig; expected: string }[] = [
    { name: 'a kept idle engine is not a victim; another is', freeMb: 1000, engines: [engine('kept', { lastActivityAt: 1, heldMb: holds(4000), keep: true }), engine('other', { lastActivityAt: 9, heldMb: holds(4000) })], expected: 'evict other' },
    {
      name: 'only a kept engine would make room: the why-not says so',
      freeMb: 1000,
      engines: [engine('agent', { heldMb: holds(8000), keep: true })],
      expected: 'none: no launch profile of new can start: GPU: gpu0 needs 4000 MB, 488 MB free; it fits only if agent stopped, which has keep: true',
    },
    { name: 'a busy kept engine is not waited for', freeMb: 1000, engines: [engine('agent', { busy: 1, heldMb: holds(8000), keep: true })], expected: 'none: no launch profile of new can start: GPU: gpu0 needs 4000 MB, 488 MB free; it fits only if agent stopped, which has keep: true' },
    {
      name: 'lower priority goes first, even when more recently used',
      freeMb: 1000,
      engines: [engine('important', { lastActivityAt: 1, heldMb: holds(4000), priority: 10 }), engine('casual', { lastActivityAt: 9, heldMb: holds(4000) })],
      expected: 'evict casual',
    },
    {
      name: 'two of low priority before one of high priority',
      freeMb: 1000,
      engines: [engine('big-important', { heldMb: holds(8000), priority: 5 }), engine('small-a', { lastActivityAt: 2, heldMb: holds(2000) }), engine('small-b', { lastActivityAt: 3, heldMb: holds(2000) })],
      expected: 'evict small-a,small-b',
    },
    {
      name: 'a higher priority is stopped when the lower ones are not enough',
      freeMb: 1000,
      engines: [engine('big-important', { heldMb: holds(8000), priority: 5 }), engine('small', { heldMb: holds(1000) })],
      expected: 'evict big-important',
    },
    {
      name: 'a ready engine below its declaration: the declared rest counts as taken',
      // 8000 free as measured, but "lazy" declared 7000 and reads 1000 so far: 2000 are really free.
      freeMb: 8000,
      engines: [engine('lazy', { busy: 1, heldMb: holds(1000), reservedMb: holds(6000) })],
      expected: 'wait lazy',
    },
    {
      name: 'and stopping it gives back the whole declaration',
      freeMb: 8000,
      engines: [engine('lazy', { heldMb: holds(1000), reservedMb: holds(6000) })],
      expected: 'evict lazy',
    },
  ];
  it.each(rows)('$name', (row) => {
    const placement = planStart({ model: row.model ?? model('new', 4000), devices: [card(row.freeMb)], engines: row.engines, headroomMb: 512, monitoringDisabled: false });
    expect(summary(placement)).toBe(row.expected);
  });

  it('chooseVictims: priority tiers, then fewest, then least recently used', () => {
    const e = (name: string, lastActivityAt: number, mb: number, priority?: number) => ({ name, lastActivityAt, heldMb: holds(mb), ...(priority !== undefined ? { priority } : {}) });
    expect(chooseVictims(holds(3000), [e('p1-old', 1, 5000, 1), e('p0-new', 9, 2000), e('p0-newer', 10, 2000)])).toEqual(['p0-new', 'p0-newer']);
    expect(chooseVictims(holds(3000), [e('p1-old', 1, 5000, 1), e('p0', 9, 2000)])).toEqual(['p1-old']);
    expect(chooseVictims(holds(3000), [e('neg', 5, 3000, -1), e('zero', 1, 3000)])).toEqual(['neg']);
  });

  it('two CPU models that each declare most of the RAM: the second waits for the first (it maps its weights lazily and reads small)', () => {
    const cpuModel = (name: string) => ({ ...model(name, 0), profiles: [profile('CPU', ['cpu'], { cpu: 40_000 })] });
    // The first runs, has declared 40 GB and holds 2 GB so far: 60 GB of RAM read free.
    const view = engineView(
      { name: 'first', currentState: 'ready', busy: 1, lastActivityAt: 0 },
      { snapshot: { at: '', monitoringDisabled: false, devices: [CPU, { ...ram(60_000), holders: [{ model: 'first', pid: 1, usedMb: 2000 }] }] }, holdersKnown: new Set(['ram']) },
      { ram: 40_000 },
    );
    expect(view).toMatchObject({ heldMb: { ram: 2000 }, reservedMb: { ram: 38_000 } });
    const placement = planStart({ model: cpuModel('second'), devices: [CPU, ram(60_000)], engines: [view], headroomMb: 512, monitoringDisabled: false });
    expect(summary(placement)).toBe('wait first');
  });

  it('engineView carries keep, priority and the group from the model', () => {
    const view = engineView({ name: 'm', currentState: 'ready', busy: 0, lastActivityAt: 0, model: { keep: true, priority: 3, exclusiveGroup: 'big' } }, null, undefined);
    expect(view).toMatchObject({ keep: true, priority: 3, group: 'big' });
  });
});

describe('exclusive_group', () => {
  const inGroup = (name: string, needMb = 0) => model(name, needMb, { exclusiveGroup: 'big-gpu' });
  const rows: { name: string; freeMb: number; engines: EngineView[]; model?: ModelConfig; monitoringDisabled?: boolean; expected: string }[] = [
    { name: 'an idle mate is stopped even with memory to spare', freeMb: 9000, engines: [engine('mate', { heldMb: holds(1000), group: 'big-gpu' })], expected: 'evict mate' },
    { name: 'a mate answering a request is waited for (never cut)', freeMb: 9000, engines: [engine('mate', { busy: 1, heldMb: holds(1000), group: 'big-gpu' })], expected: 'wait mate' },
    { name: 'a starting mate is waited for', freeMb: 9000, engines: [engine('mate', { state: 'starting', group: 'big-gpu' })], expected: 'wait mate' },
    { name: 'stopped mates and other groups do not matter', freeMb: 9000, engines: [engine('gone', { state: 'stopped', group: 'big-gpu' }), engine('other', { group: 'small' })], expected: 'start' },
    { name: "a mate's memory counts as free: nothing else is stopped", freeMb: 1000, engines: [engine('mate', { heldMb: holds(4000), group: 'big-gpu' }), engine('bystander', { heldMb: holds(4000) })], model: inGroup('new', 4000), expected: 'evict mate' },
    {
      name: 'mates and then the least recently used other, when the mate alone is not enough',
      freeMb: 1000,
      engines: [engine('mate', { heldMb: holds(1000), group: 'big-gpu' }), engine('bystander', { heldMb: holds(4000) })],
      model: inGroup('new', 4000),
      expected: 'evict mate,bystander',
    },
    { name: 'a kept mate refuses the start, saying why', freeMb: 9000, engines: [engine('agent', { keep: true, group: 'big-gpu' })], expected: 'none: no launch profile of new can start: GPU: agent of exclusive_group "big-gpu" is running with keep: true' },
    { name: 'with GPU monitoring disabled, the mate still goes', freeMb: 100, engines: [engine('mate', { heldMb: holds(4000), group: 'big-gpu' })], model: inGroup('new', 4000), monitoringDisabled: true, expected: 'evict mate' },
  ];
  it.each(rows)('$name', (row) => {
    const placement = planStart({ model: row.model ?? inGroup('new'), devices: [card(row.freeMb)], engines: row.engines, headroomMb: 512, monitoringDisabled: row.monitoringDisabled ?? false });
    expect(summary(placement)).toBe(row.expected);
  });
});

describe('residents', () => {
  const rows = [
    { name: 'a stopped resident that is wanted and fits starts', models: [{ name: 'r', state: 'stopped', wanted: true }], fits: ['r'], held: false, expected: ['r'] },
    { name: 'one a person stopped is not wanted', models: [{ name: 'r', state: 'stopped', wanted: false }], fits: ['r'], held: false, expected: [] },
    { name: 'not while it does not fit', models: [{ name: 'r', state: 'stopped', wanted: true }], fits: [], held: false, expected: [] },
    { name: 'not while models are held', models: [{ name: 'r', state: 'stopped', wanted: true }], fits: ['r'], held: true, expected: [] },
    { name: 'running, starting or stopping ones are left alone', models: [{ name: 'a', state: 'ready', wanted: true }, { name: 'b', state: 'starting', wanted: true }, { name: 'c', state: 'stopping', wanted: true }], fits: ['a', 'b', 'c'], held: false, expected: [] },
    { name: 'a failed one is tried again once it fits (its restart pause still applies)', models: [{ name: 'f', state: 'failed', wanted: true }], fits: ['f'], held: false, expected: ['f'] },
  ] as const;
  it.each(rows)('$name', (row) => {
    expect(residentsToStart(row.models, (name) => (row.fits as readonly string[]).includes(name), row.held)).toEqual(row.expected);
  });
});

describe('ResidentKeeper', () => {
  function fakes() {
    const listeners = new Map<string, (info: { state: ModelState }) => void>();
    const make = (name: string, resident: boolean, state: ModelState) => {
      const e = {
        name,
        currentState: state,
        latestConfig: { ...model(name, 0), ...(resident ? { resident: true } : {}) },
        starts: 0,
        async ensureReady() {
          e.starts++;
          e.currentState = 'ready';
        },
        onChange(listener: (info: { state: ModelState }) => void) {
          listeners.set(name, listener);
          return () => listeners.delete(name);
        },
      };
      return e;
    };
    const home = make('home', true, 'stopped');
    const other = make('other', false, 'ready');
    const asked: string[] = [];
    const keeper = new ResidentKeeper({
      engines: () => [home, other],
      startIfFits: async (m, start) => {
        asked.push(m.name);
        start();
        return true;
      },
      held: () => false,
      logger: { debug() {}, info() {}, warn() {}, error() {} },
      recheckMs: 60_000,
    });
    return { home, other, asked, keeper, listeners };
  }

  it('starts residents at launch; a person stop keeps one stopped, a person start makes it come back again', async () => {
    const { home, asked, keeper } = fakes();
    keeper.sync();
    expect(home.starts).toBe(1);
    // Made room for: it comes back once it fits.
    home.currentState = 'stopped';
    await keeper.check();
    expect(asked).toEqual(['home']);
    expect(home.starts).toBe(2);
    // Stopped by a person: left alone.
    const api = withResidentIntent({ stopModel: async () => undefined, startModel: async () => undefined, stopAll: async () => [] } as unknown as ManagerApi, keeper, (n) => n);
    await api.stopModel('home');
    home.currentState = 'stopped';
    await keeper.check();
    expect(home.starts).toBe(2);
    await api.startModel('home');
    await keeper.check();
    expect(home.starts).toBe(3);
    await api.stopAll();
    home.currentState = 'stopped';
    await keeper.check();
    expect(home.starts).toBe(3);
    keeper.close();
  });
});
