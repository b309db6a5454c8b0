// The operating-system side of running an engine: how a profile becomes a command line, how a
// process tree is signalled, and the two network probes (port taken? health answering?).
import { spawn, type ChildProcess, type SpawnOptions as NodeSpawnOptions } from 'node:child_process';
import { accessSync, constants, readdirSync, statSync } from 'node:fs';
import net from 'node:net';
import { delimiter, extname, isAbsolute, join } from 'node:path';
import treeKill from 'tree-kill';
import type { LaunchProfile } from '../../../src-shared/config.js';
import { installHint } from '../engines/index.js';
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

/** Why a profile can't be launched: which field, the reason, and the reason as part of a sentence ("its command /x does not exist"). */
export interface LaunchIssue {
  field: 'cwd' | 'script_path' | 'command' | 'engine' | 'model' | 'mmproj';
  message: string;
  plain: string;
}

/**
 * Why a profile can't be launched as it is written, or null when it can: the checks a spawn would
 * fail on, made before it. A cwd that doesn't exist; a script that doesn't exist, is a folder,
 * needs an interpreter this system lacks (bash, PowerShell) or isn't executable; a command that
 * isn't found the way the spawn looks it up (PATH, the profile's own when its env sets one; on
 * Windows also the cwd and name.com / name.exe, but never a .bat/.cmd, which Node won't spawn
 * without a shell) or isn't executable.
 */
export function launchProblem(profile: LaunchProfile, platform: NodeJS.Platform = process.platform, env: NodeJS.ProcessEnv = process.env): string | null {
  return launchIssue(profile, platform, env)?.message ?? null;
}

export function launchIssue(profile: LaunchProfile, platform: NodeJS.Platform = process.platform, env: NodeJS.ProcessEnv = process.env): LaunchIssue | null {
  if (profile.upstream) return null; // a server we don't launch: its reachability is checked at start
  const lookupEnv = profile.env['PATH'] !== undefined ? { ...env, PATH: profile.env['PATH'] } : env;
  if (profile.cwd) {
    const kind = fileKind(profile.cwd);
    if (kind === null) return { field: 'cwd', message: `folder not found (cwd): ${profile.cwd}`, plain: `its cwd ${profile.cwd} does not exist` };
    if (kind !== 'dir') return { field: 'cwd', message: `cwd is a file, not a folder: ${profile.cwd}`, plain: `its cwd ${profile.cwd} is not a folder` };
  }
  if (profile.scriptPath) {
    const script = profile.scriptPath;
    const issue = (message: string, plain: string): LaunchIssue => ({ field: 'script_path', message, plain });
    const kind = fileKind(script);
    if (kind === null) return issue(`script not found: ${script}`, `its script ${script} does not exist`);
    if (kind === 'dir') return issue(`script_path is a folder, not a script: ${script}`, `its script_path ${script} is a folder`);
    let launch: LaunchCommand;
    try {
      launch = launchCommandFor(profile, platform);
    } catch (err) {
      return issue((err as Error).message, `its script ${script} can't run on this system`);
    }
    const ext = extname(script).toLowerCase();
    if (launch.file !== script) {
      // Run by an interpreter, which must be there (cmd.exe always is).
      if (ext === '.bat' || ext === '.cmd' || findExecutable(launch.file, platform, lookupEnv, profile.cwd)) return null;
      return issue(`${launch.file} not found, which runs ${ext} scripts: ${script}`, `${launch.file}, which runs its script ${script}, is not installed`);
    }
    if (platform === 'win32') {
      if (ext === '.exe' || ext === '.com') return null;
      return issue(`Windows can't run a ${ext || 'file without an extension'} directly: ${script} (use a .bat/.cmd/.ps1 script, or command + args)`, `Windows can't run its script ${script}`);
    }
    if (isExecutable(script)) return null;
    return issue(`script is not executable: ${script} (chmod +x it, or name it .sh to run it with bash)`, `its script ${script} is not executable`);
  }
  if (profile.engine) return engineIssue(profile, platform, lookupEnv);
  return commandIssue(profile.command!, platform, lookupEnv, profile.cwd);
}

