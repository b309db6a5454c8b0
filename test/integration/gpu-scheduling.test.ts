// GPU-aware scheduling through the real router, with real demo engines and a fake nvidia-smi whose
// cards and memory each test controls (engines started with a `--fake-vram=…` flag show up as
// using that memory while they run): the profile that fits is chosen and told its cards through
// CUDA_VISIBLE_DEVICES, idle engines make room least recently used first, a busy engine finishes
// its stream before it is stopped, a stopped engine's memory counts as free once it has exited (an
// engine that then meets a driver that frees late fails as any start), and Disable_GPU_monitoring
// forces a start.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import type { DevicesSnapshot } from '../../src-shared/contract.js';
import { RTX_4060_TI, V100 } from '../helpers/gpu-fake.js';
import { FAST_MONITOR as FAST, processEnv, startGpuNode, useFakeGpus } from '../helpers/gpu-node.js';
import { chat, jsonChunks, postJson, readJson, readSse, subscribeSse, waitFor } from '../helpers/http.js';

const fake = useFakeGpus();

const getDevices = async (url: string) => (await (await fetch(`${url}/api/devices`)).json()) as DevicesSnapshot;

/** The seed's model: both cards, or the V100 alone. */
function qwen(flags: { dual?: string[]; single?: string[] } = {}) {
  return {
    profiles: {
      'Dual-GPU-Config': { required_devices: ['rtx 4060', 'v100'], memory_mb: { 'rtx 4060': 8000, v100: 16000 }, flags: flags.dual ?? [] },
      'Single-GPU-Config': { required_devices: ['v100'], memory_mb: { v100: 24000 }, flags: flags.single ?? [] },
    },
  };
}

describe.skipIf(process.platform !== 'linux')('launch profile choice', () => {
  it('falls back to the single-GPU profile when the RTX 4060 is offline, and tells the engine its card', async () => {
    fake.set({ gpus: [V100, RTX_4060_TI] });
    const fx = await startGpuNode({ models: { qwen: qwen({ single: [fake.vram({ 0: 20000 })] }) }, deviceMonitor: FAST });
    // The node has seen both cards; then the RTX drops off the bus.
    expect((await getDevices(fx.url)).devices.filter((d) => d.kind === 'gpu').map((d) => d.name)).toEqual(['Tesla V100-SXM2-32GB', 'NVIDIA GeForce RTX 4060 Ti']);
    fake.set({ gpus: [V100] });
    // /api/devices answers from a reading up to one poll interval old.
    await waitFor(async () => (await getDevices(fx.url)).devices.find((d) => d.id === 'gpu1')?.online === false, 3000, 'the RTX to read offline');
    const rtx = (await getDevices(fx.url)).devices.find((d) => d.id === 'gpu1');
    expect(rtx).toMatchObject({ name: 'NVIDIA GeForce RTX 4060 Ti', offlineReason: 'no longer reported by nvidia-smi' });

    const res = await postJson(`${fx.url}/v1/chat/completions`, chat('qwen'));
    expect(res.status).toBe(200);
    const info = await fx.info('qwen');
    expect(info).toMatchObject({
      state: 'ready',
      profile: 'Single-GPU-Config',
      skippedProfiles: [{ profile: 'Dual-GPU-Config', reason: 'rtx 4060 offline (no longer reported by nvidia-smi)' }],
    });
    const env = processEnv(info.pid!);
    expect(env['CUDA_VISIBLE_DEVICES']).toBe('0');
    expect(env['CUDA_DEVICE_ORDER']).toBe('PCI_BUS_ID');

    // Its memory is attributed to it, on the device and in its info.
    const devices = await getDevices(fx.url);
    expect(devices.devices.find((d) => d.id === 'gpu0')!.holders).toEqual([{ model: 'qwen', pid: info.pid, usedMb: 20000 }]);
    expect((await fx.info('qwen')).vramMb).toBe(20000);

    // The card is back: the next start takes the dual profile, cards in the order it names them.
    await fx.node.api.stopModel('qwen');
    fake.set({ gpus: [V100, RTX_4060_TI] });
    await fx.node.api.startModel('qwen');
    const again = await fx.info('qwen');
    expect(again).toMatchObject({ profile: 'Dual-GPU-Config', skippedProfiles: [] });
    expect(processEnv(again.pid!)['CUDA_VISIBLE_DEVICES']).toBe('1,0');
  });

  it("keeps a profile's own CUDA_VISIBLE_DEVICES", async () => {
    fake.set({ gpus: [V100] });
    const fx = await startGpuNode({
      models: { pinned: { profiles: { Pinned: { required_devices: ['v100'], memory_mb: { v100: 1000 }, env: { CUDA_VISIBLE_DEVICES: 'GPU-8a1e0c5f-v100' } } } } },
      deviceMonitor: FAST,
    });
    await fx.node.api.startModel('pinned');
    expect(processEnv((await fx.info('pinned')).pid!)['CUDA_VISIBLE_DEVICES']).toBe('GPU-8a1e0c5f-v100');
  });

  it('answers 503 naming every profile and why it does not fit', async () => {
    fake.set({ gpus: [{ ...V100, usedMb: 32768 - 9120 - 512 }] });
    const fx = await startGpuNode({ models: { qwen: qwen() }, deviceMonitor: FAST });
    const res = await postJson(`${fx.url}/v1/chat/completions`, chat('qwen'));
    expect(res.status).toBe(503);
    const body = await readJson(res);
    expect(body.error.message).toContain(
      'no launch profile of qwen can start: Dual-GPU-Config: no device matches "rtx 4060"; Single-GPU-Config: v100 needs 24000 MB, 9120 MB free',
    );
    expect(await fx.info('qwen')).toMatchObject({
      state: 'failed',
      skippedProfiles: [
        { profile: 'Dual-GPU-Config', reason: 'no device matches "rtx 4060"' },
        { profile: 'Single-GPU-Config', reason: 'v100 needs 24000 MB, 9120 MB free' },
      ],
    });
  });

  it('memory_headroom_mb is configurable', async () => {
    fake.set({ gpus: [{ ...V100, usedMb: 32768 - 24000 }] });
    const fx = await startGpuNode({ program: { memory_headroom_mb: 0 }, models: { qwen: qwen() }, deviceMonitor: FAST });
    expect((await postJson(`${fx.url}/v1/chat/completions`, chat('qwen'))).status).toBe(200);
    expect((await fx.info('qwen')).profile).toBe('Single-GPU-Config');
  });
});

