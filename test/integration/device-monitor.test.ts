// The device monitor against a fake nvidia-smi (first on PATH; its answers come from a state file
// each test rewrites): cards coming and going, free memory changing, malformed output, a hang,
// a failing exit, a missing binary, and GPU processes attributed to our engines' process groups.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { DeviceReading, ModelInfo } from '../../src-shared/contract.js';
import { DeviceMonitor, modelMemory, vramOf, type DeviceMonitorOptions, type EngineProcess } from '../../src-main/core/devices/monitor.js';
import { runCommand, type RunCommand } from '../../src-main/core/devices/run-command.js';
import type { Logger } from '../../src-main/core/logger.js';
import { installFakeNvidiaSmi, RTX_4060_TI, V100, type FakeNvidiaSmi } from '../helpers/gpu-fake.js';
import { waitFor } from '../helpers/http.js';

// Long enough for the fake (a node script) to start on a busy machine; a hang still ends in time.
const HANG_TIMEOUT_MS = 2000;

let fake: FakeNvidiaSmi;
const monitors: DeviceMonitor[] = [];
const children: ChildProcess[] = [];

beforeAll(() => {
  fake = installFakeNvidiaSmi();
});
afterAll(() => fake.restore());
afterEach(() => {
  for (const m of monitors.splice(0)) m.close();
  for (const child of children.splice(0)) {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const at = (level: string) => (message: string) => lines.push(`${level} ${message}`);
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

function monitor(options: Partial<DeviceMonitorOptions> = {}, engines: EngineProcess[] = []): DeviceMonitor {
  const m = new DeviceMonitor({ logger: recordingLogger(), disabled: () => false, pluginDir: () => null, engines: () => engines, timeoutMs: 5000, ...options });
  monitors.push(m);
  return m;
}

const gpus = (devices: DeviceReading[]) => devices.filter((d) => d.kind === 'gpu');
const byId = (devices: DeviceReading[], id: string) => devices.find((d) => d.id === id);

describe('readings', () => {
  it('reads every card, maps [N/A] and [Not Supported] to null, and includes the CPU and RAM', async () => {
    fake.set({ gpus: [{ ...V100, usedMb: 1200, temperature: 51, fields: { 'power.draw': '[N/A]', 'utilization.gpu': '[Not Supported]' } }, RTX_4060_TI] });
    const { snapshot } = await monitor().read();
    const [v100, rtx] = gpus(snapshot.devices);
    expect(v100).toMatchObject({
      id: 'gpu0', kind: 'gpu', vendor: 'nvidia', index: 0, uuid: V100.uuid, name: 'Tesla V100-SXM2-32GB', online: true, offlineReason: null,
      memory: { totalMb: 32768, usedMb: 1200, freeMb: 31568 }, utilizationPct: null, temperatureC: 51, powerW: null, holders: [],
    });
    expect(rtx).toMatchObject({ id: 'gpu1', name: 'NVIDIA GeForce RTX 4060 Ti', online: true, memory: { freeMb: 16380 }, powerW: 50.5 });
    const cpu = byId(snapshot.devices, 'cpu')!;
    expect(cpu).toMatchObject({ kind: 'cpu', online: true });
    expect(cpu.name).toMatch(/cores/);
    const ram = byId(snapshot.devices, 'ram')!;
    expect(ram.memory!.totalMb).toBeGreaterThan(0);
    expect(ram.memory!.freeMb).toBeGreaterThan(0);
    expect(snapshot.monitoringDisabled).toBe(false);
  });

  it('follows free memory, and cards that appear, disappear and are renumbered', async () => {
    const m = monitor();
    fake.set({ gpus: [V100] });
    expect(gpus((await m.read()).snapshot.devices).map((d) => d.name)).toEqual(['Tesla V100-SXM2-32GB']);

    fake.set({ gpus: [{ ...V100, usedMb: 20000 }, RTX_4060_TI] });
    let devices = (await m.read()).snapshot.devices;
    expect(gpus(devices).map((d) => [d.id, d.online, d.memory?.freeMb])).toEqual([
      ['gpu0', true, 12768],
      ['gpu1', true, 16380],
    ]);

    // The V100 falls off the bus: it stays listed, offline, so a profile needing it says so.
    fake.set({ gpus: [RTX_4060_TI] });
    devices = (await m.read()).snapshot.devices;
    expect(byId(devices, 'gpu0')).toMatchObject({ name: 'Tesla V100-SXM2-32GB', online: false, offlineReason: 'no longer reported by nvidia-smi', memory: null });
    expect(byId(devices, 'gpu1')).toMatchObject({ online: true });

    // The remaining card is renumbered into the lost card's index: ids stay unique.
    fake.set({ gpus: [{ ...RTX_4060_TI, index: 0 }] });
    devices = (await m.read()).snapshot.devices;
    expect(byId(devices, 'gpu0')).toMatchObject({ name: 'NVIDIA GeForce RTX 4060 Ti', online: true });
    expect(byId(devices, `nvidia:${V100.uuid}`)).toMatchObject({ name: 'Tesla V100-SXM2-32GB', online: false });

    fake.set({ gpus: [V100, RTX_4060_TI] });
    devices = (await m.read()).snapshot.devices;
    expect(gpus(devices).map((d) => [d.id, d.name, d.online])).toEqual([
      ['gpu0', 'Tesla V100-SXM2-32GB', true],
      ['gpu1', 'NVIDIA GeForce RTX 4060 Ti', true],
    ]);
  });

  it('concurrent readers share one probe; one that needs a newer reading gets the next, shared too', async () => {
    fake.set({ gpus: [V100] });
    const m = monitor();
    let before = fake.calls().length;
    const [a, b, c] = await Promise.all([m.read(), m.read(5000), m.read(5000)]);
    expect(a).toBe(b);
    expect(b).toBe(c);
    expect(fake.calls().length - before).toBe(2); // one --query-gpu, one --query-compute-apps

    before = fake.calls().length;
    const first = m.read();
    const [x, y, z] = await Promise.all([first, m.read(), m.read()]);
    expect(y).not.toBe(x);
    expect(y).toBe(z);
    expect(y.at).toBeGreaterThanOrEqual(x.at);
    expect(fake.calls().length - before).toBe(4);
  });
});

describe('a broken nvidia-smi never throws and never blocks for longer than the time limit', () => {
  it.each([
    ['malformed output', { mode: 'garbage' as const, garbage: 'Failed to initialize NVML: Driver/library version mismatch\n' }, /unexpected nvidia-smi output: "Failed to initialize NVML/],
    ['a wrong number of columns', { mode: 'garbage' as const, garbage: '0, GPU-1, Tesla V100\n' }, /unexpected nvidia-smi output/],
    ['exit code 9', { mode: 'fail' as const, exitCode: 9, stderr: "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver." }, /^nvidia-smi failed \(exit code 9\): NVIDIA-SMI has failed/],
    ['a hang', { mode: 'hang' as const }, /^nvidia-smi did not answer within 2 s$/],
  ])('%s: known cards go offline with the reason, then come back', async (_name, broken, reason) => {
    const logger = recordingLogger();
    const m = monitor({ logger, timeoutMs: HANG_TIMEOUT_MS });
    fake.set({ gpus: [V100] });
    expect(byId((await m.read()).snapshot.devices, 'gpu0')!.online).toBe(true);

    fake.set({ gpus: [V100], ...broken });
    const { snapshot } = await m.read();
    const v100 = byId(snapshot.devices, 'gpu0')!;
    expect(v100).toMatchObject({ name: 'Tesla V100-SXM2-32GB', online: false, memory: null });
    expect(v100.offlineReason).toMatch(reason);
    expect(byId(snapshot.devices, 'cpu')!.online).toBe(true);
    // Logged once when it breaks, not on every reading.
    await m.read();
    expect(logger.lines.filter((l) => l.startsWith('warn nvidia-smi:'))).toHaveLength(1);

    fake.set({ gpus: [V100] });
    expect(byId((await m.read()).snapshot.devices, 'gpu0')!.online).toBe(true);
    expect(logger.lines).toContain('info nvidia-smi: working again');
  });

  it.skipIf(process.platform !== 'linux')('a hanging nvidia-smi is killed at the time limit', async () => {
    fake.set({ gpus: [V100], mode: 'hang', appsMode: 'hang' });
    await monitor({ timeoutMs: HANG_TIMEOUT_MS }).read();
    const ours = () =>
      fs.readdirSync('/proc').filter((pid) => {
        try {
          return /^\d+$/.test(pid) && fs.readFileSync(`/proc/${pid}/environ`, 'utf8').includes(`FAKE_NVIDIA_SMI_STATE=${fake.statePath}\0`) && fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('fake-nvidia-smi.mjs') && !fs.readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z');
        } catch {
          return false;
        }
      });
    await waitFor(() => ours().length === 0, 3000, 'the hung nvidia-smi processes to be gone');
  });

  it('a missing nvidia-smi: one offline NVIDIA entry that says why', async () => {
    const { snapshot } = await monitor({ nvidiaSmi: '/nonexistent/bin/nvidia-smi' }).read();
    expect(gpus(snapshot.devices)).toEqual([
      expect.objectContaining({ id: 'nvidia', vendor: 'nvidia', name: 'NVIDIA GPU', online: false, offlineReason: 'nvidia-smi not found' }),
    ]);
  });

  it('a failing process list leaves the cards online, with holders unknown', async () => {
    fake.set({ gpus: [V100], appsMode: 'fail' });
    const state = await monitor().read();
    expect(byId(state.snapshot.devices, 'gpu0')!.online).toBe(true);
    expect(state.holdersKnown.has('gpu0')).toBe(false);
  });
});

describe.skipIf(process.platform === 'win32')('GPU processes attributed to our engines', () => {
  /** A process group like an engine's: a shell (the leader) and its child, the "real" engine. */
  async function engineGroup(): Promise<{ leader: number; child: number }> {
    const shell = spawn('bash', ['-c', 'sleep 60 & echo $!; wait'], { detached: true, stdio: ['ignore', 'pipe', 'ignore'] });
    children.push(shell);
    const child = await new Promise<number>((resolve) => shell.stdout!.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim()))));
    return { leader: shell.pid!, child };
  }

  it("a script's child in the engine's process group counts as that engine; strangers count as nobody's", async () => {
    const qwen = await engineGroup();
    const other = await engineGroup();
    fake.set({
      gpus: [V100, RTX_4060_TI],
      apps: [
        { gpu: 0, pid: qwen.child, usedMb: 14000 },
        { gpu: 0, pid: qwen.leader, usedMb: 300 },
        { gpu: 1, pid: other.child, usedMb: 6000 },
        { gpu: 1, pid: 999_999, usedMb: 700 },
      ],
    });
    const state = await monitor({}, [
      { model: 'qwen', pid: qwen.leader },
      { model: 'llama', pid: other.leader },
    ]).read();
    expect(byId(state.snapshot.devices, 'gpu0')!.holders).toEqual([
      { model: 'qwen', pid: qwen.child, usedMb: 14000 },
      { model: 'qwen', pid: qwen.leader, usedMb: 300 },
    ]);
    expect(byId(state.snapshot.devices, 'gpu1')!.holders).toEqual([
      { model: 'llama', pid: other.child, usedMb: 6000 },
      { model: null, pid: 999_999, usedMb: 700 },
    ]);
    expect([...state.holdersKnown].sort()).toEqual(['gpu0', 'gpu1']);

    // A model's info takes its figure from a reading that began after its engine started; an older
    // one can't have seen it (unknown, not 0 MB).
    const info = (startedAt: number) => ({ name: 'qwen', state: 'ready', startedAt: new Date(startedAt).toISOString() }) as ModelInfo;
    expect(modelMemory(info(state.at - 1), state, undefined, state.doneAt, 10_000).vramMb).toBe(14300);
    expect(modelMemory(info(state.at + 1), state, undefined, state.doneAt, 10_000).vramMb).toBeNull();
    // Stopped: nothing, though the reading still lists its processes.
    expect(modelMemory({ ...info(state.at - 1), state: 'stopped' }, state, undefined, state.doneAt, 10_000).vramMb).toBeNull();
  });

  it('per-process memory "[N/A]" (Windows WDDM): holders listed with unknown memory, the card\'s total kept', async () => {
    const qwen = await engineGroup();
    fake.set({ gpus: [{ ...V100, usedMb: 9000 }], wddm: true, apps: [{ gpu: 0, pid: qwen.child, usedMb: 7900 }, { gpu: 0, pid: 999_999, usedMb: 300 }] });
    const state = await monitor({}, [{ model: 'qwen', pid: qwen.leader }]).read();
    const gpu = byId(state.snapshot.devices, 'gpu0')!;
    expect(gpu.holders).toEqual([
      { model: 'qwen', pid: qwen.child, usedMb: null },
      { model: null, pid: 999_999, usedMb: null },
    ]);
    expect(gpu.memory).toEqual({ totalMb: 32768, usedMb: 9000 + 7900 + 300, freeMb: 32768 - 17200 });
    expect(state.holdersKnown.has('gpu0')).toBe(false);
    expect(vramOf(state, 'qwen', state.doneAt, 10_000)).toBeNull();
  });
});

describe('system memory held by engines', () => {
  it("splits RAM by engine: a leader and the process it started count as that model's", async () => {
    fake.set({ gpus: [V100] });
    // A launch script's stand-in: a leader that starts a child holding ~64 MB.
    const leader = spawn(process.execPath, ['-e', "const c = require('child_process').spawn(process.execPath, ['-e', 'globalThis.b = Buffer.alloc(64 * 1024 * 1024, 1); console.log(process.pid); setInterval(() => {}, 1000)'], { stdio: ['ignore', 'inherit', 'ignore'] }); setInterval(() => {}, 1000)"], { detached: true, stdio: ['ignore', 'pipe', 'ignore'] });
    children.push(leader);
    await new Promise<void>((resolve) => leader.stdout!.once('data', () => resolve()));
    const state = await monitor({}, [{ model: 'qwen', pid: leader.pid! }]).read();
    const ram = byId(state.snapshot.devices, 'ram')!;
    expect(ram.holders).toHaveLength(1);
    expect(ram.holders[0]).toMatchObject({ model: 'qwen', pid: leader.pid });
    // Both node processes (~40 MB each) and the child's 64 MB buffer.
    expect(ram.holders[0]!.usedMb).toBeGreaterThan(64 + 40);
    expect(ram.holders[0]!.usedMb).toBeLessThan(ram.memory!.usedMb);
  });

  it('a probe of engine memory that fails leaves RAM unsplit and says so once', async () => {
    fake.set({ gpus: [V100] });
    const logger = recordingLogger();
    const m = monitor({ logger, engineMemory: async () => Promise.reject(new Error('ps: not found')) }, [{ model: 'a', pid: process.pid }]);
    expect(byId((await m.read()).snapshot.devices, 'ram')!.holders).toEqual([]);
    await m.read();
    expect(logger.lines.filter((l) => l.includes('engine memory'))).toEqual(['warn engine memory: ps: not found']);
  });
});

describe('the polling loop', () => {
  it('polls while watched, stops when released, and not at all with monitoring disabled', async () => {
    fake.set({ gpus: [V100] });
    let disabled = false;
    let demand = false;
    // Counted when the monitor runs nvidia-smi, not when the (slow to start) fake gets going.
    let runs = 0;
    const run: RunCommand = (file, args, timeoutMs) => {
      if (args[0]?.startsWith('--query-gpu')) runs++;
      return runCommand(file, args, timeoutMs);
    };
    const m = monitor({ intervalMs: 50, idleIntervalMs: 0, disabled: () => disabled, demand: () => demand, run });
    const readings: number[] = [];
    m.onReading((s) => readings.push(s.at));
    const quiet = async () => {
      const before = runs;
      await new Promise((r) => setTimeout(r, 400));
      return runs === before;
    };

    expect(await quiet()).toBe(true); // nobody watches: nothing runs

    const release = m.watch();
    await waitFor(() => readings.length >= 3, 10_000, 'three readings while watched');
    release();
    expect(await quiet()).toBe(true);

    // An event subscriber the monitor only learns about through `demand`.
    demand = true;
    const before = readings.length;
    await waitFor(() => readings.length >= before + 2, 10_000, 'readings while someone subscribes');

    disabled = true;
    const release2 = m.watch();
    await new Promise((r) => setTimeout(r, 100)); // a tick that was already probing may finish
    expect(await quiet()).toBe(true);
    release2();
  });

  it('reads now and then while nobody watches, so the last 10 minutes have no gaps; every poll while watched', async () => {
    fake.set({ gpus: [V100] });
    const made = Date.now();
    const m = monitor({ intervalMs: 50, idleIntervalMs: 400 });
    const readings: number[] = [];
    m.onReading((s) => readings.push(s.at));
    await waitFor(() => readings.length >= 3, 10_000, 'three readings while nobody watches');
    const gaps = readings.slice(1).map((at, i) => at - readings[i]!);
    for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(370);
    // The first one came an idle interval after the monitor was made, not at once.
    expect(readings[0]! - made).toBeGreaterThanOrEqual(370);
    const release = m.watch();
    const before = readings.length;
    await waitFor(() => readings.length >= before + 4, 10_000, 'readings while watched');
    release();
    const fast = readings.slice(before).map((at, i) => at - readings[before + i - 1]!);
    expect(Math.min(...fast)).toBeLessThan(300);
  });
});
