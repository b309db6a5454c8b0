// The pure parts of "safe by default": which hosts are loopback, which Host headers pass the
// DNS-rebinding check, the bind refusal, the crash-loop arithmetic and the new config keys.
import type http from 'node:http';
import { describe, expect, it } from 'vitest';
import { formatIssue, parseConfigText } from '../../src-shared/config.js';
import { CrashLoopGuard, DEFAULT_FAULT_POLICY, type FaultPolicy } from '../../src-main/core/models/faults.js';
import { RequestGuard } from '../../src-main/core/security/guard.js';
import { bindProblem, hostNameOf, isAllowedHost, isLoopbackAddress, isLoopbackHost } from '../../src-main/core/security/host.js';

describe('isLoopbackHost', () => {
  it.each([
    ['127.0.0.1', true],
    ['127.1.2.3', true],
    ['localhost', true],
    ['LocalHost.', true],
    ['app.localhost', true],
    ['::1', true],
    ['[::1]', true],
    ['::ffff:127.0.0.1', true],
    ['0.0.0.0', false],
    ['::', false],
    ['192.168.1.5', false],
    ['mybox.lan', false],
    ['localhost.attacker.example', false],
    ['128.0.0.1', false],
  ])('%s → %s', (host, loopback) => {
    expect(isLoopbackHost(host)).toBe(loopback);
  });

  it('peer addresses', () => {
    expect(isLoopbackAddress('127.0.0.1')).toBe(true);
    expect(isLoopbackAddress('::ffff:127.0.0.1')).toBe(true);
    expect(isLoopbackAddress('::1')).toBe(true);
    expect(isLoopbackAddress('10.0.0.2')).toBe(false);
    expect(isLoopbackAddress(undefined)).toBe(false);
  });
});

describe('Host header check (DNS rebinding)', () => {
  const local = { names: new Set<string>(), suffixes: [], anyIp: false };
  const lan = { names: new Set(['mybox.lan']), suffixes: ['.home.arpa'], anyIp: true };

  it.each([
    ['localhost:8080', true, true],
    ['127.0.0.1:8080', true, true],
    ['127.0.0.2', true, true],
    ['[::1]:8080', true, true],
    ['ui.localhost:5173', true, true],
    ['192.168.1.5:8080', false, true],
    ['[fe80::1]:8080', false, true],
    ['mybox.lan:8080', false, true],
    ['nas.home.arpa', false, true],
    ['attacker.example:8080', false, false],
    ['localhost.attacker.example', false, false],
    ['127.0.0.1.nip.io:8080', false, false],
    ['', false, false],
  ])('%s → loopback node %s, LAN node %s', (host, onLoopback, onLan) => {
    expect(isAllowedHost(host, local)).toBe(onLoopback);
    expect(isAllowedHost(host, lan)).toBe(onLan);
  });

  it('reads the host name out of a Host header', () => {
    expect(hostNameOf('Example.COM:8080')).toBe('example.com');
    expect(hostNameOf('[::1]:80')).toBe('[::1]');
    expect(hostNameOf('localhost.')).toBe('localhost');
  });
});

describe('bindProblem', () => {
  it('allows loopback always, and other addresses only with keys or an explicit allow_insecure_lan', () => {
    const none = { apiKeys: [], allowInsecureLan: false };
    expect(bindProblem('127.0.0.1', none, 'config.yaml')).toBeNull();
    expect(bindProblem('localhost', none, 'config.yaml')).toBeNull();
    expect(bindProblem('0.0.0.0', { apiKeys: ['k'], allowInsecureLan: false }, 'config.yaml')).toBeNull();
    expect(bindProblem('0.0.0.0', { apiKeys: [], allowInsecureLan: true }, 'config.yaml')).toBeNull();
    const message = bindProblem('0.0.0.0', none, '/etc/llm/config.yaml');
    expect(message).toContain('refusing to listen on 0.0.0.0');
    expect(message).toContain('/etc/llm/config.yaml');
    expect(message).toContain('api_keys');
    expect(message).toContain('allow_insecure_lan: true');
    expect(bindProblem('192.168.1.5', none, 'c')).not.toBeNull();
    expect(bindProblem('::', none, 'c')).not.toBeNull();
  });
});

