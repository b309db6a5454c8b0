// The scheduler's decisions, table-driven and without processes: how config keys match devices,
// which launch profile a model starts with, whom to stop to make room, and when to wait instead.
import { describe, expect, it } from 'vitest';
import { formatIssue, parseConfigText, type LaunchProfile, type ModelConfig } from '../../src-shared/config.js';
import type { DeviceReading, MemoryHolder } from '../../src-shared/contract.js';
import { assignments, matchesDevice, profileClaims } from '../../src-main/core/scheduler/device-match.js';
import { engineView } from '../../src-main/core/scheduler/gpu-chooser.js';
import { chooseVictims, cudaEnv, planStart, type EngineView, type Placement, type PlacementInput } from '../../src-main/core/scheduler/placement.js';
import { NoProfileError } from '../../src-main/core/scheduler/profile.js';

// ---- builders --------------------------------------------------------------------------------

function gpu(index: number, name: string, freeMb: number, totalMb = 32768, extra: Partial<DeviceReading> = {}): DeviceReading {
  return {
    id: `gpu${index}`, kind: 'gpu', vendor: 'nvidia', index, uuid: `GPU-${index}`, name, online: true, offlineReason: null,
    memory: { totalMb, usedMb: totalMb - freeMb, freeMb }, utilizationPct: 0, temperatureC: 40, powerW: 50, holders: [], ...extra,
  };
}
const offline = (device: DeviceReading, reason = 'no longer reported by nvidia-smi'): DeviceReading => ({ ...device, online: false, offlineReason: reason, memory: null });
const CPU: DeviceReading = { id: 'cpu', kind: 'cpu', vendor: 'cpu', index: null, name: 'AMD Ryzen 9 7950X (16 cores, 32 threads)', online: true, offlineReason: null, memory: null, utilizationPct: 3, temperatureC: null, powerW: null, holders: [] };
const ram = (freeMb: number): DeviceReading => ({ ...CPU, id: 'ram', kind: 'ram', vendor: 'system', name: 'System memory', memory: { totalMb: 65536, usedMb: 65536 - freeMb, freeMb } });
const RTX = (freeMb = 15000) => gpu(0, 'NVIDIA GeForce RTX 4060 Ti', freeMb, 16380);
const LAPTOP_4060 = gpu(0, 'NVIDIA GeForce RTX 4060 Laptop GPU', 8000, 8188);
const V100 = (freeMb = 32000, index = 1) => gpu(index, 'Tesla V100-SXM2-32GB', freeMb);

function profile(name: string, requiredDevices: string[], memoryMb: Record<string, number> = {}, env: Record<string, string> = {}): LaunchProfile {
  return { name, requiredDevices, memoryMb, env, scriptPath: null, command: 'llama-server', args: [], cwd: null };
}
function model(name: string, ...profiles: LaunchProfile[]): ModelConfig {
  return { name, aliases: [], mode: 'Chat', port: 10001, autoStart: false, aliveTimeMs: 0, healthPath: '/health', servedModelName: null, startTimeoutMs: 300_000, stopTimeoutMs: 10_000, maxConnections: null, profiles };
}
function engine(name: string, fields: Partial<EngineView> = {}): EngineView {
  return { name, state: 'ready', busy: 0, lastActivityAt: 0, heldMb: {}, reservedMb: {}, ...fields };
}

// The seed's example: both cards, or the V100 alone.
const DUAL = profile('Dual-GPU-Config', ['rtx 4060', 'v100'], { 'rtx 4060': 8000, v100: 16000 });
const SINGLE = profile('Single-GPU-Config', ['v100'], { v100: 24000 });
const QWEN = model('Qwen-14B-Chat', DUAL, SINGLE);

function plan(fields: Partial<PlacementInput> & Pick<PlacementInput, 'devices'>): Placement {
  return planStart({ model: QWEN, engines: [], headroomMb: 512, monitoringDisabled: false, ...fields });
}
function message(placement: Placement, name = 'Qwen-14B-Chat'): string {
  return new NoProfileError(name, placement.skipped).message;
}

// ---- matching --------------------------------------------------------------------------------

