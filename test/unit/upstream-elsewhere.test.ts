// Which models a hold leaves alone: a peer's, and a server's on another host; Ollama or a
// llama-server on this computer (loopback) use its VRAM and are stopped like our own engines.
import { describe, expect, it } from 'vitest';
import type { UpstreamSpec } from '../../src-shared/config.js';
import { profileElsewhere, servedElsewhere } from '../../src-main/core/upstreams/elsewhere.js';
import { remoteRoute } from '../../src-main/core/upstreams/remote.js';

const up = (kind: UpstreamSpec['kind'], baseUrl: string): { upstream: UpstreamSpec } => ({ upstream: { kind, baseUrl, apiKey: null, model: null } });
const local = { upstream: undefined };

describe('profileElsewhere', () => {
  it.each([
    ['an engine we spawn', local, false],
    ['Ollama on this computer', up('ollama', 'http://127.0.0.1:11434'), false],
    ['a server on localhost', up('openai', 'http://localhost:8000/v1'), false],
    ['a server on ::1', up('openai', 'http://[::1]:8000/v1'), false],
    ['a server on the LAN', up('openai', 'http://192.168.1.20:8000/v1'), true],
    ['a hosted API', up('openai', 'https://api.example.com/v1'), true],
    ['Ollama on another box', up('ollama', 'http://gpu-box.lan:11434'), true],
    ['a peer node, even on loopback (its engines are its own)', up('peer', 'http://127.0.0.1:9090'), true],
  ] as const)('%s: %s', (_name, profile, expected) => {
    expect(profileElsewhere(profile)).toBe(expected);
  });
});

describe('servedElsewhere', () => {
  const model = (profiles: { upstream?: UpstreamSpec }[], remote: ReturnType<typeof remoteRoute> | null = null) => ({ remote, model: { profiles } });
  it('running: the route it is served through decides', () => {
    const lan = up('openai', 'http://192.168.1.20:8000/v1').upstream;
    expect(servedElsewhere(model([local, { upstream: lan }], remoteRoute(lan)))).toBe(true);
    const ollama = up('ollama', 'http://127.0.0.1:11434').upstream;
    expect(servedElsewhere(model([{ upstream: ollama }], remoteRoute(ollama)))).toBe(false);
  });
  it('not running: only when every profile is elsewhere (a local profile may be the one that starts)', () => {
    expect(servedElsewhere(model([up('peer', 'http://10.0.0.2:8080')]))).toBe(true);
    expect(servedElsewhere(model([up('openai', 'https://api.example.com/v1'), local]))).toBe(false);
    expect(servedElsewhere(model([local]))).toBe(false);
    expect(servedElsewhere(model([]))).toBe(false);
  });
});
