// The Deploy form's rules, without a browser: the name a file suggests, what the form sends, what
// it still needs, and the memory it asks for against the chosen devices' free memory.
import { describe, expect, it } from 'vitest';
import type { DeviceReading } from '../../src-shared/contract.js';
import { EMPTY_FORM, fitOf, missing, nameFromFile, nameFromHubId, nameFromOllama, specOf, type DeployForm } from '../../src-renderer/pages/deploy/form.js';

const form = (patch: Partial<DeployForm>): DeployForm => ({ ...EMPTY_FORM, ...patch });
const gpu = (id: string, freeMb: number, totalMb = 24_000): DeviceReading => ({
  id, kind: 'gpu', vendor: 'nvidia', index: Number(id.slice(3)), name: `GPU ${id}`, online: true, offlineReason: null,
  memory: { totalMb, usedMb: totalMb - freeMb, freeMb }, utilizationPct: 0, temperatureC: 40, powerW: 20, holders: [],
});

describe('the Deploy form', () => {
  it('suggests a model name from a file or a Hugging Face id', () => {
    expect(nameFromFile('Qwen/Qwen2.5-0.5B-Instruct-GGUF/Qwen2.5-0.5B-Instruct-Q4_K_M.gguf')).toBe('qwen2.5-0.5b-instruct-q4_k_m');
    expect(nameFromFile('C:\\models\\Llama 3 (8B)-00001-of-00003.gguf')).toBe('llama-3-8b');
    expect(nameFromHubId('Qwen/Qwen2.5-7B-Instruct')).toBe('qwen2.5-7b-instruct');
  });

  it('sends what was filled in, and leaves the rest to the defaults', () => {
    expect(specOf(form({ file: '/m/a.gguf', name: ' a ', aliases: 'x, , y', devices: ['gpu0'], context: '4096', gpuLayers: 'all', memoryMb: '' }))).toEqual({
      name: 'a', engine: 'llama.cpp', model: '/m/a.gguf', aliases: ['x', 'y'], mode: 'Chat', devices: ['gpu0'], context: 4096, gpuLayers: 'all',
    });
    expect(specOf(form({ source: 'hub-id', engine: 'vllm', hubId: ' Qwen/Qwen2.5-7B-Instruct ', name: 'q', file: '/m/ignored.gguf', gpuLayers: '20', memoryMb: '9000' }))).toEqual({
      name: 'q', engine: 'vllm', model: 'Qwen/Qwen2.5-7B-Instruct', mode: 'Chat', devices: [], memoryMb: 9000,
    });
    expect(specOf(form({ file: '/m/a.gguf', name: 'a', gpuLayers: '12' })).gpuLayers).toBe(12);
  });

  it('says what is still missing', () => {
    expect(missing(form({}))).toBe('Choose a model file.');
    expect(missing(form({ source: 'download' }))).toBe('Download a file, then choose it.');
    expect(missing(form({ source: 'hub-id', engine: 'vllm' }))).toBe('Enter a Hugging Face id (like Qwen/Qwen2.5-7B-Instruct) or a model folder.');
    expect(missing(form({ file: '/m/a.gguf' }))).toBe('Give the model a name.');
    expect(missing(form({ file: '/m/a.gguf', name: 'a' }))).toBeNull();
  });

  it('an Ollama model: its name, the server, no devices or memory (Ollama places it) (#16)', () => {
    expect(nameFromOllama('qwen2.5:7b')).toBe('qwen2.5-7b');
    expect(nameFromOllama('llama3.2:latest')).toBe('llama3.2');
    expect(missing(form({ source: 'ollama', engine: 'ollama' }))).toBe('Choose a model Ollama has.');
    expect(specOf(form({ source: 'ollama', engine: 'ollama', ollamaModel: 'qwen2.5:7b', ollamaUrl: 'http://box:11434', name: 'qwen', aliases: 'q', devices: ['gpu0'], memoryMb: '9000', file: '/m/ignored.gguf' }))).toEqual({
      name: 'qwen', engine: 'ollama', model: 'qwen2.5:7b', baseUrl: 'http://box:11434', aliases: ['q'], mode: 'Chat',
    });
  });

  it('splits the memory over the chosen GPUs and says whether it fits their free memory', () => {
    const devices = [gpu('gpu0', 10_000), gpu('gpu1', 3_000), { ...gpu('ram', 30_000, 64_000), kind: 'ram' as const, name: 'RAM' }];
    expect(fitOf(8_000, form({ devices: ['gpu0'] }), devices)).toMatchObject({ needMb: 8_000, fits: true, free: [{ id: 'gpu0', freeMb: 10_000 }] });
    expect(fitOf(8_000, form({ devices: ['gpu0', 'gpu1'] }), devices)).toMatchObject({ needMb: 4_000, fits: false });
    expect(fitOf(8_000, form({ devices: [] }), devices)).toMatchObject({ needMb: 8_000, fits: true, free: [{ id: 'ram', name: 'RAM', freeMb: 30_000 }] });
    expect(fitOf(null, form({}), devices)).toBeNull();
  });
});
