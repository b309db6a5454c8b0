// The bench's peer column (bench/peer.ts) without a llama-swap binary: where it looks for one and
// what it says when there is none, the config it writes (llama-swap's documented keys: models with
// cmd, proxy, checkEndpoint, ttl; healthCheckTimeout; logLevel), and the table's extra column.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { findLlamaSwap, llamaSwapConfig, peerModels, shellWord } from '../../bench/peer.js';
import { figures, table, type Raw } from '../../bench/report.js';
import type { LatencyRound, Measured } from '../../bench/phases/latency.js';
import { settings } from '../../bench/settings.js';

const dirs: string[] = [];
const tmp = () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-peer-'));
  dirs.push(dir);
  return dir;
};
afterEach(() => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

describe('finding llama-swap', () => {
  it('is skipped with a note saying how to give it, when it is neither in LLAMA_SWAP_BIN nor on PATH', () => {
    const found = findLlamaSwap({ PATH: tmp() });
    expect(found.bin).toBeNull();
    expect(found.note).toMatch(/llama-swap skipped: no llama-swap on PATH and LLAMA_SWAP_BIN is not set/);
  });

  it('takes an executable on PATH, and LLAMA_SWAP_BIN before it', () => {
    const onPath = tmp();
    fs.writeFileSync(path.join(onPath, 'llama-swap'), '#!/bin/sh\n', { mode: 0o755 });
    expect(findLlamaSwap({ PATH: `/nonexistent${path.delimiter}${onPath}` }).bin).toBe(path.join(onPath, 'llama-swap'));
    const given = path.join(tmp(), 'my-llama-swap');
    fs.writeFileSync(given, '#!/bin/sh\n', { mode: 0o755 });
    expect(findLlamaSwap({ PATH: onPath, LLAMA_SWAP_BIN: given })).toEqual({ bin: given, note: `LLAMA_SWAP_BIN=${given}` });
  });

  it('says so when LLAMA_SWAP_BIN is not an executable file (rather than falling back to PATH)', () => {
    const notExecutable = path.join(tmp(), 'llama-swap');
    fs.writeFileSync(notExecutable, 'text', { mode: 0o644 });
    const found = findLlamaSwap({ PATH: '', LLAMA_SWAP_BIN: notExecutable });
    expect(found.bin).toBeNull();
    expect(found.note).toContain(`LLAMA_SWAP_BIN=${notExecutable} is not an executable file`);
  });
});

describe("llama-swap's config", () => {
  it('has every model with its cmd, the proxy on its port, /health and ttl 0; no groups, so one model runs at a time', () => {
    const dir = '/tmp/peer dir';
    const { models, files } = peerModels(dir, { fast: 41001, stream: 41002 }, { cold: 41003, a: 41004, b: 41005 });
    const config = parse(llamaSwapConfig(models)) as Record<string, unknown>;
    expect(config['healthCheckTimeout']).toBe(15);
    expect(config['logLevel']).toBe('error');
    expect(config['groups']).toBeUndefined();
    expect(config['matrix']).toBeUndefined();
    const m = config['models'] as Record<string, { cmd: string; proxy: string; checkEndpoint: string; ttl: number }>;
    expect(Object.keys(m)).toEqual(['fast', 'stream', 'cold', 'swap-a', 'swap-b']);
    for (const model of Object.values(m)) expect(model).toMatchObject({ checkEndpoint: '/health', ttl: 0 });
    // The hot-path models only hold a place: llama-swap proxies to the router's own engines.
    expect(m['fast']).toMatchObject({ cmd: 'sleep 1000000', proxy: 'http://127.0.0.1:41001' });
    expect(m['stream']!.proxy).toBe('http://127.0.0.1:41002');
    // Its own engines: the demo engine on their port, with the router's flags and a times file.
    expect(m['cold']!.proxy).toBe('http://127.0.0.1:41003');
    expect(m['cold']!.cmd).toContain(`${settings.engineScript} --quiet --port 41003 --load-ms ${settings.coldLoadMs}`);
    expect(m['cold']!.cmd).toContain(`--times-file '${files.cold}'`);
    expect(m['swap-a']!.cmd).toContain('--port 41004');
    expect(m['swap-b']!.cmd).toContain(`--times-file '${files.b}'`);
  });

  it('quotes a word as a POSIX shell would read it back', () => {
    expect(shellWord('/usr/bin/node')).toBe('/usr/bin/node');
    expect(shellWord('--load-ms')).toBe('--load-ms');
    expect(shellWord('/tmp/a b')).toBe("'/tmp/a b'");
    expect(shellWord("it's")).toBe(`'it'\\''s'`);
    expect(shellWord('${PORT}')).toBe("'${PORT}'");
  });
});

describe('the peer column', () => {
  const wrk = (p50: number, rps: number): Measured => ({
    requests: 1,
    durationS: 1,
    rps,
    errors: 0,
    errorDetail: {},
    latencyUs: { min: p50, max: p50, mean: p50, p50, p75: p50, p90: p50, p99: p50 * 2, p99_9: p50 * 2 },
    foreignPct: 0,
    attempts: 1,
  });
  const round = (withPeer: boolean): LatencyRound => {
    const c1 = { direct: wrk(100, 1), nginx: wrk(120, 1), bare: wrk(200, 1), router: wrk(160, 1), ...(withPeer ? { 'llama-swap': wrk(800, 1) } : {}) };
    const c64 = { direct: wrk(1000, 30000), nginx: wrk(1000, 20000), bare: wrk(1000, 6000), router: wrk(1000, 15000), ...(withPeer ? { 'llama-swap': wrk(1000, 2000) } : {}) };
    return { c1, c64 } as LatencyRound;
  };

  it("puts llama-swap's figure beside the router's when it ran", () => {
    const raw: Raw = { latency: [round(true)], streaming: null };
    const rows = figures(raw);
    const added = rows.find((r) => r.figure === 'c=1 added p50, router (over direct)')!;
    expect(added.measured).toBeCloseTo(0.06);
    expect(added.peer).toBeCloseTo(0.7);
    expect(rows.find((r) => r.figure === 'c=64 router ÷ direct throughput')!.peer).toBeCloseTo(2000 / 30000);
    const text = table(rows);
    expect(text.split('\n')[0]).toMatch(/\| llama-swap\s*$/);
    expect(text).toMatch(/c=1 added p50, router \(over direct\)\s*\| 0\.060 ms\s*\| ≤ 0\.2 ms\s*\| PASS\s*\| 0\.700 ms/);
  });

  it('has no such column when it did not run', () => {
    const rows = figures({ latency: [round(false)], streaming: null });
    expect(rows.every((r) => r.peer === undefined)).toBe(true);
    expect(table(rows).split('\n')[0]).not.toContain('llama-swap');
  });
});
