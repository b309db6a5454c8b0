// GET /api/library against a real node: the GGUF files in the models folder beside config.yaml,
// program.models_dirs, and a Hugging Face cache (found through HF_HOME), with what each header
// says and which config entries use each file, answered as the schema says, and following saves.
import fs from 'node:fs';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import { afterEach, describe, expect, it } from 'vitest';
import { libraryListingSchema } from '../../src-shared/api-schemas.js';
import type { LibraryListing } from '../../src-shared/contract.js';
import { closeAllNodes, startNode, type NodeFixture } from '../helpers/node-fixture.js';
import { modelKv, writeGguf } from '../helpers/gguf-writer.js';

afterEach(closeAllNodes);

function gguf(file: string, kv = modelKv({ fileType: 15 })): string {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  writeGguf(file, { kv, tensors: [{ name: 't', dims: [8, 8] }] });
  return file;
}

async function library(fx: NodeFixture): Promise<LibraryListing> {
  const res = await fetch(`${fx.url}/api/library`);
  expect(res.status).toBe(200);
  return libraryListingSchema.parse(await res.json()) as LibraryListing;
}

/** Saves the fixture's config with `program` keys added and engine-profile models. */
async function saveWith(fx: NodeFixture, program: Record<string, unknown>, models: Record<string, Record<string, unknown>>): Promise<void> {
  const config = parse((await fx.node.api.getConfig()).text) as { program: Record<string, unknown>; 'Local-Models': Record<string, unknown> };
  Object.assign(config.program, program);
  for (const [name, profile] of Object.entries(models)) config['Local-Models'][name] = { P: { required_devices: [], engine: 'llama.cpp', ...profile } };
  const result = await fx.node.api.saveConfig(stringify(config));
  expect(result.ok, JSON.stringify(result.issues)).toBe(true);
}

describe('GET /api/library', () => {
  it('lists the models folder beside config.yaml, with headers, sizes, errors and the config entries that use each file', async () => {
    const fx = await startNode({ models: [] });
    const models = path.join(fx.dir, 'models');
    gguf(path.join(models, 'qwen2.5-0.5b-instruct-q4_k_m.gguf'), modelKv({ arch: 'qwen2', name: 'Qwen2.5 0.5B Instruct', fileType: 15, context: 32768 }));
    gguf(path.join(models, 'bge-reranker-v2-m3-q8_0.gguf'), modelKv({ arch: 'bert', name: 'bge-reranker-v2-m3', fileType: 7, extra: [{ key: 'bert.pooling_type', type: 'u32', value: 4 }] }));
    fs.writeFileSync(path.join(models, 'broken-q4_0.gguf'), 'GGUF');
    await saveWith(fx, {}, { qwen: { model: 'models/qwen2.5-0.5b-instruct-q4_k_m.gguf' } });

    const listing = await library(fx);
    expect(listing.roots[0]).toEqual({ path: models, source: 'models_dir', present: true, error: null });
    expect(listing.roots.slice(1).map((r) => [r.source, r.present])).toEqual([['lmstudio', false], ['lmstudio', false], ['huggingface', false]]);
    expect(listing.entries.map((e) => [e.name, e.architecture, e.quantization, e.contextLength, e.kind, e.usedBy, e.error ?? null])).toEqual([
      ['bge-reranker-v2-m3-q8_0.gguf', 'bert', 'Q8_0', 4096, 'reranker', [], null],
      ['broken-q4_0.gguf', null, 'Q4_0', null, 'chat', [], 'the file ends inside its header: truncated'],
      ['qwen2.5-0.5b-instruct-q4_k_m.gguf', 'qwen2', 'Q4_K_M', 32768, 'chat', ['qwen'], null],
    ]);
    const qwen = listing.entries[2]!;
    expect(qwen.path).toBe(path.join(models, 'qwen2.5-0.5b-instruct-q4_k_m.gguf'));
    expect(qwen.sizeBytes).toBe(fs.statSync(qwen.path).size);
    expect(qwen.parameters).toBe(64);
    expect((await fx.node.api.listLibrary()).entries).toEqual(listing.entries);

    // Point the model at the other file: usedBy follows the save.
    await saveWith(fx, {}, { qwen: { model: 'models/bge-reranker-v2-m3-q8_0.gguf' } });
    expect((await library(fx)).entries.map((e) => [e.name, e.usedBy])).toEqual([
      ['bge-reranker-v2-m3-q8_0.gguf', ['qwen']],
      ['broken-q4_0.gguf', []],
      ['qwen2.5-0.5b-instruct-q4_k_m.gguf', []],
    ]);
  });

  it('program.models_dirs replaces the default folder; the Hugging Face cache is found through HF_HOME, projectors attached', async () => {
    const root = path.join(fs.mkdtempSync(path.join(fs.realpathSync(process.env['TMPDIR'] ?? '/tmp'), 'llm-manager-lib-')));
    const repo = path.join(root, 'hf', 'hub', 'models--unsloth--gemma-3-4b-it-GGUF');
    const snap = path.join(repo, 'snapshots', 'abc');
    gguf(path.join(repo, 'blobs', 'f00d'), modelKv({ arch: 'gemma3', fileType: 15 }));
    gguf(path.join(repo, 'blobs', 'beef'), [{ key: 'general.architecture', type: 'string', value: 'clip' }]);
    fs.mkdirSync(snap, { recursive: true });
    fs.symlinkSync('../../blobs/f00d', path.join(snap, 'gemma-3-4b-it-Q4_K_M.gguf'));
    fs.symlinkSync('../../blobs/beef', path.join(snap, 'mmproj-F16.gguf'));
    gguf(path.join(root, 'mine', 'a-q4_0.gguf'));
    gguf(path.join(root, 'more', 'b-q8_0.gguf'), modelKv({ fileType: 7 }));
    try {
      const fx = await startNode({ models: [], nodeOptions: { library: { home: path.join(root, 'home'), env: { HF_HOME: path.join(root, 'hf') } } } });
      await saveWith(fx, { models_dirs: [path.join(root, 'mine'), '../nope', path.join(root, 'more')] }, { gemma: { model: 'hf:unsloth/gemma-3-4b-it-GGUF:Q4_K_M' } });
      const listing = await library(fx);
      expect(listing.roots.map((r) => [r.source, r.path, r.present])).toEqual([
        ['models_dir', path.join(root, 'mine'), true],
        ['models_dir', path.resolve(fx.dir, '../nope'), false],
        ['models_dir', path.join(root, 'more'), true],
        ['lmstudio', path.join(root, 'home', '.lmstudio', 'models'), false],
        ['lmstudio', path.join(root, 'home', '.cache', 'lm-studio', 'models'), false],
        ['huggingface', path.join(root, 'hf', 'hub'), true],
      ]);
      expect(listing.entries.map((e) => [e.name, e.source, e.usedBy, e.mmproj ?? null])).toEqual([
        ['a-q4_0.gguf', 'models_dir', [], null],
        ['b-q8_0.gguf', 'models_dir', [], null],
        ['unsloth/gemma-3-4b-it-GGUF/gemma-3-4b-it-Q4_K_M.gguf', 'huggingface', ['gemma'], [path.join(snap, 'mmproj-F16.gguf')]],
      ]);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});
