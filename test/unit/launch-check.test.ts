// What the node can tell about a config before a start (launch-check.ts): scripts, commands and
// cwd checked the way the spawn will meet them, device names against the devices present, each
// issue located at the key it is about, like the parser's own.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { formatIssue, parseConfigText } from '../../src-shared/config.js';
import type { DeviceReading } from '../../src-shared/contract.js';
import { checkLaunch } from '../../src-main/core/config/launch-check.js';
import { resolveConfigPaths } from '../../src-main/core/config/load.js';
import { findExecutable, launchIssue, launchProblem } from '../../src-main/core/models/process.js';
import { profile } from '../helpers/launch-profile.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'launch-check-'));
  dirs.push(dir);
  return dir;
}

function file(dir: string, name: string, mode = 0o755, text = '#!/bin/sh\n'): string {
  const p = path.join(dir, name);
  fs.mkdirSync(path.dirname(p), { recursive: true });
  fs.writeFileSync(p, text, { mode });
  fs.chmodSync(p, mode);
  return p;
}


const gpu = (index: number, name: string): DeviceReading => ({
  id: `gpu${index}`, kind: 'gpu', vendor: 'nvidia', index, name, online: true, offlineReason: null,
  memory: { totalMb: 24_000, usedMb: 0, freeMb: 24_000 }, utilizationPct: 0, temperatureC: 30, powerW: 20, holders: [],
});
const cpu: DeviceReading = { ...gpu(0, 'Ryzen 9'), id: 'cpu', kind: 'cpu', vendor: 'amd', index: null };

