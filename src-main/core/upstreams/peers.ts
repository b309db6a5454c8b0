// Other LLM Manager nodes (`peers:`): each one's models are read from its own /api/models (no new
// protocol) every few seconds, and served here as models whose one profile proxies to the peer's
// /v1. A peer that stops answering is polled less and less often (backoff); its models fail with
// the reason (greyed in the window) and come back by themselves once it answers again. Loaded
// only when the config has peers.
import type { LaunchProfile, ModelConfig, PeerConfig, UpstreamSpec } from '../../../src-shared/config.js';
import type { ModelInfo } from '../../../src-shared/contract.js';
import type { Logger } from '../logger.js';
import type { ModelSupervisor } from '../models/supervisor.js';
import { ApiError } from '../../../src-shared/errors.js';
import { networkCause } from './network.js';

export interface PeerDirectoryOptions {
  logger: Logger;
  /** The peers' models changed (added, removed, renamed): re-apply the registry with merge(). */
  onChange: () => void;
  /** The supervisor now serving a name, to hand it the peer's view or its absence. */
  supervisor: (name: string) => ModelSupervisor | undefined;
  fetch?: typeof fetch;
  /** Between polls of a peer that answers (default 5 s); the first failure waits as long, each next one twice as long. */
  pollMs?: number;
  /** The longest wait between polls of a peer that doesn't answer (default 60 s). */
  maxBackoffMs?: number;
}

interface PeerState {
  config: PeerConfig;
  /** Its own models (not ones it has from its peers), as last read. */
  models: ModelInfo[];
  failures: number;
  timer: NodeJS.Timeout | null;
  /** Bumped when the peer is reconfigured or dropped: an answer for an older one is ignored. */
  generation: number;
}

const POLL_MS = 5_000;
const MAX_BACKOFF_MS = 60_000;
const POLL_TIMEOUT_MS = 3_000;

export class PeerDirectory {
  private readonly peers = new Map<string, PeerState>();
  private closed = false;

  constructor(private readonly options: PeerDirectoryOptions) {}

  /** The peers from a (re)loaded config: new ones are polled at once, dropped ones forgotten. */
  configure(list: readonly PeerConfig[]): void {
    let changed = false;
    const wanted = new Map(list.map((p) => [p.name, p]));
    for (const [name, state] of this.peers) {
      const next = wanted.get(name);
      if (next && next.url === state.config.url && next.apiKey === state.config.apiKey && next.prefer === state.config.prefer) continue;
      if (state.timer) clearTimeout(state.timer);
      this.peers.delete(name);
      changed ||= state.models.length > 0;
    }
    for (const config of list) {
      if (this.peers.has(config.name)) continue;
      const state: PeerState = { config, models: [], failures: 0, timer: null, generation: 0 };
      this.peers.set(config.name, state);
      void this.poll(state);
    }
    if (changed) this.options.onChange();
  }

  /**
   * The local models with the peers' added: a local model of the same name (or alias) wins, unless
   * its peer says prefer: peer — then the peer's profile goes first and the local ones stay as the
   * fall-through. A name two peers have goes to the first in the config.
   */
  merge(models: readonly ModelConfig[]): ModelConfig[] {
    const out = [...models];
    const taken = new Set(models.flatMap((m) => [m.name, ...m.aliases].map((n) => n.toLowerCase())));
    for (const state of this.peers.values()) {
      const profile = peerProfile(state.config);
      for (const info of state.models) {
        const key = info.name.toLowerCase();
        const local = out.findIndex((m) => m.peer === undefined && m.name.toLowerCase() === key);
        if (local >= 0 && state.config.prefer === 'peer' && !out[local]!.profiles.some((p) => p.upstream?.kind === 'peer')) {
          out[local] = { ...out[local]!, profiles: [profile, ...out[local]!.profiles] };
          continue;
        }
        if (taken.has(key)) continue;
        const aliases = info.aliases.filter((a) => !taken.has(a.toLowerCase()) && a.toLowerCase() !== key);
        for (const name of [info.name, ...aliases]) taken.add(name.toLowerCase());
        out.push(peerModel(info, aliases, state.config, profile));
      }
    }
    return out;
  }

  close(): void {
    this.closed = true;
    for (const state of this.peers.values()) {
      if (state.timer) clearTimeout(state.timer);
      state.generation++;
    }
    this.peers.clear();
  }

  private async poll(state: PeerState): Promise<void> {
    const generation = ++state.generation;
    const { config } = state;
    let models: ModelInfo[] | null = null;
    let reason: string | null = null;
    try {
      const res = await (this.options.fetch ?? fetch)(`${config.url}/api/models`, {
        headers: config.apiKey !== null ? { authorization: `Bearer ${config.apiKey}` } : {},
        signal: AbortSignal.timeout(POLL_TIMEOUT_MS),
      });
      if (res.ok) {
        const body = (await res.json()) as unknown;
        models = readModels(body);
        if (models === null) reason = `the LLM Manager node "${config.name}" at ${config.url} answered GET /api/models with something that is not a model list`;
      } else {
        await res.body?.cancel().catch(() => undefined);
        reason = `the LLM Manager node "${config.name}" at ${config.url} answered ${res.status} to GET /api/models${res.status === 401 || res.status === 403 ? ': check its api_key in peers:' : ''}`;
      }
    } catch (err) {
      reason = `the LLM Manager node "${config.name}" at ${config.url} is not reachable: ${networkCause(err)}`;
    }
    if (this.closed || generation !== state.generation || this.peers.get(config.name) !== state) return;
    if (models !== null) this.answered(state, models);
    else this.lost(state, reason!);
    const pollMs = this.options.pollMs ?? POLL_MS;
    const wait = state.failures === 0 ? pollMs : Math.min(pollMs * 2 ** (state.failures - 1), this.options.maxBackoffMs ?? MAX_BACKOFF_MS);
    state.timer = setTimeout(() => void this.poll(state), wait);
    state.timer.unref();
  }