describe('device matching', () => {
  const plugin: DeviceReading = { ...gpu(0, 'AMD Radeon RX 7900 XTX', 20000), id: 'plugin:rocm:0', vendor: 'rocm' };
  it.each([
    ['rtx 4060', LAPTOP_4060, true],
    ['RTX 4060', LAPTOP_4060, true],
    ['geforce', LAPTOP_4060, true],
    ['4070', LAPTOP_4060, false],
    ['v100', V100(), true],
    ['gpu1', V100(), true],
    ['gpu0', V100(), false],
    ['gpu1', gpu(10, 'Tesla V100', 1000), false],
    ['cpu', CPU, true],
    ['cpu', V100(), false],
    ['amd', CPU, false], // names are matched on GPUs only
    ['amd', plugin, true],
    ['plugin:rocm:0', plugin, true],
    ['gpu0', plugin, false],
    ['  V100 ', V100(), true],
  ])('%j matches %s: %s', (key, device, expected) => {
    expect(matchesDevice(key, device)).toBe(expected);
  });

  it.each([
    ['the seed dual profile', DUAL, [{ key: 'rtx 4060', needMb: 8000 }, { key: 'v100', needMb: 16000 }]],
    ['memory keys match required_devices case-insensitively', profile('P', ['RTX 4060'], { 'rtx 4060': 8000 }), [{ key: 'RTX 4060', needMb: 8000 }]],
    ['each entry claims one device', profile('P', ['v100', 'v100'], { v100: 16000 }), [{ key: 'v100', needMb: 16000 }, { key: 'v100', needMb: 16000 }]],
    ['a memory_mb key alone is a claim too', profile('P', [], { gpu0: 7000 }), [{ key: 'gpu0', needMb: 7000 }]],
    ['no memory_mb: nothing to measure', profile('P', ['cpu']), [{ key: 'cpu', needMb: 0 }]],
    ['required_devices [] claims nothing', profile('P', []), []],
  ])('claims: %s', (_name, p, expected) => {
    expect(profileClaims(p)).toEqual(expected);
  });

  it('gives each claim its own device: two identical cards serve ["v100", "v100"], one card does not', () => {
    const claims = profileClaims(profile('P', ['v100', 'v100']));
    expect(assignments(claims, [V100(1000, 0), V100(1000, 1)]).map((a) => a.map((d) => d.id))).toEqual([
      ['gpu0', 'gpu1'],
      ['gpu1', 'gpu0'],
    ]);
    expect(assignments(claims, [V100(1000, 0)])).toEqual([]);
  });
});

// ---- profile choice --------------------------------------------------------------------------

