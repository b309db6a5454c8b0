// Models that stay and models that never run together (#16 item 5) through a real node, real demo
// engines and the fake nvidia-smi on one 10 GB card (512 MB headroom): keep is never made room
// from nor idle-stopped and the 503 says so, a resident comes back once the card is free (and after
// a hold), a running engine counts as max(declared, measured), and an exclusive group's mate is
// stopped — after its stream, never during it.
import { describe, expect, it } from 'vitest';
import { FAST_MONITOR as FAST, startGpuNode, useFakeGpus } from '../helpers/gpu-node.js';
import { chat, jsonChunks, postJson, readJson, readSse, waitFor } from '../helpers/http.js';

const fake = useFakeGpus();
const CARD = { index: 0, name: 'NVIDIA GeForce RTX 3080', totalMb: 10240, uuid: 'GPU-3080' };
/** A model declaring `declared` MB of gpu0 and (by the fake) holding `used` MB of it while it runs. */
const onCard = (declared: number, keys: Record<string, unknown> = {}, used = declared, flags: string[] = []) => ({
  keys,
  profiles: { GPU: { required_devices: ['gpu0'], memory_mb: { gpu0: declared }, flags: [fake.vram({ 0: used }), ...flags] } },
});
const ask = (url: string, model: string) => postJson(`${url}/v1/chat/completions`, chat(model));

describe.skipIf(process.platform !== 'linux')('keep', () => {
  it('is never the one stopped to make room, nor for idleness; when only it would make room, the 503 says so', async () => {
    fake.set({ gpus: [CARD] });
    const fx = await startGpuNode({
      models: { agent: { ...onCard(4000, { keep: true }), aliveTime: '1s' }, a: { ...onCard(4000), aliveTime: '1s' }, b: onCard(4000), big: onCard(7000) },
      deviceMonitor: FAST,
    });
    expect((await ask(fx.url, 'agent')).status).toBe(200);
    expect((await ask(fx.url, 'a')).status).toBe(200);
    expect((await fx.info('agent')).idleStopAt).toBeNull();
    // a was used last, agent first: still a is stopped for b, as agent stays.
    expect((await ask(fx.url, 'b')).status).toBe(200);
    expect((await fx.info('a')).state).toBe('stopped');
    expect((await fx.info('agent')).state).toBe('ready');

    // 7000 MB fit only without agent.
    const res = await ask(fx.url, 'big');
    expect(res.status).toBe(503);
    expect((await readJson(res)).error.message).toContain('GPU: gpu0 needs 7000 MB, 5728 MB free; it fits only if agent stopped, which has keep: true');
    expect((await fx.info('agent')).state).toBe('ready');
    expect((await fx.info('b')).state).toBe('ready');
  });

  it('outlives alive_time while a model without it is stopped for idleness', async () => {
    fake.set({ gpus: [CARD] });
    const fx = await startGpuNode({ models: { agent: { ...onCard(1000, { keep: true }), aliveTime: '1s' }, casual: { ...onCard(1000), aliveTime: '1s' } }, deviceMonitor: FAST });
    expect((await ask(fx.url, 'agent')).status).toBe(200);
    expect((await ask(fx.url, 'casual')).status).toBe(200);
    await waitFor(async () => (await fx.info('casual')).state === 'stopped', 10_000, 'casual to stop for idleness');
    expect(await fx.info('agent')).toMatchObject({ state: 'ready', idleStopAt: null });
  });
});

describe.skipIf(process.platform !== 'linux')('resident', () => {
  it('starts with the node, comes back once the card is free after being made room for, and after a hold', async () => {
    fake.set({ gpus: [CARD] });
    const fx = await startGpuNode({ models: { home: onCard(4000, { resident: true }), big: onCard(8000) }, deviceMonitor: FAST });
    await waitFor(async () => (await fx.info('home')).state === 'ready', 10_000, 'home to start with the node');
    const firstPid = (await fx.info('home')).pid;

    expect((await ask(fx.url, 'big')).status).toBe(200);
    expect((await fx.info('home')).state).toBe('stopped');
    expect(await fx.log('home')).toContain('stopping home: making room for big on gpu0');

    // While big runs, home does not fit and stays stopped; once big stops, it starts again by itself.
    await fx.node.api.stopModel('big');
    await waitFor(async () => (await fx.info('home')).state === 'ready', 10_000, 'home to come back');
    expect((await fx.info('home')).pid).not.toBe(firstPid);
    expect(fx.logs).toContain('info home is resident and its devices are free: starting it again');

    await fx.node.api.holdModels();
    expect((await fx.info('home')).state).toBe('stopped');
    await fx.node.api.releaseModels();
    await waitFor(async () => (await fx.info('home')).state === 'ready', 10_000, 'home to come back after the hold');
  });
});

