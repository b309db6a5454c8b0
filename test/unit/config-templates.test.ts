// "Add model" on the Config page: every template, put into real config files, gives a valid
// config with one more model, a name and a port nobody else has, and the rest of the file as it was.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseConfigText, type AppConfig } from '../../src-shared/config.js';
import { MODEL_TEMPLATES, planModelInsert, type TemplateId } from '../../src-renderer/pages/config/templates.js';

const EXAMPLE = fs.readFileSync(path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../config.example.yaml'), 'utf8');

function apply(text: string, id: TemplateId) {
  const plan = planModelInsert(text, id);
  const next = text.slice(0, plan.from) + plan.insert + text.slice(plan.to);
  return { plan, text: next, name: plan.name, selected: next.slice(plan.nameFrom, plan.nameTo) };
}

function valid(text: string): AppConfig {
  const result = parseConfigText(text);
  if (!result.ok) throw new Error(`invalid:\n${result.errors.map((e) => `${e.line}:${e.col} ${e.path} ${e.message}`).join('\n')}\n---\n${text}`);
  expect(result.warnings, text).toEqual([]);
  return result.config;
}

describe('planModelInsert', () => {
  it.each(MODEL_TEMPLATES.map((t) => t.id))('%s: into the example config, a valid new model at the end of Local-Models', (id) => {
    const before = valid(EXAMPLE);
    const { text, name, selected } = apply(EXAMPLE, id);
    const after = valid(text);
    expect(selected).toBe(name);
    expect(after.models.map((m) => m.name)).toEqual([...before.models.map((m) => m.name), name]);
    const added = after.models.at(-1)!;
    expect(before.models.map((m) => m.port)).not.toContain(added.port);
    expect(added.port).not.toBe(after.program.port);
    // Only added to: right after the last model's last line, above the commented-out examples.
    const { plan } = apply(EXAMPLE, id);
    expect(plan.to).toBe(plan.from);
    const lastLine = EXAMPLE.slice(0, plan.from).split('\n').at(-1)!;
    expect(lastLine).toMatch(/^\s+\S/);
    expect(lastLine.trimStart().startsWith('#')).toBe(false);
    expect(EXAMPLE.slice(plan.from).trimStart().startsWith('#')).toBe(true);
  });

  it('reads what each engine needs: launch, served name, timeouts', () => {
    const model = (id: TemplateId) => valid(apply(EXAMPLE, id).text).models.at(-1)!;
    // Engine profiles: typed fields, the port written once (the model's), served under the model's name.
    expect(model('llama.cpp').profiles.map((p) => [p.name, p.engine?.kind, p.requiredDevices, p.engine?.kind === 'llama.cpp' ? p.engine.gpuLayers : null])).toEqual([
      ['GPU-Config', 'llama.cpp', ['gpu0'], 99],
      ['CPU-Config', 'llama.cpp', [], 0],
    ]);
    expect(model('llama.cpp')).toMatchObject({ servedModelName: 'new-model', profiles: [{ modelPath: 'models/new-model.gguf' }, {}] });
    expect(model('vllm')).toMatchObject({ servedModelName: 'new-model', startTimeoutMs: 600_000, profiles: [{ engine: { kind: 'vllm', model: 'Qwen/Qwen2.5-7B-Instruct', gpuMemoryUtilization: 0.85 }, memoryMb: { gpu0: 20000 } }] });
    expect(model('sglang').profiles[0]!.engine).toMatchObject({ kind: 'sglang', model: 'Qwen/Qwen2.5-7B-Instruct' });
    expect(model('script').profiles[0]).toMatchObject({ scriptPath: 'scripts/new-model.sh', args: ['--port', '${PORT}'] });
  });

  it('picks the next free name and port when added again', () => {
    const once = apply(EXAMPLE, 'vllm').text;
    const twice = apply(once, 'llama.cpp');
    const models = valid(twice.text).models;
    expect(twice.name).toBe('new-model-2');
    expect(new Set(models.map((m) => m.port)).size).toBe(models.length);
  });

  it('puts the model inside Local-Models when another section follows it, keeping its indentation', () => {
    const text = 'Local-Models:\n    a:\n        port: 10001\n        P:\n            command: node\n\n# trailing notes\nprogram:\n    port: 10002\n';
    const { text: next, name } = apply(text, 'script');
    const config = valid(next);
    expect(config.models.map((m) => [m.name, m.port])).toEqual([
      ['a', 10001],
      [name, 10003],
    ]);
    expect(config.program.port).toBe(10002);
    expect(next).toContain('\n    new-model:\n        aliases: []\n');
    expect(next.endsWith('\n\n# trailing notes\nprogram:\n    port: 10002\n')).toBe(true);
  });

  it('starts Local-Models where there is none, or where it is an empty {}', () => {
    for (const text of ['program:\n  port: 8080', 'program:\n  port: 8080\nLocal-Models: {}\n', '']) {
      const { text: next, name } = apply(text, 'llama.cpp');
      expect(valid(next).models.map((m) => m.name), next).toEqual([name]);
    }
  });

  it('still finds a free port in a file with errors (so the insert never adds a clash of its own)', () => {
    const broken = 'Local-Models:\n  a:\n    port: 10001\n    mode: [oops\n  b:\n    port: 10002\n';
    const plan = planModelInsert(broken, 'vllm');
    expect(plan.insert).toContain('port: 10003');
  });
});
