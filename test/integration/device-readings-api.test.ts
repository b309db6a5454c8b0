// What a node tells clients about its devices beyond the latest reading, through the real router
// and a fake nvidia-smi: the last 10 minutes of readings (GET /api/devices/history), and engines
// on a Windows (WDDM) driver, which lists their processes but reports their memory as "[N/A]".
import { describe, expect, it } from 'vitest';
import type { DevicesHistory, DevicesSnapshot } from '../../src-shared/contract.js';
import { V100 } from '../helpers/gpu-fake.js';
import { FAST_MONITOR as FAST, startGpuNode, useFakeGpus } from '../helpers/gpu-node.js';
import { chat, postJson, waitFor } from '../helpers/http.js';

const fake = useFakeGpus();

const getJson = async <T>(url: string) => {
  const res = await fetch(url);
  expect(res.status).toBe(200);
  return (await res.json()) as T;
};
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('GET /api/devices/history', () => {
  it('returns the readings the node took while polling, oldest first, per device', async () => {
    const phase = (k: number) => fake.set({ gpus: [{ ...V100, usedMb: 1000 * k, utilization: 10 * k }] });
    phase(1);
    // Each GET /api/devices reads on demand; the node keeps at most one reading every 1.5 s.
    const fx = await startGpuNode({ models: {}, deviceMonitor: FAST });
    for (const k of [1, 2, 3]) {
      phase(k);
      await waitFor(async () => (await getJson<DevicesSnapshot>(`${fx.url}/api/devices`)).devices.find((d) => d.id === 'gpu0')?.memory?.usedMb === 1000 * k, 5000, `reading ${k}`);
      await sleep(1700);
    }

    const history = await getJson<DevicesHistory>(`${fx.url}/api/devices/history`);
    expect(history.at.length).toBeGreaterThanOrEqual(3);
    history.at.forEach((at, i) => i > 0 && expect(at - history.at[i - 1]!).toBeGreaterThanOrEqual(1500));
    const gpu = history.devices.find((d) => d.id === 'gpu0')!;
    const phases = gpu.memUsedMb.filter((mb, i) => mb !== gpu.memUsedMb[i - 1]);
    expect(phases).toEqual([1000, 2000, 3000]);
    expect(gpu.utilPct.filter((pct, i) => pct !== gpu.utilPct[i - 1])).toEqual([10, 20, 30]);
    expect(history.devices.map((d) => d.id)).toEqual(expect.arrayContaining(['cpu', 'ram', 'gpu0']));
    for (const d of history.devices) expect([d.memUsedMb.length, d.utilPct.length]).toEqual([history.at.length, history.at.length]);
    // The same through the ManagerApi the window's IPC uses (a newer reading may have been kept since).
    const viaApi = await fx.node.api.getDeviceHistory();
    expect(viaApi.at.slice(0, history.at.length)).toEqual(history.at);
  });
});

describe.skipIf(process.platform !== 'linux')('GET /metrics with GPUs', () => {
  it("has each GPU's memory, load, temperature and power, and the VRAM an engine holds", async () => {
    fake.set({ gpus: [{ ...V100, usedMb: 1000, utilization: 37 }] });
    const fx = await startGpuNode({
      models: { a: { profiles: { GPU: { required_devices: ['v100'], memory_mb: { v100: 3000 }, flags: [fake.vram({ 0: 3000 })] } } } },
      deviceMonitor: FAST,
    });
    await fx.node.api.startModel('a');
    await waitFor(async () => (await getJson<DevicesSnapshot>(`${fx.url}/api/devices`)).devices.find((d) => d.id === 'gpu0')?.holders.length === 1, 5000, 'the engine on the card');
    const text = await (await fetch(`${fx.url}/metrics`)).text();
    const gpu = `{device="gpu0",name="${V100.name}"}`;
    expect(text).toContain(`llm_manager_gpu_memory_total_bytes${gpu} ${32768 * 1024 * 1024}`);
    expect(text).toContain(`llm_manager_gpu_memory_used_bytes${gpu} ${4000 * 1024 * 1024}`);
    expect(text).toContain(`llm_manager_gpu_utilization_ratio${gpu} 0.37`);
    expect(text).toMatch(new RegExp(`llm_manager_gpu_temperature_celsius\\{device="gpu0",[^}]*\\} \\d+`));
    expect(text).toContain(`llm_manager_model_vram_bytes{model="a"} ${3000 * 1024 * 1024}`);
  });
});

describe.skipIf(process.platform !== 'linux')('a Windows (WDDM) driver: processes without their memory', () => {
  // One 10 GB card; every model declares 4000 MB of it and really uses that much.
  const CARD = { index: 0, name: 'NVIDIA GeForce RTX 3080', totalMb: 10240, uuid: 'GPU-3080' };
  const needs = (mb: number) => ({ profiles: { GPU: { required_devices: ['gpu0'], memory_mb: { gpu0: mb }, flags: [fake.vram({ 0: mb })] } } });

  it('lists the engine as a holder of unknown memory, with what its profile declared', async () => {
    fake.set({ gpus: [CARD], wddm: true });
    const fx = await startGpuNode({ models: { a: needs(4000) }, deviceMonitor: FAST });
    await fx.node.api.startModel('a');
    // A reading taken now (the engine runs), then the model's info from it.
    const gpu = (await getJson<DevicesSnapshot>(`${fx.url}/api/devices`)).devices.find((d) => d.id === 'gpu0')!;
    const info = await fx.info('a');
    expect(gpu.holders).toEqual([{ model: 'a', pid: info.pid, usedMb: null }]);
    expect(gpu.memory).toMatchObject({ usedMb: 4000, freeMb: 6240 });
    // Not "0 MB": unknown, and the declaration to show instead.
    expect(info).toMatchObject({ vramMb: null, declaredMemoryMb: { gpu0: 4000 } });

    await fx.node.api.stopModel('a');
    expect(await fx.info('a')).toMatchObject({ vramMb: null, declaredMemoryMb: null });
  });

  it('still makes room by what idle engines declared', async () => {
    fake.set({ gpus: [CARD], wddm: true });
    const fx = await startGpuNode({ models: { a: needs(4000), b: needs(4000), c: needs(4000) }, deviceMonitor: FAST });
    for (const model of ['a', 'b', 'a']) expect((await postJson(`${fx.url}/v1/chat/completions`, chat(model))).status).toBe(200);
    // 8000 MB in use, 2240 free, nothing measured per process: b's declared 4000 MB is what stopping it frees.
    expect((await postJson(`${fx.url}/v1/chat/completions`, chat('c'))).status).toBe(200);
    const states = await Promise.all(['a', 'b', 'c'].map(async (m) => (await fx.info(m)).state));
    expect(states).toEqual(['ready', 'stopped', 'ready']);
    expect(await fx.log('b')).toContain('stopping b: making room for c on gpu0');
  });
});