describe.skipIf(process.platform !== 'linux')('making room', () => {
  // One 10 GB card; every model needs 4000 MB of it.
  const CARD = { index: 0, name: 'NVIDIA GeForce RTX 3080', totalMb: 10240, uuid: 'GPU-3080' };
  const needs = (mb: number, flags: string[] = []) => ({ profiles: { GPU: { required_devices: ['gpu0'], memory_mb: { gpu0: mb }, flags: [fake.vram({ 0: mb }), ...flags] } } });

  it('stops the least recently used idle engine, only that one, and starts the new model', async () => {
    fake.set({ gpus: [CARD] });
    const fx = await startGpuNode({ models: { a: needs(4000), b: needs(4000), c: needs(4000) }, deviceMonitor: FAST });
    for (const model of ['a', 'b', 'a']) expect((await postJson(`${fx.url}/v1/chat/completions`, chat(model))).status).toBe(200);
    const aPid = (await fx.info('a')).pid;

    // 8000 MB in use, 2240 free: c fits only without b, which was used before a's last request.
    expect((await postJson(`${fx.url}/v1/chat/completions`, chat('c'))).status).toBe(200);
    const [a, b, c] = await Promise.all(['a', 'b', 'c'].map((m) => fx.info(m)));
    expect([a!.state, b!.state, c!.state]).toEqual(['ready', 'stopped', 'ready']);
    expect(a!.pid).toBe(aPid);
    expect(await fx.log('b')).toContain('stopping b: making room for c on gpu0');
    expect(await fx.log('c')).toContain('stopping idle b to make room on gpu0');
    const holders = (await getDevices(fx.url)).devices.find((d) => d.id === 'gpu0')!.holders.map((h) => h.model).sort();
    expect(holders).toEqual(['a', 'c']);
  });

  it("lets a busy engine's stream finish before stopping it, then starts the model that needed its memory", async () => {
    fake.set({ gpus: [CARD] });
    const fx = await startGpuNode({ models: { long: needs(6000, ['--stream-delay-ms', '40']), other: needs(6000) }, deviceMonitor: FAST });
    // 100 tokens 40 ms apart: long enough that other's request (a device reading through the fake
    // nvidia-smi, slow on a loaded machine) comes while it still streams.
    const streamRes = await postJson(`${fx.url}/v1/chat/completions`, chat('long', { stream: true, max_tokens: 100 }));
    expect(streamRes.status).toBe(200);
    const streamed = readSse(streamRes);
    await waitFor(async () => (await fx.info('long')).inFlight === 1, 5000, 'the stream to be in flight');

    // other needs long's memory; long is answering: other waits instead of cutting the stream.
    const otherAnswer = postJson(`${fx.url}/v1/chat/completions`, chat('other'));
    await waitFor(async () => (await fx.log('other')).includes('waiting for long to finish before GPU fits'), 5000, 'other to wait for long');
    expect((await fx.info('long')).state).toBe('ready');

    const stream = await streamed;
    expect(stream.error).toBeUndefined();
    expect(stream.events.at(-1)!.data).toBe('[DONE]');
    const chunks = jsonChunks(stream.events);
    expect(chunks.filter((c) => c.choices[0]?.delta.content).length).toBe(100);
    expect(chunks.at(-1).choices[0].finish_reason).toBe('length');

    const res = await otherAnswer;
    expect(res.status).toBe(200);
    expect((await fx.info('long')).state).toBe('stopped');
    expect((await fx.info('other')).state).toBe('ready');
    expect(await fx.log('long')).toContain('stopping long: making room for other on gpu0');
  });

  it('a start that needs memory a busy engine never gives back fails at its start timeout', async () => {
    fake.set({ gpus: [CARD] });
    const fx = await startGpuNode({
      models: { long: needs(6000, ['--stream-delay-ms', '50']), impatient: { ...needs(6000), startTimeout: '500ms' } },
      deviceMonitor: FAST,
    });
    const streamRes = await postJson(`${fx.url}/v1/chat/completions`, chat('long', { stream: true, max_tokens: 200 }));
    const ac = streamRes.body!.getReader();
    await waitFor(async () => (await fx.info('long')).inFlight === 1, 5000, 'the stream to be in flight');
    const res = await postJson(`${fx.url}/v1/chat/completions`, chat('impatient'));
    expect(res.status).toBe(503);
    expect((await readJson(res)).error.message).toMatch(/GPU: gpu0 needs 6000 MB, \d+ MB free \(long is answering requests\); gave up after waiting 500 ms \(start_timeout\)/);
    expect((await fx.info('long')).state).toBe('ready');
    await ac.cancel();
  });

  it("starts the next engine as soon as the stopped one has exited; when the driver frees its memory late, that start fails as any start, naming the out-of-memory line", async () => {
    fake.set({ gpus: [CARD], freeLagMs: 1500 });
    // Checks the card as a CUDA engine's allocation would, then runs the demo engine.
    const text = [
      '#!/bin/sh',
      'free=$(nvidia-smi --query-gpu=memory.free --format=csv,noheader,nounits | head -n 1 | tr -d " ")',
      'if [ "$free" -lt 6000 ]; then',
      '  echo "ggml_backend_cuda_buffer_type_alloc_buffer: allocating 6000.00 MiB on device 0: cudaMalloc failed: out of memory" >&2',
      '  exit 1',
      'fi',
      `exec "$NODE" "$ENGINE" --load-ms 100 ${fake.vram({ 0: 6000 })}`,
      '',
    ].join('\n');
    const fx = await startGpuNode({
      models: { a: needs(6000), b: { profiles: { GPU: { required_devices: ['gpu0'], memory_mb: { gpu0: 6000 }, script: { file: 'b.sh', text } } } } },
      deviceMonitor: FAST,
    });
    expect((await postJson(`${fx.url}/v1/chat/completions`, chat('a'))).status).toBe(200);

    const res = await postJson(`${fx.url}/v1/chat/completions`, chat('b'));
    expect(res.status).toBe(503);
    expect((await readJson(res)).error.message).toContain('cudaMalloc failed: out of memory');
    expect(await fx.log('b')).toContain('stopping idle a to make room on gpu0');
    const b = await fx.info('b');
    expect(b.state).toBe('failed');
    expect(b.lastError!.errorLines).toContain('ggml_backend_cuda_buffer_type_alloc_buffer: allocating 6000.00 MiB on device 0: cudaMalloc failed: out of memory');
    expect((await fx.info('a')).state).toBe('stopped');

    // Once the driver shows the memory free, b starts.
    const cardFree = () => Number(execFileSync('nvidia-smi', ['--query-gpu=memory.free', '--format=csv,noheader,nounits'], { encoding: 'utf8' }).trim());
    await waitFor(async () => cardFree() >= 6000, 10_000, 'the fake driver to free a\'s memory');
    expect((await postJson(`${fx.url}/v1/chat/completions`, chat('b'))).status).toBe(200);
  });
});

