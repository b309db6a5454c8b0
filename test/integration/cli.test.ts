// `llm-manager serve` as users run it: its own process, a real config, real engines.
// (Run from the repo folder so `--import tsx` resolves; every config path is given explicitly.)
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/http.js';
import { DEMO_ENGINE } from '../helpers/node-fixture.js';
import { freePorts } from '../helpers/ports.js';
import { isProcessRunning } from '../helpers/processes.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CLI = ['--import', 'tsx', path.join(REPO, 'src-main/cli.ts')];
const running = new Set<ChildProcess>();
const dirs: string[] = [];

afterEach(() => {
  for (const proc of running) proc.kill('SIGKILL');
  running.clear();
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'llm-cli-'));
  dirs.push(dir);
  return dir;
}

function serve(args: string[], cwd: string) {
  const proc = spawn(process.execPath, [...CLI, 'serve', ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(proc);
  let output = '';
  proc.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  // 'close', not 'exit': the last lines on stdout/stderr may come after the process has exited.
  const exited = new Promise<number | null>((resolve) => proc.once('close', (code) => resolve(code)));
  return { proc, output: () => output, exited };
}

async function writeConfig(dir: string, autoStart: boolean) {
  const [routerPort, enginePort] = await freePorts(2);
  const configPath = path.join(dir, 'config.yaml');
  fs.writeFileSync(
    configPath,
    stringify({
      program: { port: 8080, alive_time: 0, Disable_GPU_monitoring: true },
      'Local-Models': {
        'auto-model': {
          aliases: ['am'],
          port: enginePort,
          auto_start: autoStart,
          'CPU-Config': { required_devices: [], command: process.execPath, args: [DEMO_ENGINE, '--load-ms', '50'] },
        },
      },
    }),
  );
  return { configPath, routerPort: routerPort! };
}

describe('llm-manager serve', () => {
  it.each(['SIGTERM', 'SIGINT'] as const)('starts auto_start models with the node, prints where it listens, and on %s stops every engine before exiting', async (signal) => {
    const dir = tempDir();
    const { configPath, routerPort } = await writeConfig(dir, true);
    const cli = serve(['--config', configPath, '--port', String(routerPort)], REPO);
    await waitFor(() => cli.output().includes('Press Ctrl+C to stop'), 20_000, 'the banner');
    expect(cli.output()).toContain(`OpenAI-compatible endpoint: http://127.0.0.1:${routerPort}/v1`);
    expect(cli.output()).toMatch(/auto-model \(aliases: am\) — Chat, port \d+, auto start/);

    // Nobody asked for it: auto_start alone brings it up.
    let pid = 0;
    await waitFor(async () => {
      const info = (await (await fetch(`http://127.0.0.1:${routerPort}/api/models/auto-model/info`)).json()) as { state: string; pid: number };
      pid = info.pid;
      return info.state === 'ready';
    }, 10_000, 'the auto_start model to be ready');
    expect(isProcessRunning(pid)).toBe(true);

    cli.proc.kill(signal);
    expect(await cli.exited).toBe(0);
    expect(isProcessRunning(pid)).toBe(false);
    expect(cli.output()).toContain('All engines stopped');
  });

  it("writes its own messages to stderr and to logs/llm-manager+node.log beside the engines' logs", async () => {
    const dir = tempDir();
    const { configPath, routerPort } = await writeConfig(dir, false);
    const cli = serve(['--config', configPath, '--port', String(routerPort)], REPO);
    await waitFor(() => cli.output().includes('Press Ctrl+C to stop'), 20_000, 'the banner');
    // An edit on disk: the node says what it applied.
    fs.writeFileSync(configPath, fs.readFileSync(configPath, 'utf8').replace('alive_time: 0', 'alive_time: 3'));
    await waitFor(() => cli.output().includes('config file edited on disk, applied: auto-model updated.'), 10_000, 'the reload message');
    const file = path.join(dir, 'logs', 'llm-manager+node.log');
    await waitFor(() => fs.existsSync(file) && fs.readFileSync(file, 'utf8').includes('config file edited on disk, applied: auto-model updated.'), 5000, 'the line in the file');
    expect(fs.readFileSync(file, 'utf8')).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z INFO  config file edited on disk, applied: /m);
    // One line for the edit, not two.
    expect(cli.output().split('\n').filter((l) => l.includes('auto-model updated')).length).toBe(1);
    cli.proc.kill('SIGTERM');
    expect(await cli.exited).toBe(0);
  });

  /** serve on a config path that does not exist yet (it is created from config.example.yaml). */
  async function serveNewConfig() {
    const [port] = await freePorts(1);
    const configPath = path.join(tempDir(), 'config.yaml');
    return { configPath, cli: serve(['--config', configPath, '--port', String(port)], REPO) };
  }

  it('creates a missing config from config.example.yaml in a folder that exists, and says so', async () => {
    const { configPath, cli } = await serveNewConfig();
    await waitFor(() => cli.output().includes('Press Ctrl+C to stop'), 20_000, 'the banner');
    expect(cli.output()).toContain(`No config found: created ${configPath} from config.example.yaml`);
    expect(cli.output()).toMatch(/demo \(aliases: gpt-3\.5-turbo, demo-chat\)/);
    expect(fs.existsSync(configPath)).toBe(true);
    cli.proc.kill('SIGTERM');
    expect(await cli.exited).toBe(0);
  });

  it('a SIGTERM while the node is still starting is not fatal: it stops the node once it is up and exits 0', async () => {
    const { cli } = await serveNewConfig();
    // Written just before the node is created: the signal lands while it starts.
    await waitFor(() => cli.output().includes('No config found'), 20_000, 'the first line');
    cli.proc.kill('SIGTERM');
    expect(await cli.exited).toBe(0);
    expect(cli.output()).toContain('SIGTERM: stopping every engine...');
    expect(cli.output()).toContain('All engines stopped');
  });

  it.each(['--config', 'LLM_MANAGER_CONFIG'])('refuses a config path (%s) whose folder does not exist with a clear message and exit 1, instead of serving the demo', (how) => {
    const dir = tempDir();
    const configPath = path.join(dir, 'no-such-folder', 'config.yaml');
    const run = spawnSync(process.execPath, [...CLI, 'serve', ...(how === '--config' ? ['--config', configPath] : []), '--port', '0'], {
      cwd: REPO,
      encoding: 'utf8',
      timeout: 20_000,
      env: how === '--config' ? process.env : { ...process.env, LLM_MANAGER_CONFIG: configPath },
    });
    expect(run.status).toBe(1);
    expect(run.stderr.trim()).toBe(
      `config file not found: ${configPath}, and its folder ${path.join(dir, 'no-such-folder')} does not exist either. Check the path: a new config is created only in a folder that exists.`,
    );
    expect(run.stdout).not.toContain('Press Ctrl+C');
    expect(fs.existsSync(path.join(dir, 'no-such-folder'))).toBe(false);
  });

  it('refuses an invalid config with file:line:col and the key, never a stack trace, and exits 1', async () => {
    const dir = tempDir();
    const configPath = path.join(dir, 'config.yaml');
    fs.writeFileSync(configPath, 'program:\n  port: 8080\nLocal-Models:\n  bad:\n    port: "abc"\n    P:\n      command: node\n');
    const run = spawnSync(process.execPath, [...CLI, 'serve', '--config', configPath], { cwd: REPO, encoding: 'utf8', timeout: 20_000 });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('config.yaml:5:11 Local-Models.bad.port: expected an integer 1-65535, got "abc"');
    expect(run.stderr).not.toMatch(/^\s+at /m);
  });

  it.each([
    [['--port', 'abc'], 2, '--port expects a number 0-65535, got "abc"'],
    [['frobnicate'], 2, 'unknown command: frobnicate'],
    [['--bogus'], 2, "Unknown option '--bogus'"],
  ])('answers bad arguments %j with exit %i and a usage message', (args, code, message) => {
    const run = spawnSync(process.execPath, [...CLI, ...args], { cwd: REPO, encoding: 'utf8', timeout: 20_000 });
    expect(run.status).toBe(code);
    expect(run.stderr).toContain(message);
    expect(run.stderr).toContain('Usage: llm-manager serve');
  });

  it('tells a server operator what happens, one line each: starts, ready, stops and why, failures, saves, holds, refused keys (rate-limited)', async () => {
    const dir = tempDir();
    const [routerPort, demoPort, brokenPort] = await freePorts(3);
    const key = 'operator-log-key-0123456789';
    const config = (extra: Record<string, unknown> = {}) =>
      stringify({
        program: { port: routerPort, alive_time: 0, Disable_GPU_monitoring: true, api_keys: [key], log_dir: 'logs' },
        'Local-Models': {
          demo: { port: demoPort, 'CPU-Config': { required_devices: [], command: process.execPath, args: [DEMO_ENGINE, '--load-ms', '50', '--quiet'] } },
          broken: { port: brokenPort, 'CPU-Config': { required_devices: [], command: process.execPath, args: ['-e', 'process.exit(3)'] } },
          ...extra,
        },
      });
    const configPath = path.join(dir, 'config.yaml');
    fs.writeFileSync(configPath, config());
    const cli = serve(['--config', configPath], REPO);
    await waitFor(() => cli.output().includes('Press Ctrl+C to stop'), 20_000, 'the banner');
    const url = `http://127.0.0.1:${routerPort}`;
    const auth = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
    const chatBody = (model: string) => JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }] });

    expect((await fetch(`${url}/v1/chat/completions`, { method: 'POST', headers: auth, body: chatBody('demo') })).status).toBe(200);
    expect((await fetch(`${url}/v1/chat/completions`, { method: 'POST', headers: auth, body: chatBody('broken') })).status).toBe(503);
    expect((await fetch(`${url}/api/models/demo/stop`, { method: 'POST', headers: auth })).status).toBe(200);
    for (let i = 0; i < 3; i++) expect((await fetch(`${url}/v1/models`)).status).toBe(401);
    const save = await fetch(`${url}/api/config`, { method: 'POST', headers: auth, body: JSON.stringify({ text: config({ extra: { port: 1, aliases: ['x'], P: { required_devices: [], command: process.execPath } } }) }) });
    expect(save.status).toBe(200);
    expect((await fetch(`${url}/api/hold`, { method: 'POST', headers: auth })).status).toBe(200);
    expect((await fetch(`${url}/api/release`, { method: 'POST', headers: auth })).status).toBe(200);
    const lines = () => cli.output().split('\n');
    const has = (re: RegExp) => lines().some((l) => re.test(l));
    await waitFor(() => has(/INFO +config saved \(window\/API\): .*added extra/), 5000, 'the save line');
    expect(has(/INFO +\[demo\] starting demo \(profile CPU-Config, port \d+\)/)).toBe(true);
    expect(has(/INFO +\[demo\] demo is ready \(\d+ ms, pid \d+, port \d+\)/)).toBe(true);
    expect(has(/INFO +\[demo\] stopping demo: stop requested/)).toBe(true);
    expect(has(/ERROR +broken failed: broken exited before it was ready \(exit code 3\)/)).toBe(true);
    expect(has(/INFO +models held/)).toBe(true);
    expect(has(/INFO +models released/)).toBe(true);
    // Three refusals: the first said at once, the rest collected for a summary a minute later.
    expect(lines().filter((l) => l.includes('without a valid API key')).length).toBe(1);
    expect(has(/INFO +refused a request without a valid API key \(missing_api_key\) from 127\.0\.0\.1/)).toBe(true);
    // The key itself never reaches the log.
    expect(cli.output()).not.toContain(key);
    cli.proc.kill('SIGTERM');
    expect(await cli.exited).toBe(0);
    // The same lines went to the node's log file.
    expect(fs.readFileSync(path.join(dir, 'logs', 'llm-manager+node.log'), 'utf8')).toMatch(/broken failed: /);
  });

  it('prints its help', () => {
    const run = spawnSync(process.execPath, [...CLI, '--help'], { cwd: REPO, encoding: 'utf8', timeout: 20_000 });
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('--config PATH');
  });
});
