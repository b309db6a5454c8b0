// LLM_MANAGER_API_KEYS: keys from a container's env_file let `serve --host 0.0.0.0` start without
// a key written in the config, and they guard /v1 and /api like program.api_keys (not /health).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { apiKeysFromEnv } from '../../src-main/core/security/env-keys.js';
import { waitFor } from '../helpers/http.js';
import { freePorts } from '../helpers/ports.js';
import { rawRequest } from '../helpers/raw-http.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CLI = ['--import', 'tsx', path.join(REPO, 'src-main/cli.ts')];
const KEY = 'env-key-0123456789abcdefghij';
const running = new Set<ChildProcess>();
const dirs: string[] = [];

afterEach(() => {
  for (const proc of running) proc.kill('SIGKILL');
  running.clear();
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

async function config(): Promise<{ file: string; port: number }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'llm-envkeys-'));
  dirs.push(dir);
  const [port] = await freePorts(1);
  const file = path.join(dir, 'config.yaml');
  fs.writeFileSync(file, `program:\n  host: "0.0.0.0"\n  port: ${port}\n  Disable_GPU_monitoring: true\nLocal-Models: {}\n`);
  return { file, port: port! };
}

describe('LLM_MANAGER_API_KEYS', () => {
  it('lets a 0.0.0.0 config start, and guards /v1 and /api with the key; /health stays open', async () => {
    const { file, port } = await config();
    const proc = spawn(process.execPath, [...CLI, 'serve', '--config', file], { cwd: REPO, env: { ...process.env, LLM_MANAGER_API_KEYS: `  ${KEY}, second-key-0123456789abcdef ` }, stdio: ['ignore', 'pipe', 'pipe'] });
    running.add(proc);
    let output = '';
    proc.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    proc.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    await waitFor(() => output.includes('Press Ctrl+C to stop'), 20_000, 'the banner');
    const url = `http://127.0.0.1:${port}`;
    expect((await rawRequest(url, { path: '/v1/models' })).status).toBe(401);
    expect((await rawRequest(url, { path: '/v1/models', headers: { authorization: `Bearer ${KEY}` } })).status).toBe(200);
    expect((await rawRequest(url, { path: '/api/models', headers: { 'x-api-key': 'second-key-0123456789abcdef' } })).status).toBe(200);
    expect((await rawRequest(url, { path: '/health' })).status).toBe(200);
    expect(output).not.toContain(KEY);
    proc.kill('SIGTERM');
    await new Promise((resolve) => proc.once('exit', resolve));
  });

  it('without it, a 0.0.0.0 config is refused, naming the variable; a weak key is refused too', async () => {
    const { file } = await config();
    const refused = spawnSync(process.execPath, [...CLI, 'serve', '--config', file], { cwd: REPO, encoding: 'utf8', timeout: 20_000, env: { ...process.env, LLM_MANAGER_API_KEYS: '' } });
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain('refusing to listen on 0.0.0.0');
    expect(refused.stderr).toContain('LLM_MANAGER_API_KEYS');
    const weak = spawnSync(process.execPath, [...CLI, 'serve', '--config', file], { cwd: REPO, encoding: 'utf8', timeout: 20_000, env: { ...process.env, LLM_MANAGER_API_KEYS: 'short' } });
    expect(weak.status).toBe(1);
    expect(weak.stderr).toContain('LLM_MANAGER_API_KEYS: key 1 is not a key of 16 or more printable characters');
  });

  it('parses commas and white space, drops repeats', () => {
    expect(apiKeysFromEnv({})).toEqual({ keys: [], problem: null });
    expect(apiKeysFromEnv({ LLM_MANAGER_API_KEYS: `${KEY},${KEY}\n${KEY}x` })).toEqual({ keys: [KEY, `${KEY}x`], problem: null });
    expect(apiKeysFromEnv({ LLM_MANAGER_API_KEYS: `${KEY}, naïve-key-0123456789abc` }).problem).toContain('key 2');
  });
});