describe.skipIf(process.platform !== 'linux')('Disable_GPU_monitoring', () => {
  it('starts the first profile whose devices exist although it does not fit, and never polls', async () => {
    fake.set({ gpus: [{ ...V100, usedMb: 30000 }] });
    const fx = await startGpuNode({ program: { Disable_GPU_monitoring: true }, models: { qwen: qwen() }, deviceMonitor: FAST });
    const res = await postJson(`${fx.url}/v1/chat/completions`, chat('qwen'));
    expect(res.status).toBe(200);
    expect(await fx.info('qwen')).toMatchObject({ state: 'ready', profile: 'Single-GPU-Config', skippedProfiles: [{ profile: 'Dual-GPU-Config' }] });
    expect(await fx.log('qwen')).toContain(
      'GPU monitoring is disabled: starting Single-GPU-Config anyway (v100 needs 24000 MB, 2256 MB free)',
    );

    // A subscriber would keep a monitored node polling every 100 ms; this one stays quiet.
    const events = await subscribeSse(`${fx.url}/api/events`);
    const calls = fake.calls().length;
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(fake.calls().length).toBe(calls);
    expect(events.events.filter((e) => e.event === 'devices')).toEqual([]);
    await events.close();
    expect((await getDevices(fx.url)).monitoringDisabled).toBe(true);
  });
});

