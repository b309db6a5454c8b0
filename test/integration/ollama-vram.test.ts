// The Devices page attributes Ollama's VRAM (#16 item 2): the card's process that holds a ready
// Ollama model (nvidia-smi: someone else's pid) is labelled with our model from Ollama's /api/ps,
// so the bar shows it as the model's, not "other processes"; table-driven for the attribution.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { DeviceReading } from '../../src-shared/contract.js';
import { attributeServedElsewhere } from '../../src-main/core/devices/served-elsewhere.js';
import { installFakeNvidiaSmi, type FakeNvidiaSmi } from '../helpers/gpu-fake.js';
import { closeAllNodes, startNode } from '../helpers/node-fixture.js';
import { FakeUpstream } from '../fixtures/fake-upstream.js';

const gpu = (id: string, holders: DeviceReading['holders']): DeviceReading =>
  ({ id, kind: 'gpu', name: id, online: true, index: Number(id.slice(3)), memory: { totalMb: 24_000, usedMb: 9000, freeMb: 15_000 }, holders }) as unknown as DeviceReading;

describe('attributing what a server holds for us', () => {
  it('relabels the unattributed process of the closest size, on the card with most unattributed memory', () => {
    const cards = [gpu('gpu0', [{ model: null, pid: 10, usedMb: 300 }]), gpu('gpu1', [{ model: 'local', pid: 20, usedMb: 2000 }, { model: null, pid: 30, usedMb: 4300 }, { model: null, pid: 31, usedMb: 900 }])];
    attributeServedElsewhere(cards, [{ model: 'qwen-o', usedMb: 4034 }]);
    expect(cards[0]!.holders).toEqual([{ model: null, pid: 10, usedMb: 300 }]);
    expect(cards[1]!.holders).toEqual([{ model: 'local', pid: 20, usedMb: 2000 }, { model: 'qwen-o', pid: 30, usedMb: 4300 }, { model: null, pid: 31, usedMb: 900 }]);
  });

  it('adds a holder of its own when no process is near its size (the card\'s other processes shrink by it)', () => {
    const cards = [gpu('gpu0', [{ model: null, pid: 10, usedMb: 9000 }])];
    attributeServedElsewhere(cards, [{ model: 'qwen-o', usedMb: 4000 }]);
    expect(cards[0]!.holders).toEqual([{ model: null, pid: 10, usedMb: 9000 }, { model: 'qwen-o', pid: 0, usedMb: 4000 }]);
  });

  it('never gives it more than the card\'s use that no model of ours accounts for', () => {
    const cards = [gpu('gpu0', [{ model: 'local', pid: 20, usedMb: 7000 }, { model: null, pid: 10, usedMb: 600 }])];
    attributeServedElsewhere(cards, [{ model: 'qwen-o', usedMb: 4000 }]);
    expect(cards[0]!.holders.at(-1)).toEqual({ model: 'qwen-o', pid: 0, usedMb: 2000 });
    const full = [gpu('gpu0', [{ model: 'local', pid: 20, usedMb: 9000 }])];
    attributeServedElsewhere(full, [{ model: 'qwen-o', usedMb: 4000 }]);
    expect(full[0]!.holders).toEqual([{ model: 'local', pid: 20, usedMb: 9000 }]);
  });
});

describe('a node with a ready Ollama model and a GPU', () => {
  let fake: FakeNvidiaSmi;
  let ollama: FakeUpstream;
  beforeAll(() => {
    fake = installFakeNvidiaSmi({ gpus: [{ index: 0, name: 'NVIDIA GeForce RTX 4090', totalMb: 24_564, usedMb: 4_700 }], apps: [{ gpu: 0, pid: 424_242, usedMb: 4_300 }] });
  });
  afterAll(() => fake.restore());
  afterEach(async () => {
    await closeAllNodes();
    await ollama?.stop();
  });

  it('shows the Ollama runner\'s memory as the model\'s on the Devices page and in its VRAM', async () => {
    ollama = await new FakeUpstream({ ollama: { 'qwen2.5:7b': 4_700_000_000 } }).start();
    const n = await startNode({
      models: [{ name: 'qwen-o', profile: { engine: 'ollama', model: 'qwen2.5:7b', base_url: ollama.origin } }],
      program: { Disable_GPU_monitoring: false },
      nodeOptions: { deviceMonitor: { intervalMs: 100, timeoutMs: 10_000 } },
    });
    await n.node.api.startModel('qwen-o');
    const deadline = Date.now() + 8000;
    let holders: DeviceReading['holders'] = [];
    while (Date.now() < deadline) {
      holders = (await n.node.api.getDevices()).devices.find((d) => d.id === 'gpu0')?.holders ?? [];
      if (holders.some((h) => h.model === 'qwen-o')) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(holders).toEqual([{ model: 'qwen-o', pid: 424_242, usedMb: 4_300 }]);
    expect((await n.node.api.listModels()).find((m) => m.name === 'qwen-o')!.vramMb).toBe(4_300);
  });
});