  private answered(state: PeerState, models: ModelInfo[]): void {
    if (state.failures > 0) this.options.logger.info(`peer ${state.config.name} at ${state.config.url} answers again`);
    state.failures = 0;
    const names = (list: ModelInfo[]) => JSON.stringify(list.map((m) => [m.name, m.aliases, m.mode]));
    const changed = names(models) !== names(state.models);
    state.models = models;
    if (changed) this.options.onChange();
    for (const info of models) {
      const supervisor = this.ours(state, info.name);
      if (!supervisor) continue;
      supervisor.setRemoteView(peerView(info));
      // Back (or new): ready as soon as the peer's /v1 answers.
      if (supervisor.currentState === 'stopped' || supervisor.currentState === 'failed') supervisor.ensureReady().catch(() => undefined);
    }
  }

  private lost(state: PeerState, reason: string): void {
    if (state.failures === 0) this.options.logger.warn(`${reason}; its models are unavailable until it answers again`);
    state.failures++;
    for (const info of state.models) {
      const supervisor = this.ours(state, info.name);
      supervisor?.setRemoteView(null);
      supervisor?.remoteLost(reason);
    }
  }

  /** The supervisor serving this peer's model here (not a local one of the same name). */
  private ours(state: PeerState, name: string): ModelSupervisor | undefined {
    const supervisor = this.options.supervisor(name);
    return supervisor?.latestConfig.profiles.some((p) => p.upstream?.peer === state.config.name) ? supervisor : undefined;
  }
}

function peerProfile(peer: PeerConfig): LaunchProfile {
  return {
    name: `peer:${peer.name}`,
    requiredDevices: [],
    scriptPath: null,
    command: null,
    args: [],
    cwd: null,
    env: {},
    memoryMb: {},
    upstream: { kind: 'peer', baseUrl: peer.url, apiKey: peer.apiKey, model: null, peer: peer.name },
  };
}

function peerModel(info: ModelInfo, aliases: string[], peer: PeerConfig, profile: LaunchProfile): ModelConfig {
  return {
    name: info.name,
    aliases,
    mode: info.mode,
    port: null,
    autoStart: false,
    // The peer decides when its engine stops; here the model is only its reachability.
    aliveTimeMs: 0,
    healthPath: '/health',
    servedModelName: null,
    startTimeoutMs: 30_000,
    stopTimeoutMs: 5_000,
    maxConnections: null,
    profiles: [profile],
    peer: peer.name,
  };
}

/** The peer's own models from its GET /api/models (a ModelInfo list); ones it serves from its peers are left out, so two nodes that peer each other never loop. */
function readModels(body: unknown): ModelInfo[] | null {
  if (!Array.isArray(body)) return null;
  return body.filter((m): m is ModelInfo => m !== null && typeof m === 'object' && typeof (m as ModelInfo).name === 'string' && typeof (m as ModelInfo).mode === 'string' && (m as ModelInfo).upstream?.kind !== 'peer').map((m) => ({ ...m, aliases: Array.isArray(m.aliases) ? m.aliases.filter((a) => typeof a === 'string') : [] }));
}

/** What a peer says of a model, as this node shows it for the peer's model. */
export function peerView(info: ModelInfo): Pick<ModelInfo, 'state' | 'loading' | 'inFlight' | 'vramMb'> {
  return { state: info.state, loading: info.loading ?? null, inFlight: info.inFlight, vramMb: info.vramMb };
}

/**
 * A person's Start or Stop of a peer's model, done by the peer (POST /api/models/{name}/start|stop
 * with its key): this node only proxies to it. Answers the peer's account of the model; a refusal
 * keeps the peer's message.
 */
export async function peerModelAction(spec: UpstreamSpec, name: string, action: 'start' | 'stop', fetchImpl: typeof fetch = fetch): Promise<ModelInfo> {
  const who = `the LLM Manager node "${spec.peer ?? spec.baseUrl}"`;
  let res: Response;
  try {
    res = await fetchImpl(`${spec.baseUrl}/api/models/${encodeURIComponent(name)}/${action}`, { method: 'POST', headers: spec.apiKey !== null ? { authorization: `Bearer ${spec.apiKey}` } : {} });
  } catch (err) {
    throw new ApiError(503, 'peer_unreachable', `${who} at ${spec.baseUrl} is not reachable: ${networkCause(err)}`);
  }
  const body = (await res.json().catch(() => null)) as (ModelInfo & { error?: { message?: string; code?: string } }) | null;
  if (!res.ok || !body || typeof body.state !== 'string') {
    const said = body?.error?.message ?? `it answered ${res.status}`;
    throw new ApiError(res.status >= 400 && res.status < 600 ? res.status : 502, body?.error?.code ?? 'peer_error', `${who} could not ${action} ${name}: ${said}`);
  }
  return body;
}