describe('profile choice', () => {
  interface Row {
    name: string;
    input: Partial<PlacementInput> & Pick<PlacementInput, 'devices'>;
    kind: Placement['kind'];
    profile?: string;
    victims?: string[];
    blockers?: string[];
    forced?: boolean;
    picks?: string[];
    skipped?: string[];
  }
  const rows: Row[] = [
    { name: 'both cards with room: the dual profile', input: { devices: [CPU, RTX(), V100()] }, kind: 'start', profile: 'Dual-GPU-Config', picks: ['gpu0', 'gpu1'], skipped: [] },
    {
      name: 'no RTX 4060 at all: the single profile, and why not the dual one',
      input: { devices: [CPU, V100(32000, 0)] },
      kind: 'start', profile: 'Single-GPU-Config', picks: ['gpu0'], skipped: ['Dual-GPU-Config: no device matches "rtx 4060"'],
    },
    {
      name: 'the RTX 4060 went offline: the single profile',
      input: { devices: [CPU, offline(RTX()), V100()] },
      kind: 'start', profile: 'Single-GPU-Config', skipped: ['Dual-GPU-Config: rtx 4060 offline (no longer reported by nvidia-smi)'],
    },
    {
      name: 'the V100 is short of memory for either profile: every reason',
      input: { devices: [CPU, RTX(), V100(9120 + 512)] },
      kind: 'none',
      skipped: ['Dual-GPU-Config: v100 needs 16000 MB, 9120 MB free', 'Single-GPU-Config: v100 needs 24000 MB, 9120 MB free'],
    },
    {
      name: 'the V100 offline, the RTX short',
      input: { devices: [CPU, RTX(2000), offline(V100(), 'nvidia-smi did not answer within 3 s')] },
      kind: 'none',
      skipped: [
        'Dual-GPU-Config: v100 offline (nvidia-smi did not answer within 3 s)',
        'Single-GPU-Config: v100 offline (nvidia-smi did not answer within 3 s)',
      ],
    },
    { name: 'headroom: exactly enough', input: { devices: [V100(24000 + 512, 0)] }, kind: 'start', profile: 'Single-GPU-Config' },
    { name: 'headroom: 1 MB short', input: { devices: [V100(24000 + 511, 0)] }, kind: 'none', skipped: ['Dual-GPU-Config: no device matches "rtx 4060"', 'Single-GPU-Config: v100 needs 24000 MB, 23999 MB free'] },
    { name: 'headroom 0', input: { devices: [V100(24000, 0)], headroomMb: 0 }, kind: 'start', profile: 'Single-GPU-Config' },
    {
      name: 'memory promised to a starting engine is not free',
      input: { devices: [RTX(), V100(32000)], engines: [engine('other', { state: 'starting', reservedMb: { gpu1: 16000 } })] },
      kind: 'wait', profile: 'Dual-GPU-Config', blockers: ['other'],
    },
    {
      name: 'nvidia-smi missing: the reason shows on the profiles',
      input: { devices: [CPU, { ...offline(gpu(0, 'NVIDIA GPU', 0), 'nvidia-smi not found'), id: 'nvidia', index: null }] },
      kind: 'none',
      skipped: [
        'Dual-GPU-Config: no device matches "rtx 4060" and no device matches "v100" (NVIDIA GPU offline: nvidia-smi not found)',
        'Single-GPU-Config: no device matches "v100" (NVIDIA GPU offline: nvidia-smi not found)',
      ],
    },
    {
      name: 'two identical cards: the one with room is picked',
      input: { model: model('M', profile('One-V100', ['v100'], { v100: 24000 })), devices: [V100(1000, 0), V100(30000, 1)] },
      kind: 'start', profile: 'One-V100', picks: ['gpu1'],
    },
    {
      name: 'two identical cards, both claimed',
      input: { model: model('M', profile('Two-V100', ['v100', 'v100'], { v100: 16000 })), devices: [V100(30000, 0), V100(30000, 1)] },
      kind: 'start', profile: 'Two-V100', picks: ['gpu0', 'gpu1'],
    },
    {
      name: 'a CPU-only profile always fits, even with no readings',
      input: { model: model('demo', profile('CPU-Config', [])), devices: [] },
      kind: 'start', profile: 'CPU-Config', picks: [],
    },
    {
      name: 'GPU profile short, CPU fallback fits',
      input: { model: model('M', profile('GPU', ['gpu0'], { gpu0: 7000 }), profile('CPU', [])), devices: [RTX(2000)] },
      kind: 'start', profile: 'CPU', skipped: ['GPU: gpu0 needs 7000 MB, 1488 MB free'],
    },
    {
      name: 'cpu memory is checked against system RAM',
      input: { model: model('M', profile('Big-RAM', ['cpu'], { cpu: 40000 }), profile('Small', [])), devices: [CPU, ram(30000)] },
      kind: 'start', profile: 'Small', skipped: ['Big-RAM: cpu needs 40000 MB, 29488 MB free'],
    },
    {
      name: 'a profile that cannot launch is skipped with its reason',
      input: { model: model('M', profile('A', []), profile('B', [])), devices: [], launchProblem: (p) => (p.name === 'A' ? 'script not found: /x/run.sh' : null) },
      kind: 'start', profile: 'B', skipped: ['A: script not found: /x/run.sh'],
    },
    {
      name: 'memory not reported: unknown is not enough',
      input: { model: model('M', profile('P', ['v100'], { v100: 1000 })), devices: [{ ...V100(0, 0), memory: null }] },
      kind: 'none', skipped: ['P: v100: free memory unknown'],
    },
  ];

  it.each(rows)('$name', (row) => {
    const placement = plan(row.input);
    expect(placement.kind).toBe(row.kind);
    if (row.profile) expect('profile' in placement && placement.profile.name).toBe(row.profile);
    if (row.picks) expect('picks' in placement && placement.picks.map((p) => p.device.id)).toEqual(row.picks);
    if (row.victims) expect(placement.kind === 'evict' && placement.victims).toEqual(row.victims);
    if (row.blockers) expect(placement.kind === 'wait' && placement.blockers).toEqual(row.blockers);
    if (row.forced !== undefined) expect(placement.kind === 'start' && placement.forced).toBe(row.forced);
    if (row.skipped) expect(placement.skipped.map((s) => `${s.profile}: ${s.reason}`)).toEqual(row.skipped);
  });

  it('the failure message names every profile and why', () => {
    const placement = plan({ devices: [CPU, V100(9120 + 512, 0)] });
    expect(message(placement)).toBe(
      'no launch profile of Qwen-14B-Chat can start: Dual-GPU-Config: no device matches "rtx 4060"; Single-GPU-Config: v100 needs 24000 MB, 9120 MB free',
    );
  });
});

