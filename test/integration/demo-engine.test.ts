// Integration tests for scripts/demo-engine.mjs: real processes on free ports, plus the
// official openai client against them to prove the responses are OpenAI-compatible.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

const SCRIPT = fileURLToPath(new URL('../../scripts/demo-engine.mjs', import.meta.url));
const LOADING_BODY = { error: { code: 503, message: 'Loading model', type: 'unavailable_error' } };
// Env vars the engine reads; cleared so the caller's environment cannot leak into a test.
const ENGINE_ENV_KEYS = ['PORT', 'LLM_PORT', 'MODEL_NAME', 'DEMO_HOST', 'DEMO_LOAD_MS', 'DEMO_TPS', 'DEMO_STREAM_DELAY_MS',
  'DEMO_MAX_TOKENS_DEFAULT', 'DEMO_EMBEDDING_DIM', 'DEMO_CRASH_AFTER', 'DEMO_EXIT_BEFORE_READY', 'DEMO_IGNORE_SIGTERM', 'DEMO_QUIET', 'DEMO_ECHO', 'DEMO_SILENT_READY', 'DEMO_LISTEN_WHEN_READY'];

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

interface Engine {
  child: ChildProcess;
  port: number;
  url: string;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<Exit>;
}

interface StartOptions {
  env?: Record<string, string>;
  /** Port to pass as --port; false to pass none (the engine then reads PORT / LLM_PORT). */
  portFlag?: number | false;
  /** Port the engine is expected to listen on when portFlag is false. */
  expectPort?: number;
}

interface SseRead {
  events: string[];
  times: number[];
  error?: unknown;
}

const running = new Set<Engine>();

async function freePort(): Promise<number> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function engineEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const key of ENGINE_ENV_KEYS) delete env[key];
  return { ...env, ...extra };
}

async function startEngine(args: string[], options: StartOptions = {}): Promise<Engine> {
  const port = options.portFlag === false ? (options.expectPort ?? 8081) : (options.portFlag ?? (await freePort()));
  const portArgs = options.portFlag === false ? [] : ['--port', String(port)];
  const child = spawn(process.execPath, [SCRIPT, ...portArgs, ...args], {
    env: engineEnv(options.env ?? {}),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (err += chunk.toString()));
  // 'close' rather than 'exit': it waits for stdio to drain, so stdout()/stderr() are complete.
  const exited = new Promise<Exit>((resolve) => child.once('close', (code, signal) => resolve({ code, signal })));
  const engine: Engine = { child, port, url: `http://127.0.0.1:${port}`, stdout: () => out, stderr: () => err, exited };
  running.add(engine);
  void exited.then(() => running.delete(engine));
  return engine;
}

async function stopAll(): Promise<void> {
  const engines = [...running];
  for (const engine of engines) engine.child.kill('SIGKILL');
  await Promise.all(engines.map((engine) => engine.exited));
}

function isRunning(engine: Engine): boolean {
  return engine.child.exitCode === null && engine.child.signalCode === null;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function waitFor(condition: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out waiting for condition');
    await sleep(10);
  }
}

/** GET /health; undefined while nothing listens yet. */
async function healthStatus(engine: Engine): Promise<{ status: number; body: unknown } | undefined> {
  try {
    const res = await fetch(`${engine.url}/health`);
    return { status: res.status, body: await readJson(res) };
  } catch {
    return undefined;
  }
}

async function waitHealthy(engine: Engine, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!isRunning(engine)) throw new Error(`engine exited before ready: ${engine.stderr()}`);
    if ((await healthStatus(engine))?.status === 200) return;
    if (Date.now() > deadline) throw new Error('engine not healthy in time');
    await sleep(15);
  }
}

