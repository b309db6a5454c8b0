// Loading progress (#16 item 4) through a real node: an engine that loads as llama-server says it
// does (test/fixtures/loading-engine.mjs, one dot per percent up to what the test's gate file allows)
// shows its progress in ModelInfo.loading; a streaming client that opts in gets `: loading …` SSE
// comments while it waits, and the official openai client reads such a stream without error, and
// reads a failed start or an engine's error after the early head as an error; without an engine's
// word, the progress is estimated from the last start's time, remembered on disk.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { chat, postJson, waitFor } from '../helpers/http.js';
import { closeAllNodes, startNode, type NodeFixture } from '../helpers/node-fixture.js';

const gateDirs: string[] = [];
afterEach(async () => {
  await closeAllNodes();
  for (const dir of gateDirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

const LOADING_ENGINE = fileURLToPath(new URL('../fixtures/loading-engine.mjs', import.meta.url));

async function loadingNode(options: { flags?: string[]; keys?: Record<string, unknown>; program?: Record<string, unknown> } = {}): Promise<{ fx: NodeFixture; gate: (value: string) => void }> {
  const gateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'loading-gate-'));
  gateDirs.push(gateDir);
  const gatePath = path.join(gateDir, 'gate');
  fs.writeFileSync(gatePath, '0');
  const fx = await startNode({
    models: [{ name: 'qwen', profile: { command: process.execPath, args: [LOADING_ENGINE, '--gate', gatePath, ...(options.flags ?? [])] }, startTimeout: '60s', ...(options.keys ? { keys: options.keys } : {}) }],
    ...(options.program ? { program: options.program } : {}),
  });
  const gate = (value: string) => fs.writeFileSync(gatePath, value);
  return { fx, gate };
}

/** Reads a response body as text as it arrives. */
function collect(res: Response): { text: () => string; done: Promise<void> } {
  let text = '';
  const decoder = new TextDecoder();
  const reader = res.body!.getReader();
  const done = (async () => {
    for (;;) {
      const { done: end, value } = await reader.read();
      if (end) return;
      text += decoder.decode(value, { stream: true });
    }
  })();
  return { text: () => text, done };
}

const client = (fx: NodeFixture) => new OpenAI({ baseURL: `${fx.url}/v1`, apiKey: 'x', maxRetries: 0, timeout: 30_000 });

describe('loading progress from the engine', () => {
  it('shows the load dots as progress, and an opted-in stream gets SSE comments, then the answer', async () => {
    const { fx, gate } = await loadingNode();
    const res = await postJson(`${fx.url}/v1/chat/completions`, chat('qwen', { stream: true }), { headers: { 'X-LLM-Manager-Loading': 'stream' } });
    // The head comes before the engine is ready.
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    expect((await fx.info('qwen')).state).toBe('starting');
    const body = collect(res);

    gate('42');
    await waitFor(async () => Math.abs(((await fx.info('qwen')).loading?.fraction ?? 0) - (0.05 + (0.85 * 42) / 100)) < 1e-9, 10_000, 'the load to read 42 dots');
    expect((await fx.info('qwen')).loading).toMatchObject({ stage: 'loading weights', source: 'engine', expectedMs: null });
    await waitFor(() => body.text().includes(': loading qwen 40% (loading weights)\n\n'), 5000, 'the comment with 40 %');

    gate('ready');
    await body.done;
    const text = body.text();
    expect(text.startsWith(': loading qwen')).toBe(true);
    expect(text).toContain('"content":" loaded"');
    expect(text.trimEnd().endsWith('data: [DONE]')).toBe(true);
    const info = await fx.info('qwen');
    expect(info).toMatchObject({ state: 'ready', loading: null });
    // The start's time is remembered for the next start's estimate.
    await waitFor(() => rememberedStart(fx, 'qwen') !== null, 5000, 'start-times.json to name qwen');
  });

  it('the official openai client streams through the comments without error (program.loading_stream)', async () => {
    const { fx, gate } = await loadingNode({ program: { loading_stream: true } });
    const stream = await client(fx).chat.completions.create({ model: 'qwen', messages: [{ role: 'user', content: 'hi' }], stream: true });
    gate('30');
    await waitFor(async () => ((await fx.info('qwen')).loading?.fraction ?? 0) > 0.2, 10_000, 'progress');
    gate('ready');
    let content = '';
    for await (const chunk of stream) content += chunk.choices[0]?.delta.content ?? '';
    expect(content).toBe('Hello from the loaded model');
  });

  it('a start that fails after the head reaches the openai client as an error it reads', async () => {
    const { fx, gate } = await loadingNode({ flags: ['--fail-at-ready'], keys: { loading_stream: true } });
    const stream = await client(fx).chat.completions.create({ model: 'qwen', messages: [{ role: 'user', content: 'hi' }], stream: true });
    gate('ready');
    const read = (async () => {
      for await (const _chunk of stream) void _chunk;
    })();
    await expect(read).rejects.toThrow(/qwen exited before it was ready/);
    expect((await fx.info('qwen')).state).toBe('failed');
  });

  it("an engine's error answer after the head is the openai client's error", async () => {
    const { fx, gate } = await loadingNode({ flags: ['--answer-400'], keys: { loading_stream: true } });
    const stream = await client(fx).chat.completions.create({ model: 'qwen', messages: [{ role: 'user', content: 'hi' }], stream: true });
    gate('ready');
    const read = (async () => {
      for await (const _chunk of stream) void _chunk;
    })();
    await expect(read).rejects.toThrow(/the fixture refuses this request/);
  });

  it('without opting in, a waiting stream gets no comments, and a plain request none either way', async () => {
    const { fx, gate } = await loadingNode({ keys: { loading_stream: true } });
    const declined = postJson(`${fx.url}/v1/chat/completions`, chat('qwen', { stream: true }), { headers: { 'X-LLM-Manager-Loading': 'off' } });
    const plain = postJson(`${fx.url}/v1/chat/completions`, chat('qwen'));
    await waitFor(async () => (await fx.info('qwen')).inFlight === 2, 5000, 'both requests waiting');
    gate('ready');
    const declinedText = await (await declined).text();
    expect(declinedText.startsWith('data: ')).toBe(true);
    expect(declinedText).not.toContain(': loading');
    const plainRes = await plain;
    expect(plainRes.headers.get('content-type')).toContain('application/json');
    expect(((await plainRes.json()) as { choices: { message: { content: string } }[] }).choices[0]!.message.content).toBe('Hello from the loaded model');
  });
});

describe('loading progress estimated from the last start', () => {
  it("an engine that says nothing: elapsed against the last start's time, remembered on disk", async () => {
    const fx = await startNode({ models: [{ name: 'quiet', flags: ['--load-ms', '600', '--silent-ready', '--listen-when-ready'] }] });
    // First start: nothing to go by but the time.
    const first = fx.node.api.startModel('quiet');
    await waitFor(async () => (await fx.info('quiet')).state === 'starting', 5000, 'the first start');
    expect((await fx.info('quiet')).loading).toMatchObject({ fraction: null, source: null, expectedMs: null });
    await first;
    const took = fx.node.registry.resolve('quiet')!.counters.lastStartMs!;
    expect(took).toBeGreaterThan(0);
    await fx.node.api.stopModel('quiet');

    const second = fx.node.api.startModel('quiet');
    await waitFor(async () => (await fx.info('quiet')).state === 'starting', 5000, 'the second start');
    const loading = (await fx.info('quiet')).loading!;
    expect(loading).toMatchObject({ source: 'estimate', expectedMs: took });
    expect(loading.fraction).toBeGreaterThanOrEqual(0);
    expect(loading.fraction).toBeLessThan(1);
    await second;
    await waitFor(() => rememberedStart(fx, 'quiet') !== null, 5000, 'start-times.json to name quiet');
  });
});

function rememberedStart(fx: NodeFixture, model: string): number | null {
  try {
    const value = (JSON.parse(fs.readFileSync(path.join(fx.dir, 'logs', 'start-times.json'), 'utf8')) as Record<string, unknown>)[model];
    return typeof value === 'number' ? value : null;
  } catch {
    return null;
  }
}