describe('CrashLoopGuard', () => {
  const policy: FaultPolicy = { ...DEFAULT_FAULT_POLICY };
  const guard = () => new CrashLoopGuard(() => policy);

  it('pauses after 3 failures within 60 s: 10 s, doubling on each further failure, capped at 5 min', () => {
    const g = guard();
    expect(g.recordFailure(0, null)).toBe(0);
    expect(g.recordFailure(1_000, null)).toBe(0);
    expect(g.recordFailure(2_000, null)).toBe(10_000);
    expect(g.remaining(5_000)).toBe(7_000);
    expect(g.remaining(12_000)).toBe(0);
    // Right after each pause it fails again: the loop goes on, the pause doubles.
    let now = 12_000;
    const pauses: number[] = [];
    for (let i = 0; i < 7; i++) {
      const pause = g.recordFailure(now, null);
      pauses.push(pause);
      now += pause + 500;
    }
    expect(pauses).toEqual([20_000, 40_000, 80_000, 160_000, 300_000, 300_000, 300_000]);
  });

  it('failures spread out over more than the window are no loop', () => {
    const g = guard();
    for (let t = 0; t < 10 * 61_000; t += 61_000) expect(g.recordFailure(t, null)).toBe(0);
    expect(g.recordFailure(10 * 61_000 + 1000, null)).toBe(0);
  });

  it('an engine that ran fine for a whole window starts a fresh count; so does a quiet window after a pause', () => {
    const g = guard();
    g.recordFailure(0, null);
    g.recordFailure(1_000, null);
    expect(g.recordFailure(2_000, null)).toBe(10_000);
    // Became ready at 12 s, crashed at 80 s: ran for more than the window.
    expect(g.recordFailure(80_000, 12_000)).toBe(0);
    expect(g.recentFailures).toBe(1);
    const h = guard();
    h.recordFailure(0, null);
    h.recordFailure(1, null);
    expect(h.recordFailure(2, null)).toBe(10_000);
    // The pause ended at 10 s; the next failure only 70 s later.
    expect(h.recordFailure(80_000, null)).toBe(0);
  });

  it('clear() (an explicit start) ends the pause and the count', () => {
    const g = guard();
    g.recordFailure(0, null);
    g.recordFailure(1, null);
    g.recordFailure(2, null);
    expect(g.remaining(3)).toBeGreaterThan(0);
    g.clear();
    expect(g.remaining(3)).toBe(0);
    expect(g.recordFailure(4, null)).toBe(0);
  });
});

describe('config: the security keys', () => {
  const parse = (program: string) => parseConfigText(`program:\n${program}Local-Models: {}\n`, 'config.yaml');

  it('defaults: loopback, no keys, no CORS, bounded queue and timeouts', () => {
    const result = parse('');
    if (!result.ok) throw new Error('expected ok');
    expect(result.config.program).toMatchObject({
      host: '127.0.0.1',
      apiKeys: [],
      corsOrigins: [],
      allowedHosts: [],
      allowInsecureLan: false,
      engineKeys: false,
      maxQueuedRequests: 1000,
      headerTimeoutMs: 30_000,
      requestTimeoutMs: 300_000,
      bodyTimeoutMs: 30_000,
    });
  });

  it('reads every key, normalizing origins and host names to lower case', () => {
    const result = parse(
      [
        '  host: 0.0.0.0',
        '  api_keys: ["k-0123456789abcdefXYZ"]',
        '  cors_origins: ["http://LocalHost:3000", "null", "*"]',
        '  allowed_hosts: ["MyBox.lan", ".home.arpa"]',
        '  allow_insecure_lan: true',
        '  engine_keys: true',
        '  max_queued_requests: 50',
        '  header_timeout: 10',
        '  request_timeout: "2m"',
        '  body_timeout: "500ms"',
        '',
      ].join('\n'),
    );
    if (!result.ok) throw new Error(result.errors.map((e) => formatIssue('config.yaml', e)).join('\n'));
    expect(result.warnings).toEqual([]);
    expect(result.config.program).toMatchObject({
      apiKeys: ['k-0123456789abcdefXYZ'],
      corsOrigins: ['http://localhost:3000', 'null', '*'],
      allowedHosts: ['mybox.lan', '.home.arpa'],
      allowInsecureLan: true,
      engineKeys: true,
      maxQueuedRequests: 50,
      headerTimeoutMs: 10_000,
      requestTimeoutMs: 120_000,
      bodyTimeoutMs: 500,
    });
  });

  it('errors name the line and say what is expected; a short key is a warning', () => {
    const lines = (program: string) => {
      const result = parse(program);
      return result.ok ? [] : result.errors.map((e) => formatIssue('config.yaml', e));
    };
    expect(lines('  cors_origins: ["http://localhost:3000/"]\n')[0]).toMatch(/^config\.yaml:2:\d+ program\.cors_origins\[0\]: expected an origin like/);
    expect(lines('  api_keys: ["has space"]\n')[0]).toContain('program.api_keys[0]: expected a non-empty key of printable characters');
    expect(lines('  api_keys: "abc"\n')[0]).toContain('expected a list of keys');
    expect(lines('  allowed_hosts: ["mybox:8080"]\n')[0]).toContain('expected a host name without port');
    expect(lines('  max_queued_requests: 0\n')[0]).toContain('expected a whole number ≥ 1');
    expect(lines('  header_timeout: 0\n')[0]).toContain('expected a duration above 0');
    expect(lines('  allow_insecure_lan: "yes"\n')[0]).toContain('expected true or false');
    const short = parse('  api_keys: ["abc"]\n');
    expect(short.ok).toBe(true);
    expect(short.warnings.map((w) => formatIssue('config.yaml', w))).toEqual([
      expect.stringMatching(/^config\.yaml:2:\d+ program\.api_keys\[0\]: a key of 3 characters is easy to guess/),
    ]);
  });
});