describe('launchProblem: what a spawn would fail on, before it', () => {
  it('finds a bare command on PATH only where it is executable, like execvp', () => {
    const dir = tempDir();
    file(path.join(dir, 'a'), 'engine', 0o644);
    const good = file(path.join(dir, 'b'), 'engine', 0o755);
    const env = { PATH: [path.join(dir, 'a'), path.join(dir, 'b')].join(path.delimiter) };
    expect(findExecutable('engine', 'linux', env)).toBe(good);
    expect(launchProblem(profile({ command: 'engine' }), 'linux', env)).toBeNull();
    // Only the non-executable one: said so, with where it is.
    expect(launchProblem(profile({ command: 'engine' }), 'linux', { PATH: path.join(dir, 'a') })).toBe(
      `command is not executable: ${path.join(dir, 'a', 'engine')} (found on PATH as engine); chmod +x it`,
    );
    expect(launchProblem(profile({ command: 'engine' }), 'linux', { PATH: path.join(dir, 'c') })).toBe('command not found: engine (not on PATH)');
    // The profile's own PATH is the one the engine is spawned with.
    expect(launchProblem(profile({ command: 'engine', env: { PATH: path.join(dir, 'b') } }), 'linux', { PATH: '' })).toBeNull();
  });

  it('explains a command path that is missing, a folder or not executable', () => {
    const dir = tempDir();
    const plain = file(dir, 'plain', 0o644);
    expect(launchIssue(profile({ command: path.join(dir, 'nope') }), 'linux')).toEqual({
      field: 'command', message: `command not found: ${path.join(dir, 'nope')}`, plain: `its command ${path.join(dir, 'nope')} does not exist`,
    });
    expect(launchProblem(profile({ command: dir }), 'linux')).toBe(`command is a folder, not a program: ${dir}`);
    expect(launchProblem(profile({ command: plain }), 'linux')).toBe(`command is not executable: ${plain}; chmod +x it`);
  });

  it('checks scripts: there, a file, runnable here, executable when run directly', () => {
    const dir = tempDir();
    const sh = file(dir, 'run.sh', 0o644); // run with bash: needs no x bit
    const direct = file(dir, 'run', 0o644);
    expect(launchProblem(profile({ scriptPath: sh }), 'linux')).toBeNull();
    expect(launchProblem(profile({ scriptPath: direct }), 'linux')).toBe(`script is not executable: ${direct} (chmod +x it, or name it .sh to run it with bash)`);
    expect(launchProblem(profile({ scriptPath: path.join(dir, 'gone.sh') }), 'linux')).toBe(`script not found: ${path.join(dir, 'gone.sh')}`);
    expect(launchProblem(profile({ scriptPath: dir }), 'linux')).toBe(`script_path is a folder, not a script: ${dir}`);
    const bat = file(dir, 'run.bat');
    expect(launchProblem(profile({ scriptPath: bat }), 'linux')).toMatch(/Windows batch file/);
    // .sh needs bash where the engine's PATH leads.
    expect(launchProblem(profile({ scriptPath: sh, env: { PATH: path.join(dir, 'empty') } }), 'linux')).toBe(`bash not found, which runs .sh scripts: ${sh}`);
  });

  it('checks the cwd first: a missing folder fails every spawn', () => {
    const dir = tempDir();
    expect(launchIssue(profile({ command: process.execPath, cwd: path.join(dir, 'models') }), 'linux')).toEqual({
      field: 'cwd', message: `folder not found (cwd): ${path.join(dir, 'models')}`, plain: `its cwd ${path.join(dir, 'models')} does not exist`,
    });
    const f = file(dir, 'f');
    expect(launchProblem(profile({ command: process.execPath, cwd: f }), 'linux')).toBe(`cwd is a file, not a folder: ${f}`);
  });

  it("on Windows, looks in the cwd and on PATH for name, name.com and name.exe, never a .bat/.cmd (Node won't spawn those)", () => {
    const dir = tempDir();
    const bin = path.join(dir, 'bin');
    const exe = file(bin, 'llama-server.exe');
    file(bin, 'npx.cmd');
    const env = { Path: bin }; // Windows spells it Path
    expect(findExecutable('llama-server', 'win32', env)).toBe(exe);
    expect(launchProblem(profile({ command: 'llama-server' }), 'win32', env)).toBeNull();
    expect(launchProblem(profile({ command: 'npx' }), 'win32', env)).toBe(
      `command npx is a batch file (${path.join(bin, 'npx.cmd')}): Windows runs those only through cmd.exe; use script_path: ${JSON.stringify(path.join(bin, 'npx.cmd'))} instead`,
    );
    expect(launchProblem(profile({ command: 'vllm' }), 'win32', env)).toBe('command not found: vllm (not on PATH)');
    // The profile's cwd is searched first, as libuv does.
    const local = file(path.join(dir, 'here'), 'engine.exe');
    expect(findExecutable('engine', 'win32', env, path.join(dir, 'here'))).toBe(local);
    // A script run directly must be a program Windows can start.
    expect(launchProblem(profile({ scriptPath: exe }), 'win32', env)).toBeNull();
    const py = file(dir, 'serve.py');
    expect(launchProblem(profile({ scriptPath: py }), 'win32', env)).toBe(`Windows can't run a .py directly: ${py} (use a .bat/.cmd/.ps1 script, or command + args)`);
  });
});

