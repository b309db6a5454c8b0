// Engine profiles and ports, end to end with real processes: a llama.cpp profile started through a
// stand-in llama-server (program.engines.llama_server: a script running the demo engine with the
// rendered llama-server arguments), ${PORT} / ${MODEL_NAME} macros, a launch that tells the engine
// another port (fails at once, naming both), and ports given to models without one under 10
// concurrent starts.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { silentLogger } from '../../src-main/core/logger.js';
import { createNode, type LlmNode } from '../../src-main/core/node.js';
import { DEMO_ENGINE } from '../helpers/node-fixture.js';
import { freePort } from '../helpers/ports.js';
import { trackEngines } from '../helpers/processes.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function start(program: Record<string, unknown>, models: Record<string, unknown>, setup?: (dir: string) => void): Promise<{ node: LlmNode; dir: string; routerPort: number }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'llm-engine-profiles-'));
  setup?.(dir);
  const routerPort = await freePort();
  const config = { program: { host: '127.0.0.1', port: routerPort, log_level: 'ERROR', alive_time: 0, Disable_GPU_monitoring: true, ...program }, 'Local-Models': models };
  fs.writeFileSync(path.join(dir, 'config.yaml'), stringify(config));
  const node = await createNode({ configPath: path.join(dir, 'config.yaml'), port: routerPort, logger: silentLogger, webUiDir: null });
  const engines = trackEngines(node);
  cleanups.push(() => engines.closeNode(dir));
  return { node, dir, routerPort };
}

const chat = (url: string, model: string) =>
  fetch(`${url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }], max_tokens: 2 }) });

describe('a llama.cpp engine profile', () => {
  it('starts through program.engines.llama_server with the rendered command, shown in its info and its log', async () => {
    const { node, dir } = await start(
      { engines: { llama_server: './fake-llama-server' }, engine_ports: '20300-20349' },
      { tiny: { aliases: ['tiny-alias'], T: { engine: 'llama.cpp', model: 'models/tiny.gguf', context: 2048, gpu_layers: 0, parallel: 2 } } },
      (d) => {
        fs.mkdirSync(path.join(d, 'models'));
        fs.writeFileSync(path.join(d, 'models', 'tiny.gguf'), 'GGUF');
        // llama-server's arguments reach the demo engine, which takes --host/--port and ignores -m, --alias, --ctx-size ...
        fs.writeFileSync(path.join(d, 'fake-llama-server'), `#!/bin/sh\nexec "${process.execPath}" "${DEMO_ENGINE}" --load-ms 50 --quiet "$@"\n`, { mode: 0o755 });
      },
    );
    const res = await chat(node.url, 'tiny-alias');
    expect(res.status).toBe(200);
    await res.json();
    const info = await node.api.modelInfo('tiny');
    expect(info.state).toBe('ready');
    expect(info.port).toBeGreaterThanOrEqual(20300);
    expect(info.port).toBeLessThanOrEqual(20349);
    const expected = `${path.join(dir, 'fake-llama-server')} -m ${path.join(dir, 'models', 'tiny.gguf')} --alias tiny --ctx-size 2048 --n-gpu-layers 0 --parallel 2 --host 127.0.0.1 --port ${info.port}`;
    expect(info.launch).toBe(expected);
    const system = (await node.api.modelLogs('tiny', 200)).filter((l) => l.stream === 'system');
    expect(system[0]!.text).toBe(`starting tiny (profile T, port ${info.port}): ${expected}`);
    // The port in use, wherever models are listed.
    const listed = (await (await fetch(`${node.url}/v1/models`)).json()) as { data: { id: string; port?: number }[] };
    expect(listed.data.find((m) => m.id === 'tiny')?.port).toBe(info.port);
    const api = (await (await fetch(`${node.url}/api/models`)).json()) as { name: string; port: number | null }[];
    expect(api.find((m) => m.name === 'tiny')?.port).toBe(info.port);
  });

  it('without its program, the config check and the start say how to install it', async () => {
    const { node } = await start(
      { engines: { llama_server: './no-such-llama-server' } },
      { tiny: { T: { engine: 'llama.cpp', model: 'hf:ggml-org/gemma-3-1b-it-GGUF' } } },
    );
    const check = await node.api.checkConfig((await node.api.getConfig()).text);
    const warning = check.issues.find((w) => w.path.endsWith('.engine'));
    expect(warning).toMatchObject({ severity: 'warning', path: 'Local-Models.tiny.T.engine' });
    expect(warning?.message).toMatch(/command not found: .*no-such-llama-server: install llama\.cpp .* or set program\.engines\.llama_server to its path/);
    const res = await chat(node.url, 'tiny');
    expect(res.status).toBe(503);
    expect(JSON.stringify(await res.json())).toContain('install llama.cpp');
  });
});