/** An engine profile: its program is there (else how to install it), and its model file, when it names one. */
function engineIssue(profile: LaunchProfile, platform: NodeJS.Platform, env: NodeJS.ProcessEnv): LaunchIssue | null {
  const engine = profile.engine!;
  if (profile.command === null) return { field: 'engine', message: `the ${engine.kind} profile was not rendered into a command`, plain: 'its engine profile was not rendered' };
  const program = commandIssue(profile.command, platform, env, profile.cwd);
  if (program) return { field: 'engine', message: `${program.message}: ${installHint(engine.kind)}`, plain: program.plain };
  const fileIssue = (field: 'model' | 'mmproj', file: string): LaunchIssue | null => {
    const kind = fileKind(file);
    if (kind === null) return { field, message: `${field === 'model' ? 'model' : 'mmproj'} file not found: ${file}`, plain: `its ${field} ${file} does not exist` };
    if (engine.kind === 'llama.cpp' && kind !== 'file') return { field, message: `${field} is a folder, not a .gguf file: ${file}`, plain: `its ${field} ${file} is a folder` };
    return null;
  };
  if (engine.kind === 'llama.cpp') {
    if (!/^hf:/i.test(engine.model)) {
      const issue = fileIssue('model', engine.model);
      if (issue) return issue;
    }
    return engine.mmproj === null ? null : fileIssue('mmproj', engine.mmproj);
  }
  // vLLM / SGLang: a path (resolved when loaded) must exist; anything else is a Hugging Face id.
  return isAbsolute(engine.model) ? fileIssue('model', engine.model) : null;
}

function commandIssue(command: string, platform: NodeJS.Platform, env: NodeJS.ProcessEnv, cwd: string | null): LaunchIssue | null {
  if (findExecutable(command, platform, env, cwd)) return null;
  const issue = (message: string, plain: string): LaunchIssue => ({ field: 'command', message, plain });
  const hasDir = isAbsolute(command) || command.includes('/') || command.includes('\\');
  const missing = issue(`command not found: ${command}${hasDir ? '' : ' (not on PATH)'}`, hasDir ? `its command ${command} does not exist` : `its command ${command} is not on PATH`);
  if (platform === 'win32') {
    const batch = findBatchFile(command, env, cwd, hasDir);
    if (batch) return issue(`command ${command} is a batch file (${batch}): Windows runs those only through cmd.exe; use script_path: ${JSON.stringify(batch)} instead`, `its command ${command} is a batch file, which Windows won't start as a command`);
    return missing;
  }
  const found = hasDir ? (fileKind(command) === null ? null : command) : searchPath(command, env, [''], (p) => fileKind(p) !== null);
  if (found === null) return missing;
  if (fileKind(found) === 'dir') return issue(`command is a folder, not a program: ${found}`, `its command ${found} is a folder`);
  return issue(`command is not executable: ${found}${hasDir ? '' : ` (found on PATH as ${command})`}; chmod +x it`, `its command ${found} is not executable`);
}

/**
 * Where the spawn will find `command`, or null. POSIX: the path itself when it has a folder in it,
 * else the first executable file of that name on PATH. Windows: the path, or the cwd and then each
 * folder on PATH, trying the name as given, then with .com and .exe (as libuv does).
 */
export function findExecutable(command: string, platform: NodeJS.Platform = process.platform, env: NodeJS.ProcessEnv = process.env, cwd: string | null = null): string | null {
  const hasDir = isAbsolute(command) || command.includes('/') || command.includes('\\');
  if (platform === 'win32') {
    const candidates = (base: string) => [base, `${base}.com`, `${base}.exe`];
    const runnable = (p: string) => fileKind(p) === 'file' && !/\.(bat|cmd)$/i.test(p);
    if (hasDir) return candidates(command).find(runnable) ?? null;
    for (const dir of [...(cwd ? [cwd] : []), ...pathDirs(env)]) {
      const found = candidates(join(dir, command)).find(runnable);
      if (found) return found;
    }
    return null;
  }
  if (hasDir) return fileKind(command) === 'file' && isExecutable(command) ? command : null;
  return searchPath(command, env, [''], (p) => fileKind(p) === 'file' && isExecutable(p));
}

