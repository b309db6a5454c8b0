// Ollama's own API, the little of it this node uses: the models it has (GET /api/tags), the ones it
// holds in memory with their VRAM (GET /api/ps), and loading / unloading one (POST /api/generate
// with keep_alive and no prompt). Requests themselves go to its OpenAI-compatible /v1.
import { DEFAULT_OLLAMA_URL, type ModelConfig } from '../../../src-shared/config.js';
import type { OllamaListing } from '../../../src-shared/contract.js';
import { networkCause } from './network.js';

export { DEFAULT_OLLAMA_URL };

export interface OllamaModel {
  /** "qwen2.5:7b" */
  name: string;
  sizeBytes: number | null;
  family: string | null;
  parameterSize: string | null;
  quantization: string | null;
}

export interface OllamaLoaded {
  name: string;
  sizeBytes: number | null;
  /** The part of it in GPU memory. */
  vramBytes: number | null;
}

type Fetch = typeof fetch;

/** What to tell a person when nothing answers at Ollama's address. */
export function ollamaDown(baseUrl: string, cause: string): string {
  return `Ollama is not running at ${baseUrl} (${cause}); start it with \`ollama serve\``;
}

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);

async function getJson(fetchImpl: Fetch, url: string, headers: Record<string, string>, timeoutMs: number): Promise<unknown> {
  const res = await fetchImpl(url, { headers, signal: AbortSignal.timeout(timeoutMs) });
  if (!res.ok) throw new OllamaStatusError(res.status, `${url} answered ${res.status}`);
  return res.json();
}

export class OllamaStatusError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

function models(body: unknown): Record<string, unknown>[] {
  const list = (body as { models?: unknown })?.models;
  return Array.isArray(list) ? list.filter((m): m is Record<string, unknown> => m !== null && typeof m === 'object') : [];
}

/** GET /api/tags: the models pulled into this Ollama. */
export async function ollamaTags(baseUrl: string, options: { fetch?: Fetch; headers?: Record<string, string>; timeoutMs?: number } = {}): Promise<OllamaModel[]> {
  const body = await getJson(options.fetch ?? fetch, `${baseUrl}/api/tags`, options.headers ?? {}, options.timeoutMs ?? 5000);
  return models(body).flatMap((m) => {
    const name = str(m['name']) ?? str(m['model']);
    if (name === null) return [];
    const d = (m['details'] ?? {}) as Record<string, unknown>;
    return [{ name, sizeBytes: num(m['size']), family: str(d['family']), parameterSize: str(d['parameter_size']), quantization: str(d['quantization_level']) }];
  });
}

/** GET /api/ps: the models Ollama holds in memory now, with the part in VRAM. */
export async function ollamaLoaded(baseUrl: string, options: { fetch?: Fetch; headers?: Record<string, string>; timeoutMs?: number } = {}): Promise<OllamaLoaded[]> {
  const body = await getJson(options.fetch ?? fetch, `${baseUrl}/api/ps`, options.headers ?? {}, options.timeoutMs ?? 5000);
  return models(body).flatMap((m) => {
    const name = str(m['name']) ?? str(m['model']);
    return name === null ? [] : [{ name, sizeBytes: num(m['size']), vramBytes: num(m['size_vram']) }];
  });
}

/** Whether `wanted` ("qwen2.5" or "qwen2.5:7b") is one of `names` (Ollama's "name:tag"; no tag means ":latest"). */
export function sameOllamaModel(wanted: string, name: string): boolean {
  const full = (n: string) => (n.includes(':') ? n : `${n}:latest`).toLowerCase();
  return full(wanted) === full(name);
}

/**
 * POST /api/generate {model, keep_alive} without a prompt: loads the model (resolves once it is in
 * memory) or, with keep_alive 0, unloads it. Throws with Ollama's own error text.
 */
export async function ollamaKeepAlive(baseUrl: string, model: string, keepAlive: string | number, options: { fetch?: Fetch; headers?: Record<string, string>; timeoutMs: number }): Promise<void> {
  const res = await (options.fetch ?? fetch)(`${baseUrl}/api/generate`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...options.headers },
    body: JSON.stringify({ model, keep_alive: keepAlive }),
    signal: AbortSignal.timeout(options.timeoutMs),
  });
  const text = await res.text();
  if (!res.ok) {
    let said = text.slice(0, 300);
    try {
      said = String((JSON.parse(text) as { error?: unknown }).error ?? said);
    } catch {
      // not JSON: its text as it is
    }
    throw new OllamaStatusError(res.status, said);
  }
}

/** What our ready Ollama models hold in GPU memory (each server's GET /api/ps once), for the Devices page. */
export async function ollamaVram(models: readonly { name: string; baseUrl: string; model: string; headers?: Record<string, string> }[], options: { fetch?: Fetch; timeoutMs?: number } = {}): Promise<{ model: string; usedMb: number }[]> {
  const byServer = new Map<string, typeof models[number][]>();
  for (const m of models) byServer.set(m.baseUrl, [...(byServer.get(m.baseUrl) ?? []), m]);
  const out: { model: string; usedMb: number }[] = [];
  await Promise.all(
    [...byServer].map(async ([baseUrl, ours]) => {
      const loaded = await ollamaLoaded(baseUrl, { fetch: options.fetch, headers: ours[0]!.headers ?? {}, timeoutMs: options.timeoutMs ?? 2000 }).catch(() => []);
      for (const m of ours) {
        const held = loaded.find((l) => sameOllamaModel(m.model, l.name));
        if (held?.vramBytes) out.push({ model: m.name, usedMb: Math.round(held.vramBytes / 1024 / 1024) });
      }
    }),
  );
  return out;
}

/** The Add model page's Ollama tab: what the config's first Ollama (else the local one) has, and which of our models use each. */
export async function ollamaListing(models: readonly ModelConfig[], options: { fetch?: Fetch } = {}): Promise<OllamaListing> {
  const specs = models.flatMap((m) => m.profiles.flatMap((p) => (p.upstream?.kind === 'ollama' ? [{ model: m.name, spec: p.upstream }] : [])));
  const first = specs[0]?.spec;
  const baseUrl = first?.baseUrl ?? DEFAULT_OLLAMA_URL;
  const headers: Record<string, string> = first?.apiKey ? { authorization: `Bearer ${first.apiKey}` } : {};
  try {
    const tags = await ollamaTags(baseUrl, { fetch: options.fetch, headers, timeoutMs: 5000 });
    return {
      baseUrl,
      error: null,
      models: tags.map((t) => ({ ...t, usedBy: specs.filter((s) => s.spec.baseUrl === baseUrl && s.spec.model !== null && sameOllamaModel(s.spec.model, t.name)).map((s) => s.model) })),
    };
  } catch (err) {
    const error = err instanceof OllamaStatusError ? `Ollama at ${baseUrl} answered ${err.status} to GET /api/tags` : ollamaDown(baseUrl, networkCause(err));
    return { baseUrl, error, models: [] };
  }
}
