// Upstream models (#16 items 1-2, 6): a profile that proxies to a server this node does not spawn,
// against local fake servers — routing, the model name and key, streaming, a server down (503 with
// why) and back, fall-through between profiles in file order, and Ollama's load/unload/ps/tags.
import { afterEach, describe, expect, it } from 'vitest';
import { closeAllNodes, startNode, type ModelSpec } from '../helpers/node-fixture.js';
import { freePort, refusedPorts } from '../helpers/ports.js';
import { FakeUpstream } from '../fixtures/fake-upstream.js';

const fakes: FakeUpstream[] = [];
const fake = async (options: ConstructorParameters<typeof FakeUpstream>[0] = {}) => {
  const server = await new FakeUpstream(options).start();
  fakes.push(server);
  return server;
};
afterEach(async () => {
  await closeAllNodes();
  await Promise.all(fakes.splice(0).map((f) => f.stop()));
});

const KEY = 'sk-upstream-secret-0123456789';
const chat = (url: string, model: string, extra: Record<string, unknown> = {}) =>
  fetch(`${url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }], ...extra }) });
const remoteModel = (name: string, profile: Record<string, unknown>, more: Partial<ModelSpec> = {}): ModelSpec => ({ name, profile: { required_devices: undefined, ...profile }, ...more });

async function until<T>(what: () => Promise<T>, ok: (value: T) => boolean, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await what();
    if (ok(value)) return value;
    if (Date.now() > deadline) throw new Error(`not so after ${timeoutMs} ms: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('an OpenAI-compatible upstream', () => {
  it('gets the request with its own model name and key; the answer streams through unchanged; the key is shown nowhere', async () => {
    const server = await fake({ apiKey: KEY, prefix: '/openai/v1' });
    const n = await startNode({ models: [remoteModel('remote', { upstream: { base_url: server.baseUrl, api_key: KEY, model: 'Qwen/Qwen2.5-7B-Instruct' } })] });

    const plain = await chat(n.url, 'remote');
    expect(plain.status).toBe(200);
    expect(((await plain.json()) as { choices: { message: { content: string } }[] }).choices[0]!.message.content).toBe('Hello from upstream');
    const sent = server.requests('/openai/v1/chat/completions')[0]!;
    expect(sent.body).toMatchObject({ model: 'Qwen/Qwen2.5-7B-Instruct', messages: [{ role: 'user', content: 'hi' }] });
    expect(sent.authorization).toBe(`Bearer ${KEY}`);

    const streamed = await chat(n.url, 'remote', { stream: true });
    expect(streamed.headers.get('content-type')).toContain('text/event-stream');
    const text = await streamed.text();
    const events = text.split('\n\n').filter(Boolean);
    expect(events.at(-1)).toBe('data: [DONE]');
    expect(events.slice(0, -1).map((e) => (JSON.parse(e.slice(6)) as { choices: { delta: { content: string } }[] }).choices[0]!.delta.content)).toEqual(['Hello', ' from', ' upstream']);

    const info = await n.info('remote');
    expect(info).toMatchObject({ state: 'ready', port: null, pid: null, profile: 'Test-Profile', upstream: { kind: 'openai', url: server.baseUrl } });
    const shown = [JSON.stringify(info), await (await fetch(`${n.url}/v1/models`)).text(), JSON.stringify(await n.node.api.modelLogs('remote', 500)), JSON.stringify(await n.node.api.listModels())];
    for (const s of shown) expect(s).not.toContain(KEY);
    expect(await n.spawnCount('remote')).toBe(0);
  });

  it('down: 503 saying why, and no crash-loop pause; back: the next request is answered', async () => {
    const server = await fake();
    const n = await startNode({ models: [remoteModel('remote', { upstream: { base_url: server.baseUrl } })] });
    expect((await chat(n.url, 'remote')).status).toBe(200);

    await server.stop();
    // A request to a server that went away fails; the model is then failed with the reason.
    await chat(n.url, 'remote').catch(() => undefined);
    const failed = await until(() => n.info('remote'), (i) => i.state === 'failed');
    expect(failed.lastError!.message).toMatch(new RegExp(`^the upstream ${server.baseUrl.replace(/[./]/g, '\\$&')} is not reachable: ECONNREFUSED`));
    const refused = await chat(n.url, 'remote');
    expect(refused.status).toBe(503);
    expect(((await refused.json()) as { error: { message: string } }).error.message).toContain('is not reachable: ECONNREFUSED');

    await server.start();
    const back = await chat(n.url, 'remote');
    expect(back.status).toBe(200);
    expect((await n.info('remote')).state).toBe('ready');
  });

  it('a key the server refuses is named as the reason, without the key', async () => {
    const server = await fake({ apiKey: KEY });
    const n = await startNode({ models: [remoteModel('remote', { upstream: { base_url: server.baseUrl, api_key: 'sk-wrong-0123456789' } })] });
    const res = await chat(n.url, 'remote');
    expect(res.status).toBe(503);
    const message = ((await res.json()) as { error: { message: string } }).error.message;
    expect(message).toBe(`the upstream ${server.baseUrl} refuses our key (GET /v1/models answered 401): check api_key`);
  });
});

describe('several profiles fall through in file order', () => {
  it('a remote first that is down: the local engine answers, and the remote is listed as skipped with why', async () => {
    const [deadPort] = await refusedPorts(1);
    const n = await startNode({ models: [{ name: 'qwen', keys: { Remote: { upstream: { base_url: `http://127.0.0.1:${deadPort}/v1` } } } }] });
    const res = await chat(n.url, 'qwen');
    expect(res.status).toBe(200);
    const info = await n.info('qwen');
    expect(info).toMatchObject({ state: 'ready', profile: 'Test-Profile', skippedProfiles: [{ profile: 'Remote', reason: `the upstream http://127.0.0.1:${deadPort}/v1 is not reachable: ECONNREFUSED` }] });
    expect(info.upstream).toBeUndefined();
    expect(info.pid).toBeGreaterThan(0);
  });

  it('a remote first that answers: no engine is spawned', async () => {
    const server = await fake();
    const n = await startNode({ models: [{ name: 'qwen', keys: { Remote: { upstream: { base_url: server.baseUrl } } } }] });
    expect((await chat(n.url, 'qwen')).status).toBe(200);
    expect(server.requests('/v1/chat/completions')).toHaveLength(1);
    expect(await n.spawnCount('qwen')).toBe(0);
  });

  it('a local profile first whose device is not here: the remote after it answers', async () => {
    const server = await fake();
    const n = await startNode({ models: [{ name: 'qwen', profile: { upstream: { base_url: server.baseUrl } }, keys: { Local: { required_devices: ['gpu7'], command: process.execPath, args: ['-e', 'setTimeout(() => {}, 60000)'] } } }] });
    expect((await chat(n.url, 'qwen')).status).toBe(200);
    const info = await n.info('qwen');
    expect(info).toMatchObject({ state: 'ready', profile: 'Test-Profile', upstream: { kind: 'openai' } });
    expect(info.skippedProfiles.map((s) => s.profile)).toEqual(['Local']);
    expect(await n.spawnCount('qwen')).toBe(0);
  });

  it('every profile down: one 503 naming each one and why', async () => {
    const [a, b] = await refusedPorts(2);
    const n = await startNode({ models: [{ name: 'qwen', profile: { upstream: { base_url: `http://127.0.0.1:${b}/v1` } }, keys: { First: { upstream: { base_url: `http://127.0.0.1:${a}/v1` } } } }] });
    const res = await chat(n.url, 'qwen');
    expect(res.status).toBe(503);
    expect(((await res.json()) as { error: { message: string } }).error.message).toBe(
      `no launch profile of qwen can start: First: the upstream http://127.0.0.1:${a}/v1 is not reachable: ECONNREFUSED; Test-Profile: the upstream http://127.0.0.1:${b}/v1 is not reachable: ECONNREFUSED`,
    );
  });
});

describe('engine: ollama', () => {
  const ollamaModel = (base: string, more: Record<string, unknown> = {}): ModelSpec => ({ name: 'qwen-o', profile: { engine: 'ollama', model: 'qwen2.5:7b', base_url: base, ...more } });

  it('a start loads the model (keep_alive, no prompt), requests go to its /v1 with its name, a stop unloads it; /api/ps gives its VRAM', async () => {
    const ollama = await fake({ ollama: { 'qwen2.5:7b': 4_700_000_000, 'llama3.2:latest': 2_000_000_000 } });
    const n = await startNode({ models: [ollamaModel(ollama.origin)] });
    const started = await n.node.api.startModel('qwen-o');
    expect(started).toMatchObject({ state: 'ready', upstream: { kind: 'ollama', url: ollama.origin } });
    expect(ollama.requests('/api/generate').map((r) => r.body)).toEqual([{ model: 'qwen2.5:7b', keep_alive: -1 }]);
    expect([...ollama.loaded.keys()]).toEqual(['qwen2.5:7b']);

    const res = await chat(n.url, 'qwen-o', { stream: true });
    expect(await res.text()).toContain('data: [DONE]');
    expect(ollama.requests('/v1/chat/completions')[0]!.body).toMatchObject({ model: 'qwen2.5:7b', stream: true });

    await n.node.api.stopModel('qwen-o');
    expect(ollama.requests('/api/generate').map((r) => r.body)).toEqual([{ model: 'qwen2.5:7b', keep_alive: -1 }, { model: 'qwen2.5:7b', keep_alive: 0 }]);
    expect(ollama.loaded.size).toBe(0);
  });

  it("the Add model page's list (GET /api/ollama/models): what Ollama has and which of ours use it; a deploy writes the entry and starts it", async () => {
    const ollama = await fake({ ollama: { 'qwen2.5:7b': 4_700_000_000, 'llama3.2:latest': 2_000_000_000 } });
    const n = await startNode({ models: [ollamaModel(ollama.origin)] });
    const listing = await (await fetch(`${n.url}/api/ollama/models`)).json();
    expect(listing).toEqual({
      baseUrl: ollama.origin,
      error: null,
      models: [
        { name: 'qwen2.5:7b', sizeBytes: 4_700_000_000, family: 'qwen2', parameterSize: '7.6B', quantization: 'Q4_K_M', usedBy: ['qwen-o'] },
        { name: 'llama3.2:latest', sizeBytes: 2_000_000_000, family: 'qwen2', parameterSize: '7.6B', quantization: 'Q4_K_M', usedBy: [] },
      ],
    });
    const preview = await n.node.api.previewDeploy({ name: 'llama', engine: 'ollama', model: 'llama3.2:latest', baseUrl: ollama.origin });
    expect(preview).toMatchObject({ ok: true, command: '', memoryMb: {}, estimate: null });
    expect(preview.entry).toBe(`llama:\n  mode: Chat\n  Ollama:\n    engine: ollama\n    model: llama3.2:latest\n    base_url: ${ollama.origin}\n`);
    const result = await n.node.api.deployModel({ name: 'llama', engine: 'ollama', model: 'llama3.2:latest', baseUrl: ollama.origin, start: true });
    expect(result.saved.ok).toBe(true);
    expect(result.model).toMatchObject({ name: 'llama', state: 'ready', upstream: { kind: 'ollama', url: ollama.origin } });
    expect(ollama.loaded.has('llama3.2:latest')).toBe(true);
  });

  it('the list says when Ollama is not running', async () => {
    const [port] = await refusedPorts(1);
    const n = await startNode({ models: [ollamaModel(`http://127.0.0.1:${port}`)] });
    expect(await n.node.api.listOllamaModels()).toEqual({ baseUrl: `http://127.0.0.1:${port}`, error: `Ollama is not running at http://127.0.0.1:${port} (ECONNREFUSED); start it with \`ollama serve\``, models: [] });
  });

  it('a stop while Ollama loads the model unloads it once loaded, so nothing stays loaded with nobody to stop it', async () => {
    const ollama = await fake({ ollama: { 'qwen2.5:7b': 1000 }, loadMs: 300 });
    const n = await startNode({ models: [ollamaModel(ollama.origin)] });
    const start = n.node.api.startModel('qwen-o').catch((err: Error) => err);
    await until(async () => ollama.requests('/api/generate').length, (count) => count === 1);
    await n.node.api.stopModel('qwen-o');
    expect(await start).toBeInstanceOf(Error);
    await until(async () => ollama.requests('/api/generate').map((r) => r.body?.['keep_alive']), (k) => k.join() === '-1,0');
    expect(ollama.loaded.size).toBe(0);
    expect((await n.info('qwen-o')).state).toBe('stopped');
  });

  it('keep_alive as configured', async () => {
    const ollama = await fake({ ollama: { 'qwen2.5:7b': 1000 } });
    const n = await startNode({ models: [ollamaModel(ollama.origin, { keep_alive: '30m' })] });
    await n.node.api.startModel('qwen-o');
    expect(ollama.loaded.get('qwen2.5:7b')).toBe('30m');
  });

  it('Ollama not running: the error says so and how to start it', async () => {
    const [port] = await refusedPorts(1);
    const n = await startNode({ models: [ollamaModel(`http://127.0.0.1:${port}`)] });
    const res = await chat(n.url, 'qwen-o');
    expect(res.status).toBe(503);
    expect(((await res.json()) as { error: { message: string } }).error.message).toBe(`Ollama is not running at http://127.0.0.1:${port} (ECONNREFUSED); start it with \`ollama serve\``);
  });

  it('a model Ollama does not have: how to pull it', async () => {
    const ollama = await fake({ ollama: { 'llama3.2:latest': 1000 } });
    const n = await startNode({ models: [ollamaModel(ollama.origin)] });
    await expect(n.node.api.startModel('qwen-o')).rejects.toThrow(`Ollama at ${ollama.origin} has no model "qwen2.5:7b"; pull it with \`ollama pull qwen2.5:7b\``);
  });
});