/** On Windows: a .bat/.cmd the user may have meant (`npx` is npx.cmd), found by PATHEXT as a shell would. */
function findBatchFile(command: string, env: NodeJS.ProcessEnv, cwd: string | null, hasDir: boolean): string | null {
  const exts = ['', '.cmd', '.bat'];
  const isBatch = (p: string) => /\.(bat|cmd)$/i.test(p) && fileKind(p) === 'file';
  if (hasDir) return exts.map((e) => command + e).find(isBatch) ?? null;
  for (const dir of [...(cwd ? [cwd] : []), ...pathDirs(env)]) {
    const found = exts.map((e) => join(dir, command + e)).find(isBatch);
    if (found) return found;
  }
  return null;
}

function searchPath(command: string, env: NodeJS.ProcessEnv, exts: string[], ok: (p: string) => boolean): string | null {
  for (const dir of pathDirs(env)) {
    for (const ext of exts) {
      const candidate = join(dir, command + ext);
      if (ok(candidate)) return candidate;
    }
  }
  return null;
}

function pathDirs(env: NodeJS.ProcessEnv): string[] {
  // Windows spells it Path; the lookup is case-insensitive there.
  const value = env['PATH'] ?? Object.entries(env).find(([k]) => k.toUpperCase() === 'PATH')?.[1] ?? '';
  return value.split(delimiter).filter((dir) => dir !== '');
}

function fileKind(p: string): 'file' | 'dir' | 'other' | null {
  try {
    const stat = statSync(p);
    return stat.isFile() ? 'file' : stat.isDirectory() ? 'dir' : 'other';
  } catch {
    return null;
  }
}

function isExecutable(p: string): boolean {
  try {
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
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
  // kill(-0) and kill(-1) would reach our own group or every process we may signal.
  if (!Number.isInteger(pid) || pid <= 1) return;
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

/** A ready probe's answer: its status, and its connection when it can carry the next request. */
export interface ReadyProbe {
  status: number | null;
  /** Open, kept alive by the engine, its answer read whole, no listener of ours left but one that ignores errors: the caller's to use or close. */
  socket: net.Socket | null;
}

const ignoreError = (): void => undefined;

/** An answer head's status and what says whether the connection can be used again. */
function reusableHead(head: string): { status: number | null; length: number | null } {
  const lines = head.split('\r\n');
  const first = /^HTTP\/1\.([01]) (\d{3})(?: |$)/.exec(lines[0] ?? '');
  if (!first) return { status: null, length: null };
  const status = Number(first[2]);
  let length: number | null = null;
  let reusable = first[1] === '1';
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon === -1) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (name === 'content-length') {
      // Two different lengths, or one that isn't a number: the answer's end is unknown.
      if (!/^\d{1,9}$/.test(value) || (length !== null && length !== Number(value))) reusable = false;
      else length = Number(value);
    } else if (name === 'transfer-encoding' || (name === 'connection' && /(^|,)\s*close\s*(,|$)/i.test(value))) {
      reusable = false;
    }
  }
  return { status, length: reusable ? length : null };
}

/**
 * As probeHealth, asked on a kept-alive connection, for the probe that may find an engine ready
 * while requests wait for it: a 200 whose answer is read whole (HTTP/1.1, a Content-Length, no
 * Connection: close) hands its connection over, and the first request that waited goes out on it
 * instead of opening one (which costs the engine an accept at the moment it is busiest: 1 ms of a
 * swap, measured). Any other answer is read as probeHealth reads it, and the connection closed from
 * our side once the answer is in (a FIN, never a reset into an answer being written).
 */