async function postJson(engine: Engine, path: string, body: unknown, signal?: AbortSignal): Promise<Response> {
  return fetch(`${engine.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: signal ?? null,
  });
}

/** Reads an SSE body event by event, stamping each `data:` payload with its arrival time. */
async function readSse(res: Response, stopAfter = Infinity): Promise<SseRead> {
  if (!res.body) throw new Error('response has no body');
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  const read: SseRead = { events: [], times: [] };
  let buffer = '';
  try {
    while (read.events.length < stopAfter) {
      const { done, value } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      for (let end = buffer.indexOf('\n\n'); end !== -1; end = buffer.indexOf('\n\n')) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        if (block.startsWith('data: ')) {
          read.events.push(block.slice('data: '.length));
          read.times.push(performance.now());
        }
      }
    }
  } catch (error) {
    read.error = error;
  }
  return read;
}

// Assertions probe arbitrary response shapes, so JSON bodies are typed loosely on purpose.
async function readJson(res: Response): Promise<any> {
  return res.json();
}

function parsedChunks(events: string[]): Array<Record<string, any>> {
  return events.filter((event) => event !== '[DONE]').map((event) => JSON.parse(event) as Record<string, any>);
}

function decodeFloat32(base64: string): number[] {
  const bytes = Buffer.from(base64, 'base64');
  return Array.from({ length: bytes.length / 4 }, (_, i) => bytes.readFloatLE(i * 4));
}

const chatBody = (extra: Record<string, unknown> = {}) => ({
  model: 'demo',
  messages: [
    { role: 'system', content: 'be brief' },
    { role: 'user', content: 'hello there big wide world of tests' },
  ],
  ...extra,
});

describe('demo-engine endpoints', () => {
  let engine: Engine;
  let client: OpenAI;

  beforeAll(async () => {
    engine = await startEngine(['--load-ms', '100', '--stream-delay-ms', '50', '--model', 'demo-model']);
    await waitHealthy(engine);
    client = new OpenAI({ baseURL: `${engine.url}/v1`, apiKey: 'unused', maxRetries: 0 });
  });

  afterAll(stopAll);

  it('logs loading and listening lines like llama-server', () => {
    expect(engine.stdout()).toContain('demo-engine: loading model demo-model (100 ms)');
    expect(engine.stdout()).toContain(`demo-engine: server is listening on http://127.0.0.1:${engine.port}`);
  });

  it('lists the model on /v1/models', async () => {
    const res = await fetch(`${engine.url}/v1/models`);
    expect(res.headers.get('content-type')).toContain('application/json');
    const body = await readJson(res);
    expect(body).toEqual({
      object: 'list',
      data: [{ id: 'demo-model', object: 'model', created: expect.any(Number), owned_by: 'demo' }],
    });
  });

  it('answers a non-stream chat with content and usage', async () => {
    const res = await postJson(engine, '/v1/chat/completions', chatBody({ max_tokens: 10 }));
    expect(res.status).toBe(200);
    const body = await readJson(res);
    expect(body).toMatchObject({ object: 'chat.completion', model: 'demo-model', choices: [{ index: 0, finish_reason: 'length' }] });
    expect(body.id).toMatch(/^chatcmpl-/);
    expect(body.choices[0].message).toEqual({
      role: 'assistant',
      content: 'Echo: hello there big wide world token1 token2 token3 token4 ',
    });
    expect(body.usage).toEqual({ prompt_tokens: 9, completion_tokens: 10, total_tokens: 19 });
    await waitFor(() => engine.stdout().includes('demo-engine: POST /v1/chat/completions 200'));
  });

  it('generates --max-tokens-default tokens and finish_reason "stop" without max_tokens', async () => {
    const body = await readJson(await postJson(engine, '/v1/chat/completions', chatBody()));
    expect(body.usage.completion_tokens).toBe(16);
    expect(body.choices[0].finish_reason).toBe('stop');
  });

  it('streams chat chunks spaced in time, then [DONE]', async () => {
    const res = await postJson(engine, '/v1/chat/completions', chatBody({ max_tokens: 6, stream: true, stream_options: { include_usage: true } }));
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const { events, times, error } = await readSse(res);
    expect(error).toBeUndefined();
    expect(events.at(-1)).toBe('[DONE]');
    const chunks = parsedChunks(events);
    // role chunk + 6 tokens + finish chunk + usage chunk
    expect(chunks).toHaveLength(9);
    expect(chunks[0]?.choices[0]).toMatchObject({ delta: { role: 'assistant', content: '' }, finish_reason: null });
    const tokens = chunks.slice(1, 7).map((chunk) => chunk.choices[0].delta.content as string);
    expect(tokens.join('')).toBe('Echo: hello there big wide world ');
    expect(chunks[7]?.choices[0]).toMatchObject({ delta: {}, finish_reason: 'length' });
    expect(chunks[8]).toMatchObject({ object: 'chat.completion.chunk', choices: [], usage: { completion_tokens: 6 } });
    // 6 tokens 50 ms apart: the first token must arrive ~250 ms before the last one.
    const firstToken = times[1] ?? 0;
    const lastToken = times[6] ?? 0;
    expect(lastToken - firstToken).toBeGreaterThan(180);
    expect((times.at(-1) ?? 0) - (times[0] ?? 0)).toBeGreaterThan(200);
  });

  it('stops generating when the client disconnects mid-stream', async () => {
    const controller = new AbortController();
    const res = await postJson(engine, '/v1/chat/completions', chatBody({ max_tokens: 200, stream: true }), controller.signal);
    const { events } = await readSse(res, 2);
    expect(events).toHaveLength(2);
    controller.abort();
    await waitFor(() => engine.stdout().includes('POST /v1/chat/completions 200 (aborted)'));
    expect((await healthStatus(engine))?.status).toBe(200);
  });

  it('answers text completions for string and array prompts, stream and non-stream alike', async () => {
    const single = await readJson(await postJson(engine, '/v1/completions', { prompt: 'once upon a time', max_tokens: 6 }));
    expect(single).toMatchObject({ object: 'text_completion', model: 'demo-model', usage: { prompt_tokens: 4, completion_tokens: 6 } });
    expect(single.choices).toEqual([{ index: 0, text: 'Echo: once upon a time token1 ', logprobs: null, finish_reason: 'length' }]);

    const batch = await readJson(await postJson(engine, '/v1/completions', { prompt: ['alpha', 'beta'], max_tokens: 2 }));
    expect(batch.choices.map((choice: { text: string }) => choice.text)).toEqual(['Echo: alpha ', 'Echo: beta ']);

    const res = await postJson(engine, '/v1/completions', { prompt: 'once upon a time', max_tokens: 6, stream: true });
    const { events } = await readSse(res);
    expect(events.at(-1)).toBe('[DONE]');
    const text = parsedChunks(events).map((chunk) => chunk.choices[0].text as string).join('');
    expect(text).toBe(single.choices[0].text);
  });

  it('returns deterministic unit-length embeddings as floats and as base64', async () => {
    const input = ['first text', 'second text'];
    const floats = await readJson(await postJson(engine, '/v1/embeddings', { input }));
    expect(floats).toMatchObject({ object: 'list', model: 'demo-model', usage: { prompt_tokens: 4, total_tokens: 4 } });
    expect(floats.data).toHaveLength(2);
    const [first, second] = floats.data as Array<{ object: string; index: number; embedding: number[] }>;
    expect(first).toMatchObject({ object: 'embedding', index: 0 });
    expect(first?.embedding).toHaveLength(8);
    expect(Math.hypot(...(first?.embedding ?? []))).toBeCloseTo(1, 5);
    expect(second?.embedding).not.toEqual(first?.embedding);

    const again = await readJson(await postJson(engine, '/v1/embeddings', { input: 'first text' }));
    expect(again.data[0].embedding).toEqual(first?.embedding);

    const base64 = await readJson(await postJson(engine, '/v1/embeddings', { input, encoding_format: 'base64' }));
    expect(typeof base64.data[0].embedding).toBe('string');
    expect(decodeFloat32(base64.data[0].embedding)).toEqual(first?.embedding);

    const tokens = await readJson(await postJson(engine, '/v1/embeddings', { input: [[1, 2, 3], [4, 5]] }));
    expect(tokens.data).toHaveLength(2);
    expect(tokens.usage.prompt_tokens).toBe(5);
  });

  it.each(['/v1/rerank', '/rerank', '/v1/reranking'])('reranks Cohere-style {text} documents on %s', async (path) => {
    const res = await postJson(engine, path, {
      model: 'demo-model',
      query: 'red apple pie',
      documents: [{ text: 'a green pear' }, 'red apple pie', { text: 'an apple a day' }, 'Red apples'],
      top_n: 2,
      return_documents: true,
    });
    expect(res.status).toBe(200);
    const body = await readJson(res);
    expect(body).toMatchObject({ model: 'demo-model', object: 'list', usage: { prompt_tokens: expect.any(Number) } });
    expect(body.results).toEqual([
      { index: 1, relevance_score: 1, document: { text: 'red apple pie' } },
      // Jaccard of {red, apple, pie} and {red, apples}: 1 shared word out of 4.
      { index: 3, relevance_score: 0.25, document: { text: 'Red apples' } },
    ]);
  });

  it('omits documents from rerank results unless asked and returns every document without top_n', async () => {
    const body = await readJson(await postJson(engine, '/v1/rerank', { query: 'x y', documents: ['y', 'x y', 'z'] }));
    expect(body.results.map((result: { index: number }) => result.index)).toEqual([1, 0, 2]);
    expect(body.results[0]).not.toHaveProperty('document');
  });

  it('answers bad JSON with 400 and unknown paths with 404 in the OpenAI error shape', async () => {
    const bad = await fetch(`${engine.url}/v1/chat/completions`, { method: 'POST', body: '{not json' });
    expect(bad.status).toBe(400);
    expect(await readJson(bad)).toEqual({ error: { code: 400, message: expect.any(String), type: 'invalid_request_error' } });
    const missing = await fetch(`${engine.url}/v1/nothing-here`);
    expect(missing.status).toBe(404);
    expect(await readJson(missing)).toEqual({ error: { code: 404, message: expect.any(String), type: expect.any(String) } });
  });

  it('works with the official openai client: chat', async () => {
    const completion = await client.chat.completions.create({
      model: 'demo-model',
      messages: [{ role: 'user', content: 'ping from openai' }],
      max_tokens: 5,
    });
    expect(completion.choices[0]?.message.content).toBe('Echo: ping from openai token1 ');
    expect(completion.usage?.total_tokens).toBe(8);
  });

  it('works with the official openai client: streaming chat', async () => {
    const stream = await client.chat.completions.create({
      model: 'demo-model',
      messages: [{ role: 'user', content: 'stream please' }],
      max_tokens: 4,
      stream: true,
      stream_options: { include_usage: true },
    });
    let content = '';
    let completionTokens: number | undefined;
    for await (const chunk of stream) {
      content += chunk.choices[0]?.delta.content ?? '';
      completionTokens = chunk.usage?.completion_tokens ?? completionTokens;
    }
    expect(content).toBe('Echo: stream please token1 ');
    expect(completionTokens).toBe(4);
  });

  it('works with the official openai client: embeddings (base64 on the wire)', async () => {
    const response = await client.embeddings.create({ model: 'demo-model', input: ['first text', 'other'] });
    expect(response.data).toHaveLength(2);
    const raw = await readJson(await postJson(engine, '/v1/embeddings', { input: 'first text' }));
    expect(response.data[0]?.embedding).toEqual(raw.data[0].embedding);
  });
});