describe('checkLaunch', () => {
  const check = (text: string, dir: string, devices: DeviceReading[] | null = null) => {
    const parsed = parseConfigText(text);
    if (!parsed.ok) throw new Error(parsed.errors.map((e) => formatIssue('config.yaml', e)).join('\n'));
    const result = checkLaunch(resolveConfigPaths(parsed.config, dir), parsed.spans, { devices, platform: 'linux' });
    return { ...result, lines: result.issues.map((i) => formatIssue('config.yaml', i)), text };
  };

  it('locates each problem at its key, says whether another profile can still start the model, and names the models that cannot start', () => {
    const dir = tempDir();
    file(dir, 'engine.sh', 0o644);
    const text = [
      'Local-Models:',
      '  demo:',
      '    port: 10001',
      '    GPU-Config:',
      '      command: /x/y/llama-server',
      '    CPU-Config:',
      '      script_path: engine.sh',
      '  solo:',
      '    port: 10002',
      '    Only:',
      '      command: ./bin/engine',
      '      cwd: models',
      '  legacy:',
      '    port: 10003',
      '    Old:',
      '      bat_path: missing.sh',
      '',
    ].join('\n');
    const result = check(text, dir);
    expect(result.lines).toEqual([
      "config.yaml:5:16 Local-Models.demo.GPU-Config.command: command not found: /x/y/llama-server — this profile is skipped; CPU-Config can still start demo",
      `config.yaml:12:12 Local-Models.solo.Only.cwd: folder not found (cwd): ${path.join(dir, 'models')} — solo can't start`,
      // Under its older name, pointed at as written.
      `config.yaml:16:17 Local-Models.legacy.Old.bat_path: script not found: ${path.join(dir, 'missing.sh')} — legacy can't start`,
    ]);
    expect(result.issues.every((i) => i.severity === 'warning')).toBe(true);
    const commandIssue = result.issues[0]!;
    expect(text.slice(commandIssue.from, commandIssue.to)).toBe('/x/y/llama-server');
    expect(result.cannotStart).toEqual({ solo: `its cwd ${path.join(dir, 'models')} does not exist`, legacy: `its script ${path.join(dir, 'missing.sh')} does not exist` });
  });

  it('warns about a device name that matches no device present, at that name, and says which devices there are', () => {
    const dir = tempDir();
    const text = [
      'Local-Models:',
      '  big:',
      '    port: 10001',
      '    Dual-4090:',
      '      required_devices: ["rtx 4090", "rtx 4090"]',
      `      command: ${JSON.stringify(process.execPath)}`,
      '    One-3060:',
      '      required_devices: ["rtx 3060"]',
      '      memory_mb: { "rtx 3060": 9000, a100: 40000 }',
      `      command: ${JSON.stringify(process.execPath)}`,
      '    CPU:',
      '      required_devices: [cpu]',
      `      command: ${JSON.stringify(process.execPath)}`,
      '',
    ].join('\n');
    const devices = [gpu(0, 'NVIDIA GeForce RTX 3060'), gpu(1, 'NVIDIA GeForce RTX 4090'), cpu];
    const result = check(text, dir, devices);
    const here = 'GPUs here: gpu0: NVIDIA GeForce RTX 3060, gpu1: NVIDIA GeForce RTX 4090';
    expect(result.lines).toEqual([
      `config.yaml:4:5 Local-Models.big.Dual-4090: needs a device of its own for each of "rtx 4090" + "rtx 4090"; not enough devices match (${here}) — this profile is skipped; CPU can still start big`,
      `config.yaml:9:38 Local-Models.big.One-3060.memory_mb.a100: no device here matches "a100" (${here}) — this profile is skipped; CPU can still start big`,
    ]);
    expect(result.cannotStart).toEqual({});
    // Unknown devices (no reading): names aren't judged.
    expect(check(text, dir, null).lines).toEqual([]);
    // No GPU at all: every GPU profile is skipped, the CPU one runs.
    expect(check(text, dir, [cpu]).lines.map((l) => l.split(' — ')[0])).toEqual([
      'config.yaml:5:26 Local-Models.big.Dual-4090.required_devices[0]: no device here matches "rtx 4090" (no GPU found)',
      'config.yaml:8:26 Local-Models.big.One-3060.required_devices[0]: no device here matches "rtx 3060" (no GPU found)',
    ]);
  });

  it('checks the profile as this host launches it (the desktop app runs a bare `node` with its own binary)', () => {
    const dir = tempDir();
    const parsed = parseConfigText('Local-Models:\n  m:\n    port: 10001\n    P:\n      command: node-that-is-not-installed\n');
    if (!parsed.ok) throw new Error('invalid');
    const config = resolveConfigPaths(parsed.config, dir);
    expect(checkLaunch(config, parsed.spans, { devices: null, platform: 'linux' }).cannotStart).toEqual({ m: 'its command node-that-is-not-installed is not on PATH' });
    const adapted = checkLaunch(config, parsed.spans, { devices: null, platform: 'linux', adaptProfile: (p) => ({ ...p, command: process.execPath }) });
    expect(adapted).toEqual({ issues: [], cannotStart: {} });
  });
});
