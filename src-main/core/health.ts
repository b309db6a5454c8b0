// GET /health and /healthz: what a probe (a container's HEALTHCHECK, a load balancer, systemd
// watchdog scripts) needs to know, without an API key. It says nothing a stranger may not know:
// no config path, endpoint, model names or errors; only counts, the version and the uptime.
import type { NodeHealth } from '../../src-shared/api-schemas.js';
import type { ModelRegistry } from './models/registry.js';

export interface HealthSource {
  version: string;
  startedAt: number;
  registry: Pick<ModelRegistry, 'list'>;
  /** close() has begun: engines are being stopped. */
  stopping: () => boolean;
  /** The config file on disk is invalid (the last good config keeps running). */
  configInvalid: () => boolean;
}

/** The answer and its status: 503 while the node stops, else 200 (degraded still serves). */
export function nodeHealth(source: HealthSource, now = Date.now()): { status: 200 | 503; body: NodeHealth } {
  const states = source.registry.list().map((s) => s.currentState);
  const stopping = source.stopping();
  const body: NodeHealth = {
    status: stopping ? 'stopping' : source.configInvalid() ? 'degraded' : 'ok',
    version: source.version,
    uptimeS: Math.round((now - source.startedAt) / 1000),
    models: { ready: states.filter((s) => s === 'ready').length, total: states.length },
  };
  return { status: stopping ? 503 : 200, body };
}
