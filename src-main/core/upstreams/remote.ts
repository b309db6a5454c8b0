// A model served by a server this node does not spawn (an OpenAI-compatible server, an Ollama, a
// peer LLM Manager): where its requests go, and whether the server is reachable. The supervisor
// loads this module only when such a profile starts, so a node without one never carries it.
import type { UpstreamSpec } from '../../../src-shared/config.js';
import type { UpstreamRequest } from '../router/upstream.js';
import { withModel } from '../router/json-model.js';
import { networkCause } from './network.js';
import { ollamaDown, ollamaKeepAlive, ollamaTags, OllamaStatusError, sameOllamaModel } from './ollama.js';

type Fetch = typeof fetch;

export { networkCause };

/** Where a ready upstream model's requests go; made once per start. */
export interface RemoteRoute {
  readonly spec: UpstreamSpec;
  /** "https://host:8000": the pool the proxy uses. */
  readonly origin: string;
  /** The URL shown in messages and the window (its base_url; never the key). */
  readonly label: string;
  /** The engine request of a /v1 request turned into the upstream's: its path, its key, its model name. */
  request(request: UpstreamRequest): UpstreamRequest;
}

export function remoteRoute(spec: UpstreamSpec): RemoteRoute {
  const url = new URL(spec.kind === 'openai' ? spec.baseUrl : `${spec.baseUrl}/v1`);
  const origin = url.origin;
  // The OpenAI base path ("/v1", "/openai/v1", ""): a request's /v1/… goes under it.
  const basePath = url.pathname.replace(/\/+$/, '');
  const authorization = spec.apiKey !== null ? `Bearer ${spec.apiKey}` : null;
  const model = spec.model;
  return {
    spec,
    origin,
    label: spec.baseUrl,
    request(r) {
      const path = r.path === '/v1' || r.path.startsWith('/v1/') || r.path.startsWith('/v1?') ? basePath + r.path.slice(3) : basePath + r.path;
      return {
        ...r,
        origin,
        path,
        headers: authorization === null ? r.headers : [...r.headers, 'authorization', authorization],
        // withModel re-serialises only the name; the body's length is undici's to send.
        body: model !== null ? withModel(r.body, model) : r.body,
      };
    },
  };
}

const authHeaders = (spec: UpstreamSpec): Record<string, string> => (spec.apiKey !== null ? { authorization: `Bearer ${spec.apiKey}` } : {});

/**
 * Whether the server answers now: null when it does, else why not, as a sentence. An OpenAI server
 * or a peer: GET {base}/models; Ollama: GET /api/tags, and it must have the model.
 */
export async function checkRemote(spec: UpstreamSpec, options: { fetch?: Fetch; timeoutMs?: number } = {}): Promise<string | null> {
  const fetchImpl = options.fetch ?? fetch;
  const timeoutMs = options.timeoutMs ?? 5000;
  if (spec.kind === 'ollama') {
    let names: string[];
    try {
      names = (await ollamaTags(spec.baseUrl, { fetch: fetchImpl, headers: authHeaders(spec), timeoutMs })).map((m) => m.name);
    } catch (err) {
      if (err instanceof OllamaStatusError) return `Ollama at ${spec.baseUrl} answered ${err.status} to GET /api/tags${err.status === 401 || err.status === 403 ? ': check api_key' : ''}`;
      return ollamaDown(spec.baseUrl, networkCause(err));
    }
    if (spec.model !== null && !names.some((n) => sameOllamaModel(spec.model!, n))) return `Ollama at ${spec.baseUrl} has no model "${spec.model}"; pull it with \`ollama pull ${spec.model}\``;
    return null;
  }
  const what = spec.kind === 'peer' ? `the LLM Manager node at ${spec.baseUrl}` : `the upstream ${spec.baseUrl}`;
  const url = spec.kind === 'peer' ? `${spec.baseUrl}/v1/models` : `${spec.baseUrl}/models`;
  try {
    const res = await fetchImpl(url, { headers: authHeaders(spec), signal: AbortSignal.timeout(timeoutMs) });
    await res.body?.cancel().catch(() => undefined);
    if (res.ok) return null;
    if (res.status === 401 || res.status === 403) return `${what} refuses our key (GET ${new URL(url).pathname} answered ${res.status}): check api_key`;
    return `${what} answered ${res.status} to GET ${new URL(url).pathname}`;
  } catch (err) {
    return `${what} is not reachable: ${networkCause(err)}`;
  }
}

/** A start: checks the server, and has Ollama load the model (it resolves once the weights are in memory). */
export async function connectRemote(spec: UpstreamSpec, options: { fetch?: Fetch; timeoutMs: number }): Promise<string | null> {
  const down = await checkRemote(spec, { ...options, timeoutMs: Math.min(options.timeoutMs, 5000) });
  if (down !== null || spec.kind !== 'ollama' || spec.model === null) return down;
  try {
    // Loaded until this node stops it (the model's alive_time), unless keep_alive says otherwise.
    await ollamaKeepAlive(spec.baseUrl, spec.model, spec.keepAlive ?? -1, { fetch: options.fetch, headers: authHeaders(spec), timeoutMs: options.timeoutMs });
    return null;
  } catch (err) {
    if (err instanceof OllamaStatusError) return `Ollama at ${spec.baseUrl} could not load ${spec.model}: ${err.message}`;
    return ollamaDown(spec.baseUrl, networkCause(err));
  }
}

/** A stop: Ollama unloads the model (keep_alive 0); other servers keep theirs. Never throws. */
export async function disconnectRemote(spec: UpstreamSpec, options: { fetch?: Fetch; timeoutMs: number }): Promise<string | null> {
  if (spec.kind !== 'ollama' || spec.model === null) return null;
  try {
    await ollamaKeepAlive(spec.baseUrl, spec.model, 0, { fetch: options.fetch, headers: authHeaders(spec), timeoutMs: options.timeoutMs });
    return null;
  } catch (err) {
    return err instanceof OllamaStatusError ? err.message : networkCause(err);
  }
}
