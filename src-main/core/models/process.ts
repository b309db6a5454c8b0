// The operating-system side of running an engine: how a profile becomes a command line, how a
// process tree is signalled, and the two network probes (port taken? health answering?).
import { spawn, type ChildProcess, type SpawnOptions as NodeSpawnOptions } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import net from 'node:net';
import { delimiter, extname, isAbsolute, join } from 'node:path';
import treeKill from 'tree-kill';
import type { LaunchProfile } from '../../../src-shared/config.js';
import { http } from '../node-http.js';
import { readProcStat } from './proc-stat.js';

export interface LaunchCommand {
  file: string;
  args: string[];
  /** Pass args to cmd.exe untouched (it has its own quoting rules). */
  windowsVerbatimArguments?: boolean;
}

/** How a profile is launched: `.sh` with bash, `.bat`/`.cmd` with cmd.exe, `.ps1` with PowerShell, or command + args. */
export function launchCommandFor(profile: LaunchProfile, platform: NodeJS.Platform = process.platform): LaunchCommand {
  if (profile.command) return { file: profile.command, args: profile.args };
  const script = profile.scriptPath!;
  const ext = extname(script).toLowerCase();
  if (ext === '.bat' || ext === '.cmd') {
    if (platform !== 'win32') throw new Error(`${script} is a Windows batch file; on this system use a .sh script or command + args`);
    return { file: process.env['ComSpec'] || 'cmd.exe', args: ['/d', '/s', '/c', `"${script}"`], windowsVerbatimArguments: true };
  }
  if (ext === '.ps1') {
    return { file: platform === 'win32' ? 'powershell.exe' : 'pwsh', args: ['-NoProfile', '-ExecutionPolicy', 'Bypass', '-File', script, ...profile.args] };
  }
  if (ext === '.sh') return { file: 'bash', args: [script, ...profile.args] };
  return { file: script, args: profile.args };
}

/** Whether a profile's script or command can be found, and if not, why. */
export function launchProblem(profile: LaunchProfile, platform: NodeJS.Platform = process.platform): string | null {
  if (profile.scriptPath) {
    if (!existsSync(profile.scriptPath)) return `script not found: ${profile.scriptPath}`;
    try {
      launchCommandFor(profile, platform);
    } catch (err) {
      return (err as Error).message;
    }
    return null;
  }
  const command = profile.command!;
  return findExecutable(command, platform) ? null : `command not found: ${command}`;
}

export function findExecutable(command: string, platform: NodeJS.Platform = process.platform): string | null {
  const exts = platform === 'win32' ? ['', ...(process.env['PATHEXT'] ?? '.EXE;.CMD;.BAT;.COM').split(';')] : [''];
  const isFile = (p: string) => {
    try {
      return statSync(p).isFile();
    } catch {
      return false;
    }
  };
  if (isAbsolute(command) || command.includes('/') || command.includes('\\')) {
    return exts.map((e) => command + e).find(isFile) ?? null;
  }
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    if (!dir) continue;
    for (const ext of exts) {
      const candidate = join(dir, command + ext);
      if (isFile(candidate)) return candidate;
    }
  }
  return null;
}

export interface SpawnOptions {
  cwd: string;
  env: NodeJS.ProcessEnv;
}

export function spawnEngine(launch: LaunchCommand, options: SpawnOptions): ChildProcess {
  return spawn(launch.file, launch.args, engineSpawnOptions(launch, options));
}

/**
 * POSIX: the engine leads its own process group, so a stop (and the reaper) reaches the script's
 * children too. Windows: never detached, because libuv puts every non-detached child into one job
 * object of the app's with JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE: Windows kills that child when the
 * app exits in any way, crash and Task Manager included. The job also allows silent breakaway, so
 * processes a .bat or .ps1 script starts are outside it; those are stopped with the tree
 * (taskkill /T), but a crash orphans them (the README says to use command + args there).
 * POSIX engines outlive a crashed node only until its watchdog notices (engine-watchdog.ts).
 */
export function engineSpawnOptions(launch: LaunchCommand, options: SpawnOptions, platform: NodeJS.Platform = process.platform): NodeSpawnOptions {
  return {
    cwd: options.cwd,
    env: options.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: platform !== 'win32',
    windowsHide: true,
    windowsVerbatimArguments: launch.windowsVerbatimArguments ?? false,
  };
}

/** Signals every process of the engine: its group on POSIX, its tree on Windows. */
export function signalTree(pid: number, signal: NodeJS.Signals): void {
  if (process.platform === 'win32') {
    treeKill(pid, signal, () => undefined);
    return;
  }
  try {
    process.kill(-pid, signal);
  } catch {
    // group already gone
  }
}

/** True while any process of the engine's group still exists (POSIX); on Windows, the leader. */
export function treeAlive(pid: number): boolean {
  try {
    process.kill(process.platform === 'win32' ? pid : -pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  // kill(-pgid, 0) also succeeds for a group of zombies: an orphaned engine that exited but that
  // init hasn't reaped yet (never, in a container without one). On Linux, look at the members.
  return process.platform === 'linux' ? groupHasLiveMember(pid) : true;
}

function groupHasLiveMember(pgid: number): boolean {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return true;
  }
  for (const entry of entries) {
    const c = entry.charCodeAt(0);
    if (c < 48 || c > 57) continue;
    const stat = readProcStat(entry);
    if (stat && stat.pgid === pgid && stat.state !== 'Z' && stat.state !== 'X') return true;
  }
  return false;
}

/** Whether something already accepts connections on 127.0.0.1:port. */
export function isPortInUse(port: number, host = '127.0.0.1', timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host });
    const done = (inUse: boolean) => {
      socket.destroy();
      resolve(inUse);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

const probeAgent = new http.Agent({ keepAlive: true, maxSockets: 4 });

/** GET http://127.0.0.1:port/path → status code, or null when nothing answers. `key`: the engine's own (program.engine_keys). */
export function probeHealth(port: number, path: string, timeoutMs = 2000, key: string | null = null): Promise<number | null> {
  return new Promise((resolve) => {
    const headers = key ? { authorization: `Bearer ${key}` } : undefined;
    const req = http.get({ host: '127.0.0.1', port, path, agent: probeAgent, timeout: timeoutMs, headers }, (res) => {
      res.resume();
      resolve(res.statusCode ?? null);
    });
    req.once('timeout', () => req.destroy());
    req.once('error', () => resolve(null));
  });
}