export function probeReady(port: number, path: string, timeoutMs = 2000, key: string | null = null): Promise<ReadyProbe> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port, noDelay: true });
    let head: Buffer = Buffer.alloc(0);
    let body = -1; // bytes of the body still to come once the head is in (-1: head not in yet)
    let settled = false;
    const settle = (status: number | null, keep: boolean) => {
      if (settled) return;
      settled = true;
      if (keep) {
        socket.setTimeout(0);
        for (const [event, listener] of ours) socket.off(event, listener);
        // A reset before its new owner listens (the engine died at once) must not take the node down.
        socket.on('error', ignoreError);
        resolve({ status, socket });
        return;
      }
      resolve({ status, socket: null });
      // The rest of its answer is read and dropped until the engine closes after our FIN.
      if (!socket.destroyed) socket.end();
    };
    const onTimeout = () => {
      settle(null, false);
      socket.destroy();
    };
    const onError = () => settle(null, false);
    const onClose = () => settle(null, false);
    const onEnd = () => socket.destroy();
    const onData = (chunk: Buffer) => {
      if (settled) return; // the body of an answer not kept, dropped
      if (body === -1) {
        head = head.length === 0 ? chunk : Buffer.concat([head, chunk]);
        const end = head.indexOf('\r\n\r\n');
        if (end === -1) {
          if (head.length > 8192) {
            settle(null, false);
            socket.destroy();
          }
          return;
        }
        const { status, length } = reusableHead(head.subarray(0, end).toString('latin1'));
        if (status !== 200 || length === null) return settle(status, false);
        body = length;
        chunk = head.subarray(end + 4);
      }
      body -= chunk.length;
      // More than the answer (bytes nobody asked for): not a connection to send a request on.
      if (body < 0) {
        settle(200, false);
        socket.destroy();
      } else if (body === 0) settle(200, true);
    };
    // Ours until the answer is kept: then every one comes off, and the socket is the caller's.
    const ours = [['timeout', onTimeout], ['error', onError], ['close', onClose], ['end', onEnd], ['data', onData]] as const;
    for (const [event, listener] of ours) socket.on(event, listener);
    socket.setTimeout(timeoutMs);
    socket.once('connect', () => socket.write(healthRequest(port, path, key, false)));
  });
}

/** The GET a probe sends: the path made visible ASCII, the Host, the engine key; `close`: Connection: close. */
function healthRequest(port: number, path: string, key: string | null, close: boolean): string {
  const target = path.replace(/[^\x21-\x7e]/g, (c) => encodeURIComponent(c));
  return `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n${close ? 'Connection: close\r\n' : ''}${key ? `Authorization: Bearer ${key}\r\n` : ''}\r\n`;
}

/**
 * GET http://127.0.0.1:port/path → status code, or null when nothing answers. `key`: the engine's
 * own (program.engine_keys). Each probe on its own connection, closed after it: a kept-alive probe
 * connection would hold one of llama-server's HTTP threads for good (each is bound to a connection).
 * Written on a plain socket and answered at the status line: a start is probed often, and a node:http
 * request (its agent, parser and request object) cost a millisecond of the moment an engine turns
 * ready, measured in the swap bench. The rest of the answer is read and dropped until the engine
 * closes the connection (Connection: close), so it never writes into a reset socket.
 */
export function probeHealth(port: number, path: string, timeoutMs = 2000, key: string | null = null): Promise<number | null> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port, noDelay: true });
    let head = '';
    let status: number | null | undefined;
    const settle = (value: number | null) => {
      if (status !== undefined) return;
      status = value;
      resolve(value);
    };
    socket.setTimeout(timeoutMs, () => {
      settle(null);
      socket.destroy();
    });
    socket.once('error', () => settle(null));
    socket.once('close', () => settle(null));
    socket.once('end', () => socket.destroy());
    socket.once('connect', () => {
      socket.write(healthRequest(port, path, key, true));
    });
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      if (status !== undefined) return; // the body, dropped
      head += chunk;
      const eol = head.indexOf('\r\n');
      if (eol === -1) {
        if (head.length > 4096) {
          settle(null);
          socket.destroy();
        }
        return;
      }
      const answer = /^HTTP\/1\.[01] (\d{3})(?: |$)/.exec(head.slice(0, eol));
      settle(answer ? Number(answer[1]) : null);
      if (!answer) socket.destroy();
    });
  });
}