describe('a port that cannot disagree', () => {
  it('${PORT} and ${MODEL_NAME} expand in args: a model without a port gets one and the engine is told it', async () => {
    const { node } = await start({ engine_ports: '20350-20399' }, {
      m: { P: { command: process.execPath, args: [DEMO_ENGINE, '--port', '${PORT}', '--model', 'served-${MODEL_NAME}', '--load-ms', '20', '--quiet'] } },
    });
    const res = await chat(node.url, 'm');
    expect(res.status).toBe(200);
    expect(((await res.json()) as { model: string }).model).toBe('served-m');
    const info = await node.api.modelInfo('m');
    expect(info.launch).toContain(`--port ${info.port} --model served-m`);
  });

  it.each([
    ['llama-server', 'main: server is listening on http://127.0.0.1:'],
    ['uvicorn', 'INFO:     Uvicorn running on http://0.0.0.0:'],
  ])('an engine whose log (%s) says it listens on another port fails at once, naming both', async (_kind, prefix) => {
    const port = await freePort();
    const other = port === 65535 ? port - 1 : port + 1;
    const { node } = await start({}, {
      w: { port, start_timeout: 60, P: { command: process.execPath, args: ['-e', `console.log(${JSON.stringify(prefix)} + ${other}); setInterval(() => {}, 1000)`] } },
    });
    const began = Date.now();
    await expect(node.api.startModel('w')).rejects.toThrow(new RegExp(`w listens on port ${other}, but its port is ${port}`));
    expect(Date.now() - began).toBeLessThan(5000);
    const info = await node.api.modelInfo('w');
    expect(info.state).toBe('failed');
    expect(info.lastError?.message).toContain('${PORT}');
    expect(info.pid).toBeNull();
  });
});

describe('ports given at start', () => {
  it('10 concurrent starts get 10 different free ports, never a configured one, the router\'s or one in use', async () => {
    const range = { from: 20400, to: 20419 };
    // One port of the range is some other program's; one is another model's.
    const stranger = net.createServer();
    await new Promise<void>((resolve) => stranger.listen(range.from + 1, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => stranger.close(() => resolve())));
    const models: Record<string, unknown> = { fixed: { port: range.from, P: { command: process.execPath, args: [DEMO_ENGINE, '--port', '${PORT}', '--quiet'] } } };
    for (let i = 0; i < 10; i++) models[`m${i}`] = { P: { command: process.execPath, args: [DEMO_ENGINE, '--port', '${PORT}', '--load-ms', '30', '--quiet'] } };
    const { node } = await start({ engine_ports: `${range.from}-${range.to}` }, models);
    const names = Array.from({ length: 10 }, (_, i) => `m${i}`);
    const infos = await Promise.all(names.map((name) => node.api.startModel(name)));
    const ports = infos.map((i) => i.port!);
    expect(infos.every((i) => i.state === 'ready')).toBe(true);
    expect(new Set(ports).size).toBe(10);
    for (const port of ports) {
      expect(port).toBeGreaterThanOrEqual(range.from + 2);
      expect(port).toBeLessThanOrEqual(range.to);
    }
    // Every engine answers on the port its model shows.
    const answers = await Promise.all(names.map((name) => chat(node.url, name).then((r) => r.status)));
    expect(answers).toEqual(names.map(() => 200));
    // Stopped, a model shows no port; its port goes back to the range and all 10 start again apart.
    await Promise.all(names.map((name) => node.api.stopModel(name)));
    expect((await node.api.modelInfo('m0')).port).toBeNull();
    const again = await Promise.all(names.map((name) => node.api.startModel(name)));
    expect(new Set(again.map((i) => i.port)).size).toBe(10);
  });

  it('a range with no free port left fails the start with a message that says so', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(20450, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => blocker.close(() => resolve())));
    const { node } = await start({ engine_ports: '20450-20450' }, { m: { P: { command: process.execPath, args: [DEMO_ENGINE, '--port', '${PORT}'] } } });
    await expect(node.api.startModel('m')).rejects.toThrow(/no free port for m: every port of 20450-20450 is taken .*widen program\.engine_ports/);
  });
});
