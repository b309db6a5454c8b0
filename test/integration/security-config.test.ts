// Config safety and safe binding, through a running node: saves are atomic with a .bak, a file
// edited into an invalid state keeps the last good config running, the node never writes
// config.yaml on its own, and it refuses to listen beyond loopback without keys.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src-main/core/logger.js';
import { createNode, ListenError } from '../../src-main/core/node.js';
import { chat, postJson, waitFor } from '../helpers/http.js';
import { closeAllNodes, startNode } from '../helpers/node-fixture.js';
import { freePorts } from '../helpers/ports.js';
import { rawRequest } from '../helpers/raw-http.js';

afterEach(closeAllNodes);

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

function snapshot(file: string) {
  const stat = fs.statSync(file);
  return { text: fs.readFileSync(file, 'utf8'), mtimeMs: stat.mtimeMs, ino: stat.ino, size: stat.size };
}

describe('config.yaml is written only by an explicit save', () => {
  it('running, serving, starting/stopping and reading the config leave the file untouched', async () => {
    const fx = await startNode({ models: [{ name: 'demo', flags: ['--load-ms', '20'] }], nodeOptions: { webUiDir: null } });
    const before = snapshot(fx.configPath);
    expect((await postJson(`${fx.url}/v1/chat/completions`, chat('demo'))).status).toBe(200);
    await fx.node.api.stopModel('demo');
    await fx.node.api.startModel('demo');
    await fx.node.api.getConfig();
    await fx.node.api.modelLogs('demo');
    await fx.node.api.stopAll();
    await fetch(`${fx.url}/api/config`);
    await fx.node.close();
    expect(snapshot(fx.configPath)).toEqual(before);
    expect(fs.existsSync(`${fx.configPath}.bak`)).toBe(false);
  });

  it('a save is atomic: new text in place, the previous one as .bak, no temp file left; an invalid text writes nothing', async () => {
    const fx = await startNode({ models: [{ name: 'demo', flags: ['--load-ms', '20'] }], nodeOptions: { webUiDir: null } });
    const original = fs.readFileSync(fx.configPath, 'utf8');
    const edited = original.replace('log_level: ERROR', 'log_level: WARNING');
    expect(edited).not.toBe(original);
    const saved = await fx.node.api.saveConfig(edited);
    expect(saved.ok).toBe(true);
    expect(fs.readFileSync(fx.configPath, 'utf8')).toBe(edited);
    expect(fs.readFileSync(`${fx.configPath}.bak`, 'utf8')).toBe(original);
    expect(fs.readdirSync(fx.dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    expect(fx.node.config.program.logLevel).toBe('warn');

    const bad = await fx.node.api.saveConfig(`${edited}\n  port: [oops\n`);
    expect(bad.ok).toBe(false);
    expect(bad.issues[0]).toMatchObject({ severity: 'error', line: expect.any(Number), col: expect.any(Number) });
    expect(fs.readFileSync(fx.configPath, 'utf8')).toBe(edited);
    expect(fs.readFileSync(`${fx.configPath}.bak`, 'utf8')).toBe(original);
  });

  it('an edit on disk that breaks the file keeps the last good config running and reports the error', async () => {
    const fx = await startNode({ models: [{ name: 'demo', flags: ['--load-ms', '20'] }], nodeOptions: { webUiDir: null } });
    const good = fs.readFileSync(fx.configPath, 'utf8');
    const port = fx.node.config.models[0]!.port;
    fs.writeFileSync(fx.configPath, good.replace(`port: ${port}`, 'port: "not a port"'));
    await waitFor(async () => (await fx.node.api.getConfig()).issues.length > 0, 5000, 'the broken file to be reported');
    const issue = (await fx.node.api.getConfig()).issues[0]!;
    expect(issue.path).toBe('Local-Models.demo.port');
    expect(issue.line).toBeGreaterThan(1);
    // Still running the last good config: the model is served.
    expect(fx.node.config.models[0]!.port).toBe(port);
    expect((await postJson(`${fx.url}/v1/chat/completions`, chat('demo'))).status).toBe(200);
    // The node did not "repair" the file.
    expect(fs.readFileSync(fx.configPath, 'utf8')).toContain('"not a port"');

    fs.writeFileSync(fx.configPath, good.replace('log_level: ERROR', 'log_level: WARNING'));
    await waitFor(() => fx.node.config.program.logLevel === 'warn', 5000, 'the fixed file to apply');
    expect((await fx.node.api.getConfig()).issues).toEqual([]);
  });
});

describe('binding beyond loopback', () => {
  function configWith(dir: string, port: number, program: Record<string, unknown>): string {
    const file = path.join(dir, 'config.yaml');
    const lines = [`program:`, `  host: "127.0.0.1"`, `  port: ${port}`, `  log_dir: logs`, ...Object.entries(program).map(([k, v]) => `  ${k}: ${JSON.stringify(v)}`), 'Local-Models: {}', ''];
    fs.writeFileSync(file, lines.join('\n'));
    return file;
  }

  it('refuses 0.0.0.0 without api_keys, saying how to fix it; starts with keys or an explicit allow_insecure_lan', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'llm-bind-'));
    try {
      const [port] = await freePorts(1);
      const bare = configWith(dir, port!, {});
      const refused = createNode({ configPath: bare, host: '0.0.0.0', logger: silentLogger, watchConfig: false, webUiDir: null });
      await expect(refused).rejects.toBeInstanceOf(ListenError);
      await expect(refused).rejects.toThrow(/api_keys[\s\S]*127\.0\.0\.1[\s\S]*allow_insecure_lan: true/);
      // Nothing listens.
      await expect(fetch(`http://127.0.0.1:${port}/api/health`)).rejects.toThrow();

      const keyed = configWith(dir, port!, { api_keys: ['k-0123456789abcdefgh'] });
      const node = await createNode({ configPath: keyed, host: '0.0.0.0', logger: silentLogger, watchConfig: false, webUiDir: null });
      try {
        expect((await fetch(`${node.url}/api/health`)).status).toBe(401);
        const ok = await fetch(`${node.url}/api/health`, { headers: { authorization: 'Bearer k-0123456789abcdefgh' } });
        expect(ok.status).toBe(200);
        // On the LAN, clients use the machine's address in Host: accepted (an IP can't be rebound); names still can't.
        const byIp = await rawRequest(node.url, { path: '/api/health', headers: { host: `192.168.1.20:${port}`, authorization: 'Bearer k-0123456789abcdefgh' } });
        expect(byIp.status).toBe(200);
        const byName = await rawRequest(node.url, { path: '/api/health', headers: { host: `attacker.example:${port}`, authorization: 'Bearer k-0123456789abcdefgh' } });
        expect(byName.status).toBe(403);
      } finally {
        await node.close();
      }

      const open = configWith(dir, port!, { allow_insecure_lan: true });
      const warnings: string[] = [];
      const lan = await createNode({ configPath: open, host: '0.0.0.0', logger: { ...silentLogger, warn: (m) => warnings.push(m) }, watchConfig: false, webUiDir: null });
      try {
        // (rawRequest: a fresh connection, not fetch's pooled one to the node closed above on the same port)
        expect((await rawRequest(lan.url, { path: '/api/health' })).status).toBe(200);
        expect(warnings.join('\n')).toContain('without API keys');
      } finally {
        await lan.close();
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the CLI exits 1 with the explanation for --host 0.0.0.0 without keys', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'llm-bind-'));
    try {
      const [port] = await freePorts(1);
      const file = configWith(dir, port!, {});
      const run = spawnSync(process.execPath, ['--import', 'tsx', path.join(REPO, 'src-main/cli.ts'), 'serve', '--config', file, '--host', '0.0.0.0'], {
        cwd: REPO,
        encoding: 'utf8',
        timeout: 20_000,
      });
      expect(run.status).toBe(1);
      expect(run.stderr).toContain('refusing to listen on 0.0.0.0');
      expect(run.stderr).toContain('api_keys');
      expect(run.stderr).not.toContain('    at '); // a message, not a stack trace
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
