import { describe, expect, it } from 'vitest';
import type { LaunchProfile, ModelConfig } from '../../src-shared/config.js';
import { engineSpawnOptions, launchCommandFor, launchProblem } from '../../src-main/core/models/process.js';
import { idleDeadline } from '../../src-main/core/scheduler/idle.js';
import { NoProfileError } from '../../src-main/core/scheduler/profile.js';
import { profile } from '../helpers/launch-profile.js';


describe('launchCommandFor', () => {
  it.each([
    ['/x/run.sh', 'linux', 'bash', ['/x/run.sh', '--flag']],
    ['C:\\m\\run.bat', 'win32', 'cmd', ['/d', '/s', '/c', '"C:\\m\\run.bat"']],
    ['C:\\m\\run.CMD', 'win32', 'cmd', ['/d', '/s', '/c', '"C:\\m\\run.CMD"']],
    ['/x/run.ps1', 'linux', 'pwsh', ['-NoProfile', '-ExecutionPolicy', 'Bypass', '-File', '/x/run.ps1', '--flag']],
    ['/x/engine', 'linux', '/x/engine', ['--flag']],
  ] as const)('%s on %s runs with %s', (script, platform, file, args) => {
    const launch = launchCommandFor(profile({ scriptPath: script, args: ['--flag'] }), platform);
    expect(launch.file.toLowerCase()).toContain(file.toLowerCase());
    expect(launch.args).toEqual(args);
  });

  it('refuses a .bat script outside Windows with a message saying what to use', () => {
    expect(() => launchCommandFor(profile({ scriptPath: '/x/run.bat' }), 'linux')).toThrow(/Windows batch file.*\.sh script or command/);
  });

  it('runs command + args as given, without a shell', () => {
    expect(launchCommandFor(profile({ command: 'llama-server', args: ['-m', 'a b.gguf'] }), 'linux')).toEqual({ file: 'llama-server', args: ['-m', 'a b.gguf'] });
  });
});

describe('engineSpawnOptions', () => {
  const where = { cwd: '/m', env: { A: '1' } };

  it('gives a POSIX engine its own process group, so a stop reaches what its script started', () => {
    const options = engineSpawnOptions({ file: 'bash', args: ['/m/run.sh'] }, where, 'linux');
    expect(options).toMatchObject({ cwd: '/m', env: { A: '1' }, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  });

  it("keeps a Windows engine attached, so it stays in libuv's kill-on-close job and dies with the app", () => {
    const launch = launchCommandFor(profile({ scriptPath: 'C:\\m\\run.bat' }), 'win32');
    const options = engineSpawnOptions(launch, where, 'win32');
    expect(options.detached).toBe(false);
    expect(options.windowsHide).toBe(true); // no console window flashing up
    expect(options.windowsVerbatimArguments).toBe(true); // cmd /s /c "..." quoting is ours
  });
});

describe('launchProblem', () => {
  const model = (profiles: LaunchProfile[]): ModelConfig => ({
    name: 'm', aliases: [], mode: 'Chat', port: 1, autoStart: false, aliveTimeMs: 0, healthPath: '/health', servedModelName: null, startTimeoutMs: 1, stopTimeoutMs: 1, maxConnections: null, profiles,
  });

  it('explains a missing script or command', () => {
    expect(launchProblem(profile({ scriptPath: '/nonexistent/run.sh' }))).toBe('script not found: /nonexistent/run.sh');
    expect(launchProblem(profile({ command: 'surely-not-a-command-xyz' }))).toBe('command not found: surely-not-a-command-xyz (not on PATH)');
    expect(launchProblem(profile({ command: process.execPath }))).toBeNull();
    expect(launchProblem(profile({ command: 'node' }))).toBeNull();
  });

  it('names every profile and why it could not start when none can launch', () => {
    const m = model([profile({ name: 'A', scriptPath: '/nope.sh' }), profile({ name: 'B', command: 'nope-cmd-xyz' })]);
    const err = new NoProfileError(m.name, m.profiles.map((p) => ({ profile: p.name, reason: launchProblem(p)! })));
    expect((err as Error).message).toBe('no launch profile of m can start: A: script not found: /nope.sh; B: command not found: nope-cmd-xyz (not on PATH)');
  });
});

describe('idleDeadline', () => {
  it.each([
    [{ aliveTimeMs: 60_000, inFlight: 0, lastActivity: 1_000 }, 61_000],
    [{ aliveTimeMs: 60_000, inFlight: 1, lastActivity: 1_000 }, null],
    [{ aliveTimeMs: 0, inFlight: 0, lastActivity: 1_000 }, null],
  ])('%o → %s', (input, expected) => {
    expect(idleDeadline(input)).toBe(expected);
  });
});

describe('parseProcStat', () => {
  it('reads state, parent, group and start time even when the command name holds spaces and parentheses', async () => {
    const { parseProcStat } = await import('../../src-main/core/models/proc-stat.js');
    const line = '4242 (llama (server) x) S 4000 4242 4000 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 987654 1000 10';
    expect(parseProcStat(line)).toEqual({ state: 'S', ppid: 4000, pgid: 4242, startTime: '987654' });
    expect(parseProcStat('garbage')).toBeNull();
  });
});