describe('RequestGuard after a config change', () => {
  // A node told to listen on the network (--host 0.0.0.0) with keys, whose keys are then removed
  // by a save: it keeps answering this computer, and refuses everyone else.
  function fakeExchange(remoteAddress: string, headers: Record<string, string> = { host: '10.0.0.2:8080' }) {
    const req = { headers, method: 'GET', socket: { remoteAddress } } as unknown as http.IncomingMessage;
    const sent: { status?: number; body?: string } = {};
    const set: Record<string, string> = {};
    const res = {
      headersSent: false,
      destroyed: false,
      writeHead(status: number) {
        sent.status = status;
      },
      end(body: string) {
        sent.body = body;
      },
      setHeader(name: string, value: string) {
        set[name] = value;
      },
    } as unknown as http.ServerResponse;
    return { req, res, sent, headers: set };
  }

  it('cors_origins "null" opens /v1 to pages without an origin, never /api', () => {
    const parsed = parseConfigText('program:\n  cors_origins: ["null"]\nLocal-Models: {}\n');
    if (!parsed.ok) throw new Error('expected ok');
    const guard = new RequestGuard({ program: () => parsed.config.program, boundHost: '127.0.0.1', localKey: 'local' });
    const v1 = fakeExchange('127.0.0.1', { host: '127.0.0.1:8080', origin: 'null' });
    expect(guard.admit(v1.req, v1.res, 'v1')).toBe(true);
    expect(v1.headers['access-control-allow-origin']).toBe('null');
    const api = fakeExchange('127.0.0.1', { host: '127.0.0.1:8080', origin: 'null' });
    expect(guard.admit(api.req, api.res, 'api')).toBe(false);
    expect(api.sent.status).toBe(403);
  });

  it('with no key left, only local peers get in', () => {
    const parsed = parseConfigText('program:\n  api_keys: ["k-0123456789abcdefgh"]\nLocal-Models: {}\n');
    if (!parsed.ok) throw new Error('expected ok');
    let program = parsed.config.program;
    const guard = new RequestGuard({ program: () => program, boundHost: '0.0.0.0', localKey: 'local' });
    const remote = fakeExchange('10.0.0.5');
    expect(guard.admit(remote.req, remote.res, 'v1')).toBe(false);
    expect(remote.sent.status).toBe(401);

    program = { ...program, apiKeys: [] };
    const stillRemote = fakeExchange('10.0.0.5');
    expect(guard.admit(stillRemote.req, stillRemote.res, 'v1')).toBe(false);
    expect(stillRemote.sent.status).toBe(403);
    expect(JSON.parse(stillRemote.sent.body!).error.code).toBe('remote_access_disabled');
    const local = fakeExchange('::ffff:127.0.0.1');
    expect(guard.admit(local.req, local.res, 'v1')).toBe(true);

    program = { ...program, allowInsecureLan: true };
    const allowed = fakeExchange('10.0.0.5');
    expect(guard.admit(allowed.req, allowed.res, 'api')).toBe(true);
  });
});