describe.skipIf(process.platform !== 'linux')('devices on the event stream', () => {
  it("publishes readings while someone listens, with a script's engine child counted as the model's", async () => {
    fake.set({ gpus: [V100] });
    const fx = await startGpuNode({
      models: {
        scripted: {
          profiles: {
            Script: {
              required_devices: ['v100'],
              memory_mb: { v100: 3000 },
              script: { file: 'run.sh', text: `#!/bin/bash\n"$NODE" "$ENGINE" --load-ms 100 ${fake.vram({ 0: 3000 })} &\necho "engine pid $!"\nwait\n` },
            },
          },
        },
      },
      deviceMonitor: FAST,
    });
    const events = await subscribeSse(`${fx.url}/api/events`);
    await events.next((e) => e.event === 'devices');
    expect((await postJson(`${fx.url}/v1/chat/completions`, chat('scripted'))).status).toBe(200);
    const leader = (await fx.info('scripted')).pid!;
    const enginePid = Number(/engine pid (\d+)/.exec((await fx.log('scripted')).join('\n'))![1]);
    expect(enginePid).not.toBe(leader);

    const from = events.events.length;
    const event = await events.next((e) => {
      if (e.event !== 'devices') return false;
      const snapshot = (JSON.parse(e.data) as { devices: DevicesSnapshot }).devices;
      return snapshot.devices.some((d) => d.holders.some((h) => h.model === 'scripted'));
    }, 5000, from);
    const gpu0 = (JSON.parse(event.data) as { devices: DevicesSnapshot }).devices.devices.find((d) => d.id === 'gpu0')!;
    expect(gpu0.holders).toEqual([{ model: 'scripted', pid: enginePid, usedMb: 3000 }]);
    expect(gpu0.memory).toMatchObject({ totalMb: 32768, usedMb: 3000, freeMb: 29768 });
    expect((await fx.info('scripted')).vramMb).toBe(3000);
    await events.close();
  });
});
