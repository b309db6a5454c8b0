// The Deploy form's state and what it sends: pure, so the page stays drawing and the rules are tested.
import type { EngineKind, ModelMode } from '../../../src-shared/config.js';
import type { DeploySpec, DeviceReading, LibraryEntry } from '../../../src-shared/contract.js';
import { defaultContext, estimateGgufMemory, type MemoryEstimate } from '../../../src-shared/deploy-estimate.js';

export type Source = 'library' | 'download' | 'hub-id' | 'ollama';

export interface DeployForm {
  source: Source;
  /** The library file chosen (its path). */
  file: string | null;
  /** vLLM / SGLang: a Hugging Face id or a model folder. */
  hubId: string;
  name: string;
  /** The user typed a name: choosing another file no longer renames it. */
  nameTouched: boolean;
  engine: EngineKind | 'ollama';
  /** Ollama: the model chosen ("qwen2.5:7b") and the server that has it. */
  ollamaModel: string;
  ollamaUrl: string | null;
  /** GPUs chosen ("gpu0"); none: the CPU. */
  devices: string[];
  /** As typed; '' means the default. */
  context: string;
  gpuLayers: string;
  memoryMb: string;
  aliases: string;
  mode: ModelMode;
}

export const EMPTY_FORM: DeployForm = {
  source: 'library',
  file: null,
  hubId: '',
  name: '',
  nameTouched: false,
  engine: 'llama.cpp',
  ollamaModel: '',
  ollamaUrl: null,
  devices: [],
  context: '',
  gpuLayers: '',
  memoryMb: '',
  aliases: '',
  mode: 'Chat',
};

/** A model name from a file: "Qwen2.5-0.5B-Instruct-Q4_K_M.gguf" → "qwen2.5-0.5b-instruct-q4_k_m"; split parts lose "-00001-of-00003". */
export function nameFromFile(file: string): string {
  const base = file.split(/[\\/]/).pop() ?? file;
  return base
    .replace(/\.gguf$/i, '')
    .replace(/-\d{5}-of-\d{5}$/i, '')
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^-+|-+$/g, '');
}

/** A model name from a Hugging Face id: "Qwen/Qwen2.5-7B-Instruct" → "qwen2.5-7b-instruct". */
export function nameFromHubId(id: string): string {
  return nameFromFile(id.split('/').pop() ?? id);
}

/** A model name from Ollama's: "qwen2.5:7b" → "qwen2.5-7b"; ":latest" goes. */
export function nameFromOllama(name: string): string {
  return nameFromFile(name.replace(/:latest$/i, '').replace(/:/g, '-'));
}

/** The mode a library file suggests (an embedding or reranker GGUF says so in its header). */
export function modeOf(entry: LibraryEntry | undefined): ModelMode {
  if (entry?.kind === 'embedding') return 'Embedding';
  if (entry?.kind === 'reranker') return 'Reranker';
  return 'Chat';
}

function numberOr<T>(text: string, fallback: T): number | T {
  const t = text.trim();
  if (t === '') return fallback;
  const n = Number(t);
  return Number.isFinite(n) ? n : fallback;
}

/** What the form asks the node for (the preview and the save take the same). */
export function specOf(form: DeployForm): DeploySpec {
  const aliases = form.aliases.split(',').map((a) => a.trim()).filter((a) => a !== '');
  const layers = form.gpuLayers.trim().toLowerCase();
  const gpuLayers = layers === 'all' || layers === 'auto' ? layers : numberOr(layers, null);
  if (form.source === 'ollama') {
    // Ollama places the model itself: no devices, context or memory to say.
    return { name: form.name.trim(), engine: 'ollama', model: form.ollamaModel, ...(form.ollamaUrl ? { baseUrl: form.ollamaUrl } : {}), ...(aliases.length > 0 ? { aliases } : {}), mode: form.mode };
  }
  return {
    name: form.name.trim(),
    engine: form.engine,
    model: form.source === 'hub-id' ? form.hubId.trim() : (form.file ?? ''),
    ...(aliases.length > 0 ? { aliases } : {}),
    mode: form.mode,
    devices: form.devices,
    ...(form.context.trim() !== '' ? { context: numberOr(form.context, null) } : {}),
    ...(form.engine === 'llama.cpp' && gpuLayers !== null ? { gpuLayers } : {}),
    ...(form.memoryMb.trim() !== '' ? { memoryMb: numberOr(form.memoryMb, null) } : {}),
  };
}

/** Why the form can't be sent yet, in words; null when it can. */
export function missing(form: DeployForm): string | null {
  if (form.source === 'ollama') {
    if (form.ollamaModel === '') return 'Choose a model Ollama has.';
  } else if (form.source === 'hub-id') {
    if (form.hubId.trim() === '') return 'Enter a Hugging Face id (like Qwen/Qwen2.5-7B-Instruct) or a model folder.';
  } else if (!form.file) {
    return form.source === 'download' ? 'Download a file, then choose it.' : 'Choose a model file.';
  }
  if (form.name.trim() === '') return 'Give the model a name.';
  return null;
}

export interface Fit {
  /** What the model needs, per chosen device (MB). */
  needMb: number;
  /** Free memory of each chosen GPU (MB), or the RAM's when on the CPU. */
  free: { id: string; name: string; freeMb: number | null; totalMb: number | null }[];
  /** false: some device has less free than its share. */
  fits: boolean;
}

/** The estimate for a library file with the form's context. */
export function estimateFor(entry: LibraryEntry | undefined, form: DeployForm): MemoryEstimate | null {
  if (!entry) return null;
  const context = numberOr(form.context, defaultContext(entry.contextLength));
  return estimateGgufMemory({ fileBytes: entry.sizeBytes, context: typeof context === 'number' ? context : 4096, parameters: entry.parameters });
}

/** The need per device against the chosen devices' free memory. */
export function fitOf(totalMb: number | null, form: DeployForm, devices: readonly DeviceReading[]): Fit | null {
  if (totalMb === null) return null;
  const chosen = form.devices.length > 0 ? form.devices.map((id) => devices.find((d) => d.id === id)) : [devices.find((d) => d.kind === 'ram')];
  const needMb = Math.round(totalMb / Math.max(1, form.devices.length));
  const free = chosen.map((d, i) => ({ id: d?.id ?? form.devices[i] ?? 'ram', name: d?.name ?? form.devices[i] ?? 'RAM', freeMb: d?.memory?.freeMb ?? null, totalMb: d?.memory?.totalMb ?? null }));
  return { needMb, free, fits: free.every((f) => f.freeMb === null || f.freeMb >= needMb) };
}
