// Engine processes made ahead of time. Spawning from the node costs its event loop the fork of a
// 75–90 MB process and the wait for the child's exec (libuv blocks until exec has happened): 3–4 ms
// of the moment a swap or a cold start is waiting on. So, once an engine has been started, a spare
// is kept: a POSIX shell, already forked and reading its script from a pipe, with the pipes an
// engine gets. A start writes it a few lines (cd, the environment's differences, exec) and closes
// the pipe; the shell execs the engine in place. The ChildProcess the supervisor holds is the
// spare's: same pid (and process group, detached), same stdout/stderr, its exit is the engine's.
//
// A start uses it only when the result is the same as a spawn's: not on Windows; every environment
// name one a shell keeps (dash drops names like `a.b` from what it passes on); the program found
// where the spawn would find it and the cwd a folder (so a missing one still fails as a spawn's
// ENOENT, with its message). Anything else is spawned as before. The engine gets /dev/null as
// stdin, as a spawn gives it; the environment is the spawn's exactly under dash (Debian, Ubuntu's
// /bin/sh): the shell's own PWD/OLDPWD are unset or set back. A bash /bin/sh adds SHLVL.
//
// The spare is made a little after a start has settled (ready or failed), never on its way: its
// fork would delay the start's first answers. It goes when the node closes; if the node dies, its
// pipe's end makes the shell exit.
import { spawn, type ChildProcess } from 'node:child_process';
import { statSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { findExecutable, signalTree, spawnEngine, type LaunchCommand, type SpawnOptions } from './process.js';

/** What a shell keeps in the environment it passes on: a portable name. */
const SHELL_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Set by the shell itself; put back to what the engine's environment says. */
const SHELL_SET = ['PWD', 'OLDPWD'];

export interface SpareSpawnerOptions {
  platform?: NodeJS.Platform;
  shell?: string;
  /** How long after a start has settled the next spare is made. */
  delayMs?: number;
  /** The environment a spare is made with (it is diffed against each engine's). */
  baseEnv?: () => NodeJS.ProcessEnv;
}

export interface SpareStats {
  /** Engines started in a spare / spawned as before. */
  spare: number;
  spawned: number;
  /** Spares made. */
  made: number;
}

interface Spare {
  child: ChildProcess;
  env: NodeJS.ProcessEnv;
  exited: Promise<void>;
}

export class SpareSpawner {
  readonly stats: SpareStats = { spare: 0, spawned: 0, made: 0 };
  /** The spare waiting for its script; cleared when it is used or has gone. */
  private spare: Spare | null = null;
  private wanted = false;
  private closed = false;
  /** The shell can't be started here (none at that path): stay with plain spawns. */
  private broken = false;
  private timer: NodeJS.Timeout | null = null;
  private readonly platform: NodeJS.Platform;
  private readonly shell: string;
  private readonly delayMs: number;
  private readonly baseEnv: () => NodeJS.ProcessEnv;

  constructor(options: SpareSpawnerOptions = {}) {
    this.platform = options.platform ?? process.platform;
    this.shell = options.shell ?? '/bin/sh';
    this.delayMs = options.delayMs ?? 50;
    this.baseEnv = options.baseEnv ?? (() => process.env);
  }

  /** The waiting spare's pid, or null when there is none. */
  get sparePid(): number | null {
    return this.spare?.child.pid ?? null;
  }

  /** An engine process for `launch`: the spare when it gives the same result, else a spawn. */
  spawn(launch: LaunchCommand, options: SpawnOptions): ChildProcess {
    this.wanted = true;
    const spare = this.spare;
    if (spare && spare.child.stdin?.writable) {
      const script = spareScript(launch, options, spare.env, this.platform);
      if (script !== null) {
        this.spare = null;
        spare.child.stdin.end(script);
        this.stats.spare++;
        return spare.child;
      }
    }
    this.stats.spawned++;
    return spawnEngine(launch, options);
  }

  /** A start is over (ready or failed): the next spare is made shortly, if engines are started here. */
  settled(): void {
    if (!this.wanted || this.closed || this.broken || this.platform === 'win32' || this.timer || this.spare) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.make();
    }, this.delayMs);
    this.timer.unref();
  }

  /** Ends the spare (if any) and makes no more; resolves once it has exited. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const spare = this.spare;
    this.spare = null;
    if (!spare) return;
    signalTree(spare.child.pid ?? -1, 'SIGKILL');
    await spare.exited;
  }

  private make(): void {
    if (this.closed || this.spare) return;
    const env = { ...this.baseEnv() };
    let child: ChildProcess;
    try {
      child = spawn(this.shell, ['-s'], { cwd: process.cwd(), env, stdio: ['pipe', 'pipe', 'pipe'], detached: true, windowsHide: true });
    } catch {
      this.broken = true;
      return;
    }
    const spare: Spare = { child, env, exited: Promise.resolve() };
    spare.exited = new Promise((resolve) => {
      child.once('exit', () => {
        if (this.spare === spare) this.spare = null;
        resolve();
      });
      child.once('error', () => {
        // No shell there (or no processes left to make): spawns from now on.
        if (this.spare === spare) this.spare = null;
        if (child.pid === undefined) {
          this.broken = true;
          resolve();
        }
      });
    });
    // A write into a shell that has just died is reported by its exit, not here.
    child.stdin?.on('error', () => undefined);
    if (child.pid === undefined) return;
    this.stats.made++;
    this.spare = spare;
  }
}

/**
 * The lines that turn a spare (made with `spareEnv`) into the engine `launch` with `options`, or
 * null when the spare would not give what a spawn gives.
 */
export function spareScript(launch: LaunchCommand, options: SpawnOptions, spareEnv: NodeJS.ProcessEnv, platform: NodeJS.Platform = process.platform): string | null {
  if (platform === 'win32' || launch.windowsVerbatimArguments) return null;
  const env = options.env;
  for (const name of Object.keys(env)) {
    const value = env[name];
    if (value !== undefined && (!SHELL_NAME.test(name) || value.includes('\0'))) return null;
  }
  for (const name of Object.keys(spareEnv)) if (spareEnv[name] !== undefined && !SHELL_NAME.test(name)) return null;
  if ([launch.file, ...launch.args, options.cwd].some((w) => w.includes('\0'))) return null;
  // Where the spawn looks: a name on the engine's PATH; a path as it is, from the cwd.
  const hasDir = launch.file.includes('/');
  if (hasDir && !isAbsolute(launch.file)) return null;
  if (launch.file === '' || findExecutable(launch.file, platform, { PATH: env['PATH'] ?? '' }) === null) return null;
  if (!isDir(options.cwd)) return null;

  const lines = [`cd -P -- ${quote(options.cwd)} || exit 127`];
  const unset: string[] = [];
  const exported: string[] = [];
  for (const name of Object.keys(spareEnv)) if (spareEnv[name] !== undefined && env[name] === undefined && !SHELL_SET.includes(name)) unset.push(name);
  for (const name of SHELL_SET) if (env[name] === undefined) unset.push(name);
  for (const name of Object.keys(env)) {
    const value = env[name];
    if (value === undefined) continue;
    if (value !== spareEnv[name] || SHELL_SET.includes(name)) exported.push(`${name}=${quote(value)}`);
  }
  if (unset.length > 0) lines.push(`unset ${unset.join(' ')}`);
  if (exported.length > 0) lines.push(`export ${exported.join(' ')}`);
  lines.push(`exec ${[launch.file, ...launch.args].map(quote).join(' ')} </dev/null`);
  return `${lines.join('\n')}\n`;
}

/** One word for sh, whatever it holds: single quotes, each ' written as '\''. */
export function quote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}