// ---- making room -----------------------------------------------------------------------------

describe('making room', () => {
  // gpu0: 10 GB card; each engine holds 4000 MB; the new model needs 4000 MB.
  const card = (freeMb: number) => gpu(0, 'NVIDIA GeForce RTX 3080', freeMb, 10240);
  const NEEDS_4000 = model('new', profile('GPU', ['gpu0'], { gpu0: 4000 }));
  const holds = (mb: number) => ({ gpu0: mb });

  interface Row {
    name: string;
    freeMb: number;
    engines: EngineView[];
    kind: Placement['kind'];
    victims?: string[];
    blockers?: string[];
    reason?: string;
  }
  const rows: Row[] = [
    { name: 'enough free: nobody is stopped', freeMb: 6000, engines: [engine('a', { heldMb: holds(4000) })], kind: 'start' },
    {
      name: 'least recently used idle engine goes first',
      freeMb: 1000,
      engines: [engine('b', { lastActivityAt: 200, heldMb: holds(4000) }), engine('a', { lastActivityAt: 100, heldMb: holds(4000) })],
      kind: 'evict', victims: ['a'],
    },
    {
      name: 'the smallest set: one engine that frees enough beats two older small ones',
      freeMb: 1000,
      engines: [engine('old-small', { lastActivityAt: 1, heldMb: holds(1000) }), engine('older-small', { lastActivityAt: 0, heldMb: holds(1000) }), engine('big', { lastActivityAt: 500, heldMb: holds(4000) })],
      kind: 'evict', victims: ['big'],
    },
    {
      name: 'two are needed: the two least recently used that suffice',
      freeMb: 1000,
      engines: [engine('c', { lastActivityAt: 300, heldMb: holds(2000) }), engine('a', { lastActivityAt: 100, heldMb: holds(2000) }), engine('b', { lastActivityAt: 200, heldMb: holds(2000) })],
      kind: 'evict', victims: ['a', 'b'],
    },
    {
      name: 'an engine on another card is no use',
      freeMb: 1000,
      engines: [engine('elsewhere', { heldMb: { gpu1: 20000 } })],
      kind: 'none', reason: 'GPU: gpu0 needs 4000 MB, 488 MB free',
    },
    {
      name: 'a busy engine is never stopped: wait for it',
      freeMb: 1000,
      engines: [engine('busy', { busy: 1, heldMb: holds(4000) })],
      kind: 'wait', blockers: ['busy'], reason: 'GPU: gpu0 needs 4000 MB, 488 MB free (busy is answering requests)',
    },
    {
      name: 'idle engines that are not enough, plus a busy one: wait rather than stop the idle ones now',
      freeMb: 1000,
      engines: [engine('idle', { lastActivityAt: 1, heldMb: holds(1000) }), engine('busy', { busy: 2, heldMb: holds(4000) })],
      kind: 'wait', blockers: ['busy'],
    },
    {
      name: 'a starting engine holds its promise: wait',
      freeMb: 5000,
      engines: [engine('loading', { state: 'starting', reservedMb: holds(3000), heldMb: holds(1000) })],
      kind: 'wait', blockers: ['loading'],
    },
    {
      name: 'a stopping engine: wait until its memory is back',
      freeMb: 1000,
      engines: [engine('leaving', { state: 'stopping', heldMb: holds(4000) })],
      kind: 'wait', blockers: ['leaving'],
    },
    {
      name: 'even everything we run is not enough: fail',
      freeMb: 0,
      engines: [engine('busy', { busy: 1, heldMb: holds(1000) })],
      kind: 'none', reason: 'GPU: gpu0 needs 4000 MB, 0 MB free',
    },
    {
      name: 'stopped and failed engines hold nothing we count',
      freeMb: 1000,
      engines: [engine('gone', { state: 'stopped', heldMb: holds(4000) }), engine('dead', { state: 'failed', heldMb: holds(4000) })],
      kind: 'none',
    },
    { name: 'the model itself is not its own victim', freeMb: 1000, engines: [engine('new', { heldMb: holds(4000) })], kind: 'none' },
  ];

  it.each(rows)('$name', (row) => {
    const placement = planStart({ model: NEEDS_4000, devices: [card(row.freeMb)], engines: row.engines, headroomMb: 512, monitoringDisabled: false });
    expect(placement.kind).toBe(row.kind);
    if (row.victims) expect(placement.kind === 'evict' && placement.victims).toEqual(row.victims);
    if (row.blockers) expect(placement.kind === 'wait' && placement.blockers).toEqual(row.blockers);
    if (row.reason) expect(placement.skipped.map((s) => `${s.profile}: ${s.reason}`)).toEqual([row.reason]);
  });

  it('a later profile that fits now is taken before waiting on a busy engine', () => {
    const m = model('new', profile('GPU', ['gpu0'], { gpu0: 4000 }), profile('CPU', []));
    const placement = planStart({ model: m, devices: [card(1000)], engines: [engine('busy', { busy: 1, heldMb: holds(4000) })], headroomMb: 512, monitoringDisabled: false });
    expect(placement).toMatchObject({ kind: 'start', profile: { name: 'CPU' } });
  });

  it('an earlier profile that fits after stopping idle engines wins over a later one that fits now', () => {
    const m = model('new', profile('GPU', ['gpu0'], { gpu0: 4000 }), profile('CPU', []));
    const placement = planStart({ model: m, devices: [card(1000)], engines: [engine('idle', { heldMb: holds(4000) })], headroomMb: 512, monitoringDisabled: false });
    expect(placement).toMatchObject({ kind: 'evict', profile: { name: 'GPU' }, victims: ['idle'] });
  });

  it.each([
    ['one deficit, LRU order', { gpu0: 3000 }, [['x', 3, { gpu0: 5000 }], ['y', 1, { gpu0: 5000 }]], ['y']],
    ['deficits on two cards need an engine on each', { gpu0: 1000, gpu1: 1000 }, [['a', 1, { gpu0: 2000 }], ['b', 2, { gpu1: 2000 }], ['c', 3, { gpu0: 500 }]], ['a', 'b']],
    ['one engine spanning both cards suffices', { gpu0: 1000, gpu1: 1000 }, [['a', 1, { gpu0: 2000 }], ['b', 2, { gpu1: 2000 }], ['both', 3, { gpu0: 1000, gpu1: 1000 }]], ['both']],
    ['not enough at all', { gpu0: 9000 }, [['a', 1, { gpu0: 2000 }]], null],
    ['no deficit', {}, [['a', 1, { gpu0: 2000 }]], []],
  ] as const)('chooseVictims: %s', (_name, deficits, idle, expected) => {
    const engines = idle.map(([name, lastActivityAt, heldMb]) => ({ name, lastActivityAt, heldMb }));
    expect(chooseVictims(deficits, engines)).toEqual(expected);
  });
});

