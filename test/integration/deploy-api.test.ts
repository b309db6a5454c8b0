// The Deploy form's API against a real node: the preview (the exact command from the engine
// renderers, the YAML entry, the memory estimate), the save (only the entry's lines added, comments
// kept, a backup made), "save and start" through a stand-in llama-server (the demo engine), clear
// refusals (a missing file, an unknown engine, a name taken), and DELETE /api/models/{name} with
// and without delete_files. Then the whole way a new user goes: download from a (fake) hub, see it
// in the library, deploy it, chat with it.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { deployPreviewSchema, deployResultSchema, downloadInfoSchema, errorBodySchema, removeModelResultSchema } from '../../src-shared/api-schemas.js';
import type { DownloadInfo } from '../../src-shared/contract.js';
import { ggufBytes, modelKv, writeGguf } from '../helpers/gguf-writer.js';
import { postJson, subscribeSse, waitFor } from '../helpers/http.js';
import { closeAllNodes, DEMO_ENGINE, startNode, type NodeFixture } from '../helpers/node-fixture.js';
import { startFakeHub } from '../fixtures/fake-hub.js';

afterEach(closeAllNodes);
const hubs: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const hub of hubs.splice(0)) await hub.close();
});

/** A config with comments a user wrote, which a deploy must leave as they are. */
const COMMENTED = (text: string) => `# my own notes about this file\n${text.replace('Local-Models:', 'Local-Models:\n  # the demo stays, it is handy')}\n# the end\n`;

/** A node whose llama-server is a script running the demo engine with the rendered arguments. */
async function deployNode(program: Record<string, unknown> = {}): Promise<NodeFixture> {
  const fx = await startNode({ models: [{ name: 'demo', aliases: ['demo-alias'] }], program: { engines: { llama_server: './fake-llama-server' }, engine_ports: '20400-20449', ...program } });
  // llama-server's arguments reach the demo engine, which takes --host/--port and ignores -m, --alias, --ctx-size ...
  fs.writeFileSync(path.join(fx.dir, 'fake-llama-server'), `#!/bin/sh\nexec "${process.execPath}" "${DEMO_ENGINE}" --load-ms 50 --quiet "$@"\n`, { mode: 0o755 });
  fs.mkdirSync(path.join(fx.dir, 'models'), { recursive: true });
  writeGguf(path.join(fx.dir, 'models', 'tiny-q4_k_m.gguf'), { kv: modelKv({ arch: 'qwen2', name: 'Tiny', fileType: 15, context: 32768 }), tensors: [{ name: 't', dims: [8, 8] }] });
  const saved = await fx.node.api.saveConfig(COMMENTED((await fx.node.api.getConfig()).text));
  expect(saved.ok).toBe(true);
  return fx;
}

const api = (fx: NodeFixture, method: string, url: string, body?: unknown) =>
  fetch(`${fx.url}${url}`, { method, headers: body === undefined ? {} : { 'content-type': 'application/json' }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });

describe('the deploy API', () => {
  it('previews the exact command, the entry and the memory it will need, without writing anything', async () => {
    const fx = await deployNode();
    const before = fs.readFileSync(fx.configPath, 'utf8');
    const res = await api(fx, 'POST', '/api/models/preview', { name: 'tiny', engine: 'llama.cpp', model: 'models/tiny-q4_k_m.gguf', aliases: ['t'], devices: [] });
    expect(res.status).toBe(200);
    const preview = deployPreviewSchema.parse(await res.json());
    const file = path.join(fx.dir, 'models', 'tiny-q4_k_m.gguf');
    // The header's context (32768) is capped at 8192; on the CPU no layer goes to a GPU; the port is given at start.
    expect(preview.command).toBe(`${path.join(fx.dir, 'fake-llama-server')} -m ${file} --alias tiny --ctx-size 8192 --n-gpu-layers 0 --host 127.0.0.1 --port \${PORT}`);
    expect(preview.argv[0]).toBe(path.join(fx.dir, 'fake-llama-server'));
    expect(preview.entry).toBe(
      ['tiny:', '  aliases:', '    - t', '  mode: Chat', '  CPU-Config:', '    engine: llama.cpp', '    model: models/tiny-q4_k_m.gguf', '    context: 8192', '    gpu_layers: 0', '    required_devices: []', '    memory_mb:', `      cpu: ${preview.memoryMb['cpu']}`, ''].join('\n'),
    );
    expect(preview.estimate).toMatchObject({ weightsMb: 1, totalMb: 400 });
    expect(preview.memoryMb).toEqual({ cpu: 400 });
    expect(preview.ok).toBe(true);
    expect(preview.issues).toEqual([]);
    expect(fs.readFileSync(fx.configPath, 'utf8')).toBe(before);

    // On a GPU: every layer there, the memory claimed on it; vLLM renders its own command.
    const gpu = await fx.node.api.previewDeploy({ name: 'tiny', engine: 'llama.cpp', model: 'models/tiny-q4_k_m.gguf', devices: ['gpu0'], context: 4096, memoryMb: 6000 });
    expect(gpu.command).toContain('--ctx-size 4096 --n-gpu-layers all');
    expect(gpu.entry).toContain('  GPU-Config:\n    engine: llama.cpp');
    expect(gpu.memoryMb).toEqual({ gpu0: 6000 });
    const vllm = await fx.node.api.previewDeploy({ name: 'qwen', engine: 'vllm', model: 'Qwen/Qwen2.5-7B-Instruct', devices: ['gpu0', 'gpu1'], context: 16384 });
    expect(vllm.argv.slice(0, 3)).toEqual(['vllm', 'serve', 'Qwen/Qwen2.5-7B-Instruct']);
    expect(vllm.command).toMatch(/--served-model-name qwen .*--max-model-len 16384/);
    expect(vllm.command).toContain('--tensor-parallel-size 2');
    // vllm is not installed here: the check says so, as it would for a save.
    expect(vllm.issues.map((i) => i.message).join('\n')).toMatch(/install vLLM/);
  });

  it('refuses clearly: a missing file, an unknown engine, a name or alias already taken', async () => {
    const fx = await deployNode();
    const refusal = async (body: unknown) => {
      const res = await api(fx, 'POST', '/api/models', body);
      return { status: res.status, ...errorBodySchema.parse(await res.json()).error };
    };
    expect(await refusal({ name: 'x', engine: 'llama.cpp', model: 'models/nope.gguf' })).toMatchObject({
      status: 400,
      code: 'model_file_missing',
      message: `there is no file at ${path.join(fx.dir, 'models', 'nope.gguf')}: pick one from the library, or download it first`,
    });
    expect(await refusal({ name: 'x', engine: 'lmdeploy', model: 'models/tiny-q4_k_m.gguf' })).toMatchObject({ status: 400, code: 'unknown_engine', message: 'unknown engine "lmdeploy": expected one of llama.cpp, vllm, sglang, ollama' });
    expect(await refusal({ name: 'demo', engine: 'llama.cpp', model: 'models/tiny-q4_k_m.gguf' })).toMatchObject({ status: 409, code: 'model_name_taken', message: 'there is a model called "demo" already: pick another name, or remove that one first' });
    expect(await refusal({ name: 'demo-alias', engine: 'llama.cpp', model: 'models/tiny-q4_k_m.gguf' })).toMatchObject({ status: 409, code: 'model_name_taken', message: '"demo-alias" is taken by the model "demo": pick another name' });
    expect(await refusal({ name: 'x', engine: 'vllm', model: 'not an id' })).toMatchObject({ status: 400, code: 'model_file_missing' });
    expect(await refusal({ name: 'x', engine: 'llama.cpp', model: 'models/tiny-q4_k_m.gguf', context: -1 })).toMatchObject({ status: 400, code: 'invalid_request' });
    expect(await refusal({ name: 'x', engine: 'llama.cpp', model: 'models/tiny-q4_k_m.gguf', colour: 'red' })).toMatchObject({ status: 400, message: 'unknown field "colour" in the request body' });
    // An alias another model has: the config check refuses the save, nothing is written.
    const before = fs.readFileSync(fx.configPath, 'utf8');
    const res = await api(fx, 'POST', '/api/models', { name: 'x', engine: 'llama.cpp', model: 'models/tiny-q4_k_m.gguf', aliases: ['demo-alias'] });
    expect(res.status).toBe(200);
    const result = deployResultSchema.parse(await res.json());
    expect(result.saved.ok).toBe(false);
    expect(result.model).toBeNull();
    expect(result.saved.issues.map((i) => i.message).join('\n')).toMatch(/demo-alias/);
    expect(fs.readFileSync(fx.configPath, 'utf8')).toBe(before);
  });

  it('saves the entry into config.yaml, keeping every other line and comment, with a backup; "start" starts it and it answers', async () => {
    const fx = await deployNode();
    const before = fs.readFileSync(fx.configPath, 'utf8');
    const res = await api(fx, 'POST', '/api/models', { name: 'tiny', engine: 'llama.cpp', model: 'models/tiny-q4_k_m.gguf', aliases: ['tiny-chat'], start: true });
    expect(res.status).toBe(200);
    const result = deployResultSchema.parse(await res.json());
    expect(result.saved).toMatchObject({ ok: true, added: ['tiny'] });
    expect(result.model).toMatchObject({ name: 'tiny', state: 'ready', aliases: ['tiny-chat'] });
    expect(result.model!.launch).toBe(`${path.join(fx.dir, 'fake-llama-server')} -m ${path.join(fx.dir, 'models', 'tiny-q4_k_m.gguf')} --alias tiny --ctx-size 8192 --n-gpu-layers 0 --host 127.0.0.1 --port ${result.model!.port}`);
    const after = fs.readFileSync(fx.configPath, 'utf8');
    // Only the entry's lines were added, right after the last model (the blank line and the comment after it stay after it).
    const entry = result.entry.split('\n').map((l) => (l ? `  ${l}` : l)).join('\n');
    const at = before.lastIndexOf('- "150"\n') + '- "150"\n'.length;
    expect(after).toBe(before.slice(0, at) + entry + before.slice(at));
    expect(after).toContain('# my own notes about this file');
    expect(after).toContain('  # the demo stays, it is handy');
    expect(fs.readFileSync(`${fx.configPath}.bak`, 'utf8')).toBe(before);
    // It answers under its name and alias, through the router.
    const chat = await postJson(`${fx.url}/v1/chat/completions`, { model: 'tiny-chat', messages: [{ role: 'user', content: 'hi' }], max_tokens: 2 });
    expect(chat.status).toBe(200);
    await chat.json();
    expect((await fx.node.api.listLibrary()).entries.find((e) => e.name === 'tiny-q4_k_m.gguf')?.usedBy).toEqual(['tiny']);
  });

  it('DELETE /api/models/{name} removes the entry and stops it; files stay unless delete_files=true, and only inside a models folder', async () => {
    const fx = await deployNode();
    const file = path.join(fx.dir, 'models', 'tiny-q4_k_m.gguf');
    const outside = path.join(fx.dir, 'elsewhere.gguf');
    fs.copyFileSync(file, outside);
    const textBefore = fs.readFileSync(fx.configPath, 'utf8');
    await fx.node.api.deployModel({ name: 'tiny', engine: 'llama.cpp', model: 'models/tiny-q4_k_m.gguf', start: true });
    expect((await fx.node.api.modelInfo('tiny')).state).toBe('ready');

    const res = await api(fx, 'DELETE', '/api/models/tiny');
    expect(res.status).toBe(200);
    const removed = removeModelResultSchema.parse(await res.json());
    expect(removed.saved).toMatchObject({ ok: true, removed: ['tiny'] });
    expect(removed.deletedFiles).toEqual([]);
    expect(removed.keptFiles).toEqual([{ path: file, reason: 'files stay unless delete_files is asked for' }]);
    expect(fs.existsSync(file)).toBe(true);
    // The file is as it was before the deploy.
    expect(fs.readFileSync(fx.configPath, 'utf8')).toBe(textBefore);
    expect((await fx.node.api.listModels()).map((m) => m.name)).toEqual(['demo']);

    // With delete_files: the file inside models/ goes, the one outside stays.
    await fx.node.api.deployModel({ name: 'inside', engine: 'llama.cpp', model: 'models/tiny-q4_k_m.gguf' });
    await fx.node.api.deployModel({ name: 'outside', engine: 'llama.cpp', model: outside });
    const inside = removeModelResultSchema.parse(await (await api(fx, 'DELETE', '/api/models/inside?delete_files=true')).json());
    expect(inside.deletedFiles).toEqual([file]);
    expect(fs.existsSync(file)).toBe(false);
    const kept = await fx.node.api.removeModel('outside', { deleteFiles: true });
    expect(kept.keptFiles).toEqual([{ path: outside, reason: 'it is outside the models folders (program.models_dirs): only files in them are deleted' }]);
    expect(fs.existsSync(outside)).toBe(true);

    expect((await api(fx, 'DELETE', '/api/models/nope')).status).toBe(404);
    expect(errorBodySchema.parse(await (await api(fx, 'DELETE', '/api/models/demo?delete_files=yes')).json()).error.code).toBe('invalid_delete_files');
    // Removing the last model is what the user asked for: no "remove everything?" question.
    expect((await fx.node.api.removeModel('demo-alias')).saved).toMatchObject({ ok: true, removed: ['demo'] });
  });

  it("a new user's way: download from the hub (progress over /api/events), see it in the library, deploy it, chat with it", async () => {
    const hub = await startFakeHub();
    hubs.push(hub);
    const data = ggufBytes({ kv: modelKv({ arch: 'llama', name: 'Hub Tiny', fileType: 15, context: 4096 }), tensors: [{ name: 't', dims: [64, 1024] }] });
    hub.addFile('acme/hub-tiny-GGUF', 'hub-tiny-q4_k_m.gguf', { data });
    hub.throttle(1_000_000);
    const fx = await deployNode({ hf_endpoint: hub.url, hf_token: 'hf_test_token_0123456789' });
    const events = await subscribeSse(`${fx.url}/api/events`);

    const started = await api(fx, 'POST', '/api/library/downloads', { repo: 'acme/hub-tiny-GGUF', file: 'hub-tiny-q4_k_m.gguf' });
    expect(started.status).toBe(200);
    const download = downloadInfoSchema.parse(await started.json()) as DownloadInfo;
    expect(download.path).toBe(path.join(fx.dir, 'models', 'acme', 'hub-tiny-GGUF', 'hub-tiny-q4_k_m.gguf'));
    await waitFor(async () => (await fx.node.api.listDownloads())[0]?.state === 'done', 10_000, 'the download');
    const list = await (await api(fx, 'GET', '/api/library/downloads')).json();
    expect(list).toMatchObject([{ id: download.id, state: 'done', verified: 'sha256', bytes: data.length, totalBytes: data.length }]);
    expect(hub.requests.filter((r) => r.server === 'hub').map((r) => r.authorization)).toEqual(['Bearer hf_test_token_0123456789']);
    // The live stream carried its progress and its end.
    await events.next((e) => e.event === 'download' && JSON.parse(e.data).download.state === 'done');
    await events.close();
    const states = events.events.filter((e) => e.event === 'download').map((e) => (JSON.parse(e.data) as { download: DownloadInfo }).download);
    expect(states.some((d) => d.state === 'downloading' && d.bytes > 0 && d.bytes < data.length)).toBe(true);
    expect(states.map((d) => d.state).filter((v, i, a) => a[i - 1] !== v)).toEqual(['downloading', 'verifying', 'done']);

    const entry = (await fx.node.api.listLibrary()).entries.find((e) => e.name === 'acme/hub-tiny-GGUF/hub-tiny-q4_k_m.gguf');
    expect(entry).toMatchObject({ architecture: 'llama', quantization: 'Q4_K_M', contextLength: 4096, usedBy: [] });
    const deployed = await fx.node.api.deployModel({ name: 'hub-tiny', engine: 'llama.cpp', model: entry!.path, start: true });
    expect(deployed.entry).toContain('model: models/acme/hub-tiny-GGUF/hub-tiny-q4_k_m.gguf');
    expect(deployed.model?.state).toBe('ready');
    const chat = await postJson(`${fx.url}/v1/chat/completions`, { model: 'hub-tiny', messages: [{ role: 'user', content: 'hi' }], max_tokens: 2 });
    expect(chat.status).toBe(200);
    expect(((await chat.json()) as { model: string }).model).toBe('hub-tiny');
  });
});