describe('demo-engine lifecycle', () => {
  afterEach(stopAll);

  it('answers 503 "Loading model" during load-ms, then 200', async () => {
    const spawnedAt = performance.now();
    const engine = await startEngine(['--load-ms', '400']);
    let first: Awaited<ReturnType<typeof healthStatus>>;
    while (!(first = await healthStatus(engine))) await sleep(10);
    expect(first).toEqual({ status: 503, body: LOADING_BODY });
    expect((await fetch(`${engine.url}/v1/models`)).status).toBe(503);
    expect((await postJson(engine, '/v1/chat/completions', chatBody())).status).toBe(503);

    await waitHealthy(engine);
    expect(performance.now() - spawnedAt).toBeGreaterThanOrEqual(400);
    expect(await healthStatus(engine)).toEqual({ status: 200, body: { status: 'ok' } });
  });

  it('--ready-file: goes on loading after load-ms until the file exists, then turns ready', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'demo-gate-'));
    const gate = path.join(dir, 'ready');
    const engine = await startEngine(['--load-ms', '0', '--ready-file', gate]);
    let first: Awaited<ReturnType<typeof healthStatus>>;
    while (!(first = await healthStatus(engine))) await sleep(10);
    // Loading, however long load-ms is over, until the file is there.
    for (let i = 0; i < 5; i++) expect(await healthStatus(engine)).toEqual({ status: 503, body: LOADING_BODY });
    expect(engine.stdout()).not.toMatch(/listening/);
    fs.writeFileSync(gate, '');
    await waitHealthy(engine);
    expect(engine.stdout()).toMatch(/server is listening on/);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('--exit-before-ready 7 exits with code 7 and never answers 200', async () => {
    const engine = await startEngine(['--load-ms', '200', '--exit-before-ready', '7']);
    const statuses: number[] = [];
    while (isRunning(engine)) {
      const health = await healthStatus(engine);
      if (health) statuses.push(health.status);
      await sleep(10);
    }
    expect(await engine.exited).toEqual({ code: 7, signal: null });
    expect(statuses).not.toContain(200);
    expect(engine.stderr()).toContain('error: failed to load model');
  });

  it('--crash-after 1: the second request kills the process with exit code 3', async () => {
    const engine = await startEngine(['--load-ms', '50', '--crash-after', '1']);
    await waitHealthy(engine);
    expect((await postJson(engine, '/v1/embeddings', { input: 'survives' })).status).toBe(200);
    await expect(postJson(engine, '/v1/chat/completions', chatBody())).rejects.toThrow();
    expect(await engine.exited).toEqual({ code: 3, signal: null });
  });

  it('--crash-after 1: a streaming request gets a few chunks, then the engine dies mid-stream', async () => {
    const engine = await startEngine(['--load-ms', '50', '--crash-after', '1', '--stream-delay-ms', '30']);
    await waitHealthy(engine);
    expect((await postJson(engine, '/v1/chat/completions', chatBody({ max_tokens: 2 }))).status).toBe(200);
    const res = await postJson(engine, '/v1/chat/completions', chatBody({ max_tokens: 20, stream: true }));
    expect(res.status).toBe(200);
    const { events } = await readSse(res);
    expect(events.length).toBeGreaterThanOrEqual(1);
    expect(events.length).toBeLessThan(4);
    expect(events).not.toContain('[DONE]');
    expect(await engine.exited).toEqual({ code: 3, signal: null });
  });

  it('--ignore-sigterm survives SIGTERM and only SIGKILL stops it', async () => {
    const engine = await startEngine(['--load-ms', '50', '--ignore-sigterm']);
    await waitHealthy(engine);
    engine.child.kill('SIGTERM');
    await waitFor(() => engine.stdout().includes('ignoring SIGTERM'));
    await sleep(100);
    expect(isRunning(engine)).toBe(true);
    expect((await healthStatus(engine))?.status).toBe(200);
    engine.child.kill('SIGKILL');
    expect(await engine.exited).toEqual({ code: null, signal: 'SIGKILL' });
  });

  it('exits 0 promptly on SIGTERM, even with a stream in flight', async () => {
    const engine = await startEngine(['--load-ms', '50', '--stream-delay-ms', '100']);
    await waitHealthy(engine);
    const res = await postJson(engine, '/v1/chat/completions', chatBody({ max_tokens: 100, stream: true }));
    const reading = readSse(res);
    const signalledAt = performance.now();
    engine.child.kill('SIGTERM');
    expect(await engine.exited).toEqual({ code: 0, signal: null });
    expect(performance.now() - signalledAt).toBeLessThan(1000);
    expect(engine.stdout()).toContain('shutting down');
    expect((await reading).events).not.toContain('[DONE]');
  });

  it('--echo answers with the message itself, whitespace and all, a word a token, up to max_tokens', async () => {
    const engine = await startEngine(['--load-ms', '0', '--echo', '--tokens-per-second', '0']);
    await waitHealthy(engine);
    const text = '# Title\n\n```js\nconst a = 1;\n```\n';
    const chat = (extra: object) => postJson(engine, '/v1/chat/completions', { messages: [{ role: 'user', content: text }], ...extra });
    const whole = await readJson(await chat({}));
    expect(whole.choices[0]).toMatchObject({ message: { content: text }, finish_reason: 'stop' });
    expect(whole.usage.completion_tokens).toBe(8);
    const streamed = parsedChunks((await readSse(await chat({ stream: true }))).events);
    expect(streamed.map((c) => c.choices?.[0]?.delta?.content ?? '').join('')).toBe(text);
    const cut = await readJson(await chat({ max_tokens: 2 }));
    expect(cut.choices[0]).toMatchObject({ message: { content: '# Title' }, finish_reason: 'length' });
  });

  it('--silent-ready --listen-when-ready: refuses connections while loading, binds when ready without a word, and --times-file has its start, ready, SIGTERM and exit moments', async () => {
    const timesFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'demo-times-')), 'times');
    const spawnedAt = Date.now();
    const engine = await startEngine(['--load-ms', '300', '--silent-ready', '--listen-when-ready', '--times-file', timesFile]);
    const statuses: (number | undefined)[] = [];
    for (;;) {
      const health = await healthStatus(engine);
      statuses.push(health?.status);
      if (health?.status === 200) break;
      await sleep(10);
    }
    const answeredAt = Date.now();
    expect(statuses).not.toContain(503);
    expect(statuses[0]).toBeUndefined();
    expect(engine.stdout()).toContain('loading model');
    expect(engine.stdout()).not.toMatch(/listening|ready/i);
    engine.child.kill('SIGTERM');
    expect(await engine.exited).toEqual({ code: 0, signal: null });
    const lines = fs.readFileSync(timesFile, 'utf8').trim().split('\n').map((l) => l.split(' '));
    // The probe that found it ready: its connection, and its 200 going out.
    // Its pid (not a moment: for the bench's exit watch) right after its start.
    expect(lines.map((l) => l[0])).toEqual(['start', 'pid', 'ready', 'ready-connection', 'ready-health', 'term', 'exit']);
    const [start, pid, ready, connection, health, term, exit] = lines.map((l) => Number(l[1]));
    expect(pid).toBe(engine.child.pid);
    expect(connection!).toBeGreaterThanOrEqual(ready!);
    expect(health!).toBeGreaterThanOrEqual(connection!);
    expect(start! - spawnedAt).toBeGreaterThanOrEqual(-50);
    expect(ready! - start!).toBeGreaterThanOrEqual(300);
    expect(ready!).toBeLessThanOrEqual(answeredAt + 1);
    expect(term!).toBeGreaterThan(answeredAt - 1);
    expect(exit!).toBeGreaterThanOrEqual(term!);
    fs.rmSync(path.dirname(timesFile), { recursive: true, force: true });
  });

  it('--silent-ready alone answers 503 while loading, like llama-server, but never says it is listening', async () => {
    const engine = await startEngine(['--load-ms', '100', '--silent-ready', '--quiet']);
    let first: Awaited<ReturnType<typeof healthStatus>>;
    while (!(first = await healthStatus(engine))) await sleep(10);
    expect(first.status).toBe(503);
    await waitHealthy(engine);
    expect(engine.stdout()).not.toMatch(/listening/i);
  });

  it('reads port and model from env vars, with flags taking precedence', async () => {
    const [portEnv, llmPortEnv, flagPort, ignoredPort] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
    const fromPort = await startEngine(['--load-ms', '50'], {
      portFlag: false,
      expectPort: portEnv,
      env: { PORT: String(portEnv), LLM_PORT: String(ignoredPort), MODEL_NAME: 'env-model' },
    });
    const fromLlmPort = await startEngine(['--load-ms', '50', '--model', 'flag-model'], {
      portFlag: false,
      expectPort: llmPortEnv,
      env: { LLM_PORT: String(llmPortEnv), MODEL_NAME: 'env-model', DEMO_QUIET: '1' },
    });
    const fromFlag = await startEngine(['--load-ms', '50'], { portFlag: flagPort, env: { PORT: String(ignoredPort) } });
    await Promise.all([waitHealthy(fromPort), waitHealthy(fromLlmPort), waitHealthy(fromFlag)]);

    const modelOf = async (engine: Engine) => (await readJson(await fetch(`${engine.url}/v1/models`))).data[0].id;
    expect(await modelOf(fromPort)).toBe('env-model');
    expect(await modelOf(fromLlmPort)).toBe('flag-model');
    expect(await modelOf(fromFlag)).toBe('demo');
    expect(fromFlag.stdout()).toContain(`listening on http://127.0.0.1:${flagPort}`);
    // DEMO_QUIET drops the per-request line but keeps the startup lines.
    expect(fromLlmPort.stdout()).toContain('server is listening');
    expect(fromLlmPort.stdout()).not.toContain('GET /v1/models');
  });
});