// ---- Disable_GPU_monitoring ------------------------------------------------------------------

describe('with GPU monitoring disabled', () => {
  it('nothing fits: the first profile whose devices are present starts anyway', () => {
    const placement = plan({ devices: [CPU, V100(1000, 0)], monitoringDisabled: true });
    expect(placement).toMatchObject({ kind: 'start', profile: { name: 'Single-GPU-Config' }, forced: true, forcedReason: 'v100 needs 24000 MB, 488 MB free' });
    expect(placement.skipped.map((s) => s.profile)).toEqual(['Dual-GPU-Config']);
  });

  it('idle engines are not stopped: the start is forced instead', () => {
    const placement = plan({ devices: [RTX(), V100(1000)], monitoringDisabled: true, engines: [engine('idle', { heldMb: { gpu1: 30000 } })] });
    expect(placement).toMatchObject({ kind: 'start', profile: { name: 'Dual-GPU-Config' }, forced: true });
  });

  it('a profile that fits is still preferred over forcing an earlier one', () => {
    const placement = plan({ devices: [RTX(100), V100(30000)], monitoringDisabled: true });
    expect(placement).toMatchObject({ kind: 'start', profile: { name: 'Single-GPU-Config' }, forced: false });
  });

  it('no profile has its devices: fail', () => {
    expect(plan({ devices: [CPU], monitoringDisabled: true }).kind).toBe('none');
  });
});

// ---- environment and accounting ----------------------------------------------------------------

