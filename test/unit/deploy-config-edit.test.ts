// The deploy's edit of config.yaml: one entry's lines added or removed, every other byte kept
// (comments, blank lines, quoting, flow lists); a file without a block Local-Models mapping goes
// through the yaml Document. And the memory estimate the form suggests.
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src-shared/config.js';
import { defaultContext, estimateGgufMemory } from '../../src-shared/deploy-estimate.js';
import { addModelEntry, removeModelEntry } from '../../src-main/core/deploy/config-edit.js';

const ENTRY = { aliases: ['t'], mode: 'Chat', 'CPU-Config': { engine: 'llama.cpp', model: 'models/t.gguf', required_devices: [], memory_mb: { cpu: 900 } } };
const ENTRY_TEXT = ['  tiny:', '    aliases:', '      - t', '    mode: Chat', '    CPU-Config:', '      engine: llama.cpp', '      model: models/t.gguf', '      required_devices: []', '      memory_mb:', '        cpu: 900', ''].join('\n');

const TEXT = `# my notes
program:
  port: 8080   # the router
Local-Models:
  # the demo, handy for tests
  demo:
    aliases: ["a", 'b']
    CPU-Config:
      command: node
      args: ["x", "--load-ms", "800"]   # quick

  # ---- an example, commented out
  # Qwen:
  #   port: 1
`;

describe('addModelEntry / removeModelEntry', () => {
  it('adds the entry after the last model, indented like it, and changes nothing else; removing it gives the text back', () => {
    const added = addModelEntry(TEXT, 'tiny', ENTRY);
    const at = TEXT.indexOf('\n\n  # ---- an example') + 1;
    expect(added).toBe(TEXT.slice(0, at) + ENTRY_TEXT + TEXT.slice(at));
    const parsed = parseConfigText(added);
    expect(parsed.ok && parsed.config.models.map((m) => m.name)).toEqual(['demo', 'tiny']);
    expect(removeModelEntry(added, 'tiny')).toBe(TEXT);
  });

  it('removes a model with the comment lines right above it, and nothing else', () => {
    expect(removeModelEntry(TEXT, 'demo')).toBe(TEXT.replace(/  # the demo[\s\S]*# quick\n/, ''));
    expect(removeModelEntry(TEXT, 'nope')).toBeNull();
    expect(removeModelEntry('program: {}\n', 'demo')).toBeNull();
  });

  it('keeps config.example.yaml byte for byte around an added entry', () => {
    const example = fs.readFileSync(new URL('../../config.example.yaml', import.meta.url), 'utf8');
    const added = addModelEntry(example, 'tiny', ENTRY);
    expect(added.length).toBe(example.length + ENTRY_TEXT.length);
    expect(added.replace(ENTRY_TEXT, '')).toBe(example);
    const parsed = parseConfigText(added);
    expect(parsed.ok && parsed.config.models.at(-1)?.name).toBe('tiny');
  });

  it('writes through the yaml Document when there is no block mapping to append to', () => {
    for (const text of ['program:\n  port: 1\n', 'program:\n  port: 1\nLocal-Models:\n', '# hi\nprogram:\n  port: 1\nLocal-Models: {}\n']) {
      const added = addModelEntry(text, 'tiny', ENTRY);
      expect(added.endsWith(`Local-Models:\n${ENTRY_TEXT}`), added).toBe(true);
      expect(added.startsWith(text.startsWith('#') ? '# hi\nprogram:\n  port: 1\n' : 'program:\n  port: 1\n')).toBe(true);
    }
  });
});

describe('the memory estimate', () => {
  it('is the weights, the context cache and a compute buffer, rounded up to 100 MB', () => {
    // An 8B model at Q4_K_M (4.9 GB), 8192 tokens: ~4.8 GB of weights and ~1 GB of KV cache.
    expect(estimateGgufMemory({ fileBytes: 4.9e9, context: 8192, parameters: 8e9 })).toEqual({ weightsMb: 4814, contextMb: 1024, totalMb: 6200 });
    // Without a parameter count, the file size stands in for it.
    expect(estimateGgufMemory({ fileBytes: 4.9e9, context: 8192 }).contextMb).toBe(1024);
    expect(estimateGgufMemory({ fileBytes: 4.9e9, context: 0, parameters: 8e9 }).totalMb).toBe(5200);
  });

  it("starts the form at the model's own context, at most 8192", () => {
    expect([defaultContext(null), defaultContext(2048), defaultContext(131072)]).toEqual([4096, 2048, 8192]);
  });
});
