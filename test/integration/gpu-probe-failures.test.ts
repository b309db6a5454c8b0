// A broken nvidia-smi (hanging, printing garbage, failing, missing) and broken device plugins
// never crash the node or hold up the router: CPU models keep answering on /v1, /api/devices says
// why the GPUs are offline, a GPU model fails fast with that reason, and all recovers with the tool.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { DevicesSnapshot } from '../../src-shared/contract.js';
import { installFakeNvidiaSmi, V100, type FakeNvidiaSmi, type FakeState } from '../helpers/gpu-fake.js';
import { closeGpuNodes, startGpuNode, type GpuNode } from '../helpers/gpu-node.js';
import { chat, postJson, readJson, subscribeSse, waitFor } from '../helpers/http.js';

let fake: FakeNvidiaSmi;
beforeAll(() => {
  fake = installFakeNvidiaSmi();
});
afterAll(() => fake.restore());
afterEach(async () => {
  delete process.env['LLM_MANAGER_NVIDIA_SMI'];
  await closeGpuNodes();
});

// What the hanging fake is cut off after (its reason names it). The fakes that do answer get far
// longer: under a loaded test run, starting one (a node script) can take seconds, and a fake that
// fails must not be reported as one that hangs.
const PROBE_TIMEOUT_MS = 2000;
const ANSWERING_TIMEOUT_MS = 20_000;

const MODELS = {
  demo: { profiles: { 'CPU-Config': { required_devices: [] } } },
  big: { profiles: { 'GPU-Config': { required_devices: ['v100'], memory_mb: { v100: 1000 } } } },
};
const getDevices = async (fx: GpuNode) => {
  const res = await fetch(`${fx.url}/api/devices`);
  expect(res.status).toBe(200);
  return (await res.json()) as DevicesSnapshot;
};

async function startWithBrokenGpus(broken: FakeState | 'missing'): Promise<GpuNode> {
  if (broken === 'missing') {
    process.env['LLM_MANAGER_NVIDIA_SMI'] = path.join(os.tmpdir(), 'no-such-dir', 'nvidia-smi');
    fake.set({ gpus: [V100] });
  } else {
    fake.set({ gpus: [V100], ...broken });
  }
  const hangs = broken !== 'missing' && broken.mode === 'hang';
  return startGpuNode({ models: MODELS, deviceMonitor: { intervalMs: 100, timeoutMs: hangs ? PROBE_TIMEOUT_MS : ANSWERING_TIMEOUT_MS } });
}

describe.skipIf(process.platform === 'win32')('a broken nvidia-smi', () => {
  it.each([
    ['hangs', { mode: 'hang', appsMode: 'hang' } as FakeState, 'nvidia-smi did not answer within 2 s'],
    ['prints garbage', { mode: 'garbage', garbage: 'Segmentation fault\n' } as FakeState, 'unexpected nvidia-smi output: "Segmentation fault"'],
    ['fails', { mode: 'fail', exitCode: 255, stderr: 'Unable to determine the device handle for GPU0000:01:00.0: Unknown Error' } as FakeState, 'nvidia-smi failed (exit code 255): Unable to determine the device handle for GPU0000:01:00.0: Unknown Error'],
    ['is missing', 'missing' as const, 'nvidia-smi not found'],
  ])('%s: CPU models answer, GPUs read offline with the reason, a GPU model fails fast', async (_name, broken, reason) => {
    const fx = await startWithBrokenGpus(broken);
    // Someone watching keeps the poll loop running against the broken tool the whole time.
    const events = await subscribeSse(`${fx.url}/api/events`);

    for (let i = 0; i < 3; i++) {
      const res = await postJson(`${fx.url}/v1/chat/completions`, chat('demo'));
      expect(res.status).toBe(200);
      expect((await readJson(res)).choices[0].message.content).toContain('Echo:');
    }

    const devices = await getDevices(fx);
    expect(devices.devices.find((d) => d.kind === 'cpu')?.online).toBe(true);
    const nvidia = devices.devices.filter((d) => d.vendor === 'nvidia');
    expect(nvidia).toEqual([expect.objectContaining({ id: 'nvidia', online: false, offlineReason: reason })]);

    const res = await postJson(`${fx.url}/v1/chat/completions`, chat('big'));
    expect(res.status).toBe(503);
    expect((await readJson(res)).error.message).toContain(`GPU-Config: no device matches "v100" (NVIDIA GPU offline: ${reason})`);
    // Logged once, not every poll; a machine without NVIDIA's driver is no cause for a warning.
    const level = broken === 'missing' ? 'info' : 'warn';
    expect(fx.logs.filter((l) => /^\w+ nvidia-smi: /.test(l))).toEqual([`${level} nvidia-smi: ${reason}`]);

    // The tool recovers: the card appears and the GPU model starts.
    delete process.env['LLM_MANAGER_NVIDIA_SMI'];
    fake.set({ gpus: [V100] });
    await waitFor(async () => (await getDevices(fx)).devices.some((d) => d.id === 'gpu0' && d.online), 5000, 'the V100 to come online');
    expect((await postJson(`${fx.url}/v1/chat/completions`, chat('big'))).status).toBe(200);
    expect((await fx.info('big')).profile).toBe('GPU-Config');
    expect(events.events.some((e) => e.event === 'devices')).toBe(true);
    await events.close();
  });
});

describe.skipIf(process.platform === 'win32')('broken device plugins', () => {
  it('are logged and skipped; the node and its other devices carry on', async () => {
    fake.set({ gpus: [V100] });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'llm-manager-bad-plugins-'));
    try {
      fs.writeFileSync(path.join(dir, 'import-error.mjs'), 'throw new Error("cannot load");');
      fs.writeFileSync(path.join(dir, 'hang.mjs'), 'export const probe = () => new Promise(() => {});');
      fs.writeFileSync(path.join(dir, 'garbage.mjs'), 'export const probe = () => 42;');
      fs.writeFileSync(path.join(dir, 'npu.mjs'), "export const probe = () => [{ name: 'Acme NPU', memory: { totalMb: 8000, freeMb: 8000 } }];");
      const fx = await startGpuNode({
        program: { device_plugin_dir: dir },
        models: { ...MODELS, npu: { profiles: { NPU: { required_devices: ['acme npu'], memory_mb: { 'acme npu': 4000 } } } } },
        deviceMonitor: { intervalMs: 100, timeoutMs: PROBE_TIMEOUT_MS },
      });
      const devices = await getDevices(fx);
      expect(devices.devices.map((d) => d.id)).toEqual(['cpu', 'ram', 'gpu0', 'plugin:npu:0']);
      expect(fx.logs).toEqual(
        expect.arrayContaining([
          expect.stringMatching(/^warn device plugin .*import-error\.mjs skipped: cannot load$/),
          'warn device plugin hang: probe did not answer within 2 s',
          expect.stringMatching(/^warn device plugin garbage: probe returned something other than a list of devices/),
        ]),
      );
      for (const model of ['demo', 'big', 'npu']) expect((await postJson(`${fx.url}/v1/chat/completions`, chat(model))).status).toBe(200);
    } finally {
      await closeGpuNodes();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