describe('CUDA_VISIBLE_DEVICES', () => {
  const picksOf = (p: Placement) => ('picks' in p ? p.picks : []);
  it('names the chosen NVIDIA cards by nvidia-smi index, in claim order, with PCI bus ordering', () => {
    const placement = plan({ devices: [V100(32000, 0), gpu(1, 'NVIDIA GeForce RTX 4060 Ti', 16000, 16380)] });
    expect(cudaEnv(DUAL, picksOf(placement))).toEqual({ CUDA_VISIBLE_DEVICES: '1,0', CUDA_DEVICE_ORDER: 'PCI_BUS_ID' });
  });
  it("is left to the profile when its env sets it", () => {
    const own = profile('P', ['v100'], {}, { CUDA_VISIBLE_DEVICES: '3' });
    const placement = planStart({ model: model('M', own), devices: [V100()], engines: [], headroomMb: 512, monitoringDisabled: false });
    expect(cudaEnv(own, picksOf(placement))).toEqual({});
  });
  it('is not set for CPU-only or plugin devices', () => {
    expect(cudaEnv(profile('P', []), [])).toEqual({});
    const amd = { ...gpu(0, 'AMD Radeon', 20000), id: 'plugin:rocm:0', vendor: 'rocm' };
    const placement = planStart({ model: model('M', profile('P', ['radeon'])), devices: [amd], engines: [], headroomMb: 512, monitoringDisabled: false });
    expect(cudaEnv(profile('P', ['radeon']), picksOf(placement))).toEqual({});
  });
});

describe('engine accounting', () => {
  const holder = (model: string | null, usedMb: number, pid = 100): MemoryHolder => ({ model, pid, usedMb });
  const state = (holders: MemoryHolder[], known = true) => ({
    snapshot: { at: '', monitoringDisabled: false, devices: [gpu(0, 'V100', 10000, 32768, { holders })] },
    holdersKnown: new Set(known ? ['gpu0'] : []),
  });
  const sup = (currentState: EngineView['state']) => ({ name: 'm', currentState, busy: 0, lastActivityAt: 5 });

  it.each([
    ['ready, measured below its declaration: the rest stays reserved', 'ready', [holder('m', 3000), holder('m', 1000, 101), holder(null, 9000)], true, { gpu0: 8000 }, { gpu0: 4000 }, { gpu0: 4000 }],
    ['ready, measured above its declaration', 'ready', [holder('m', 9000)], true, { gpu0: 8000 }, { gpu0: 9000 }, {}],
    ['starting, part loaded: the rest stays reserved', 'starting', [holder('m', 3000)], true, { gpu0: 8000 }, { gpu0: 3000 }, { gpu0: 5000 }],
    ['starting, fully loaded', 'starting', [holder('m', 8500)], true, { gpu0: 8000 }, { gpu0: 8500 }, { gpu0: 0 }],
    ['per-process memory not reported: the declaration counts', 'ready', [], false, { gpu0: 8000 }, { gpu0: 8000 }, {}],
    ['stopped: nothing', 'stopped', [holder('m', 3000)], true, { gpu0: 8000 }, {}, {}],
  ] as const)('%s', (_name, currentState, holders, known, declared, held, reserved) => {
    const view = engineView(sup(currentState), state([...holders], known), declared);
    expect(view.heldMb).toEqual(held);
    expect(view.reservedMb).toEqual(reserved);
  });

  // A recent reading (not a new one) may have begun before the engine turned ready (at 1000).
  it.each([
    ['not reported, reading from before its readiness: the declaration is reserved, not in the card', 900, 1000, false, [], { gpu0: 0 }, { gpu0: 8000 }],
    ['not reported, reading from after its readiness: the card counts it', 1100, 1000, false, [], { gpu0: 8000 }, {}],
    ['reported, reading from before its readiness: what was measured, the rest reserved', 900, 1000, true, [holder('m', 3000)], { gpu0: 3000 }, { gpu0: 5000 }],
  ] as const)('%s', (_name, readingAt, readySince, known, holders, held, reserved) => {
    const view = engineView({ ...sup('ready'), readySince }, { ...state([...holders], known), at: readingAt }, { gpu0: 8000 });
    expect(view.heldMb).toEqual(held);
    expect(view.reservedMb).toEqual(reserved);
  });
});

describe('program.memory_headroom_mb', () => {
  const parse = (program: string) => parseConfigText(`program:\n${program}Local-Models: {}\n`, 'config.yaml');
  it.each([
    ['defaults to 512', '', 512],
    ['takes a number', '  memory_headroom_mb: 1024\n', 1024],
    ['0 turns it off', '  memory_headroom_mb: 0\n', 0],
  ])('%s', (_name, program, expected) => {
    const result = parse(program);
    expect(result.ok && result.config.program.memoryHeadroomMb).toBe(expected);
  });
  it('refuses a negative number, pointing at it', () => {
    const result = parse('  memory_headroom_mb: -5\n');
    expect(result.ok ? [] : result.errors.map((e) => formatIssue('config.yaml', e))).toEqual([
      'config.yaml:2:23 program.memory_headroom_mb: expected a number of megabytes ≥ 0, got -5',
    ]);
  });
});