describe.skipIf(process.platform !== 'linux')('declared against measured memory', () => {
  it('a running engine below its declaration counts as its declaration: the next start makes room instead of overcommitting', async () => {
    fake.set({ gpus: [CARD] });
    // Each declares 6000 MB but reads only 1000 so far (weights mapped lazily).
    const fx = await startGpuNode({ models: { first: onCard(6000, {}, 1000), second: onCard(6000, {}, 1000) }, deviceMonitor: FAST });
    expect((await ask(fx.url, 'first')).status).toBe(200);
    // 9240 MB read free: enough by the readings alone, not once first's 6000 are counted.
    expect((await ask(fx.url, 'second')).status).toBe(200);
    expect((await fx.info('first')).state).toBe('stopped');
    expect(await fx.log('second')).toContain('stopping idle first to make room on gpu0');
  });
});

describe.skipIf(process.platform !== 'linux')('exclusive_group', () => {
  it('starting one stops its idle mate, with memory to spare, and leaves other models alone', async () => {
    fake.set({ gpus: [CARD] });
    const group = { exclusive_group: 'big-gpu' };
    const fx = await startGpuNode({ models: { x: onCard(2000, group), y: onCard(2000, group), other: onCard(2000) }, deviceMonitor: FAST });
    expect((await ask(fx.url, 'x')).status).toBe(200);
    expect((await ask(fx.url, 'other')).status).toBe(200);
    expect((await ask(fx.url, 'y')).status).toBe(200);
    const states = await Promise.all(['x', 'y', 'other'].map(async (m) => (await fx.info(m)).state));
    expect(states).toEqual(['stopped', 'ready', 'ready']);
    expect(await fx.log('x')).toContain('stopping x: y of exclusive_group "big-gpu" is starting');
    expect((await fx.info('y')).exclusiveGroup).toBe('big-gpu');
  });

  it('holds for CPU models that claim no device, with GPU monitoring disabled', async () => {
    fake.set({ gpus: [CARD] });
    const cpu = { keys: { exclusive_group: 'cpu-heavy' }, profiles: { CPU: { required_devices: [] } } };
    const fx = await startGpuNode({ program: { Disable_GPU_monitoring: true }, models: { one: cpu, two: cpu }, deviceMonitor: FAST });
    expect((await ask(fx.url, 'one')).status).toBe(200);
    expect((await ask(fx.url, 'two')).status).toBe(200);
    expect([(await fx.info('one')).state, (await fx.info('two')).state]).toEqual(['stopped', 'ready']);
  });

  it("waits for a busy mate's stream to finish, then stops it", async () => {
    fake.set({ gpus: [CARD] });
    const group = { exclusive_group: 'big-gpu' };
    const fx = await startGpuNode({ models: { long: onCard(2000, group, 2000, ['--stream-delay-ms', '40']), next: onCard(2000, group) }, deviceMonitor: FAST });
    const streamRes = await postJson(`${fx.url}/v1/chat/completions`, chat('long', { stream: true, max_tokens: 60 }));
    expect(streamRes.status).toBe(200);
    const streamed = readSse(streamRes);
    await waitFor(async () => (await fx.info('long')).inFlight === 1, 5000, 'the stream to be in flight');

    const nextAnswer = ask(fx.url, 'next');
    await waitFor(async () => (await fx.log('next')).some((l) => l.startsWith('waiting for long to finish')), 5000, 'next to wait for long');
    expect((await fx.info('long')).state).toBe('ready');

    const stream = await streamed;
    expect(stream.error).toBeUndefined();
    expect(jsonChunks(stream.events).filter((c) => c.choices[0]?.delta.content).length).toBe(60);
    expect((await nextAnswer).status).toBe(200);
    expect((await fx.info('long')).state).toBe('stopped');
    expect((await fx.info('next')).state).toBe('ready');
  });
});
