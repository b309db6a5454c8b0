import type { ModelInfo } from '../../src-shared/contract.js';

/** A ModelInfo as the core reports a configured, never-started Chat model; override what a test needs. */
export function modelInfo(name: string, overrides: Partial<ModelInfo> = {}): ModelInfo {
  return {
    name,
    aliases: [],
    mode: 'Chat',
    port: 10090,
    state: 'stopped',
    autoStart: false,
    pid: null,
    profile: null,
    skippedProfiles: [],
    startedAt: null,
    readyAt: null,
    lastUsed: null,
    inFlight: 0,
    idleStopAt: null,
    aliveTimeMs: 0,
    lastError: null,
    vramMb: null,
    ...overrides,
  };
}
