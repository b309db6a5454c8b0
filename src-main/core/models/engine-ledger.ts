// No orphans: every engine we start is written down (pid, start time, command) in a small state
// file, so a node that starts after a crash of the previous one can stop the engines it left
// behind — and only those: a pid whose start time differs is someone else's process.
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Logger } from '../logger.js';
import { readProcStat } from './proc-stat.js';
import { signalTree, treeAlive } from './process.js';

export const LEDGER_FILE_NAME = '.llm-manager-engines.json';

export interface EngineRecord {
  model: string;
  pid: number;
  /** What tells this process from a later one with the same pid (see processStartTime); null = unknown. */
  startTime: string | null;
  command: string;
  startedAt: string;
}

interface LedgerFile {
  version: 1;
  owner: { pid: number; startTime: string | null; bootId: string | null };
  engines: EngineRecord[];
}

/** Where the state file of a node whose engine logs go to `logDir` lives. */
export function ledgerPath(logDir: string): string {
  return path.join(logDir, LEDGER_FILE_NAME);
}

/**
 * The start time of a running process, as a string that only that process has: on Linux its
 * starttime in clock ticks since boot (/proc/PID/stat field 22); on macOS and the BSDs `ps`'s
 * lstart (one-second resolution); on Windows the creation time from PowerShell (100 ns ticks);
 * null when the process is gone or the platform can't say.
 */
export function processStartTime(pid: number, platform: NodeJS.Platform = process.platform): string | null {
  if (!Number.isInteger(pid) || pid <= 0) return null;
  if (platform === 'linux') {
    return readProcStat(pid)?.startTime ?? null;
  }
  const query = startTimeQuery(pid, platform);
  if (!query) return null;
  try {
    const out = execFileSync(query.file, query.args, { encoding: 'utf8', timeout: 5000, stdio: ['ignore', 'pipe', 'ignore'], windowsHide: true }).trim();
    return out === '' ? null : out;
  } catch {
    return null;
  }
}

/** The same, without blocking (an external command on macOS and Windows). */
export function processStartTimeAsync(pid: number, platform: NodeJS.Platform = process.platform): Promise<string | null> {
  const query = platform === 'linux' ? null : startTimeQuery(pid, platform);
  if (!query) return Promise.resolve(processStartTime(pid, platform));
  return new Promise((resolve) => {
    execFile(query.file, query.args, { encoding: 'utf8', timeout: 5000, windowsHide: true }, (err, stdout) => {
      const out = err ? '' : stdout.trim();
      resolve(out === '' ? null : out);
    });
  });
}

function startTimeQuery(pid: number, platform: NodeJS.Platform): { file: string; args: string[] } | null {
  if (!Number.isInteger(pid) || pid <= 0) return null;
  if (platform === 'darwin' || platform === 'freebsd' || platform === 'openbsd') return { file: 'ps', args: ['-o', 'lstart=', '-p', String(pid)] };
  if (platform === 'win32') {
    return { file: 'powershell.exe', args: ['-NoProfile', '-NonInteractive', '-Command', `(Get-Process -Id ${pid} -ErrorAction Stop).StartTime.ToUniversalTime().Ticks`] };
  }
  return null;
}

/** Changes at every boot (Linux): start times of an earlier boot mean nothing now. */
function bootId(): string | null {
  try {
    return fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return null;
  }
}

/** The node's record of the engines it runs, kept on disk after every change (atomically). */
export class EngineLedger {
  private engines: EngineRecord[] = [];
  private readonly owner: LedgerFile['owner'] = { pid: process.pid, startTime: null, bootId: bootId() };
  private broken = false;

  constructor(
    readonly file: string,
    private readonly logger: Logger,
  ) {
    // Where asking costs an external command (macOS, Windows), the answers are filled in as they come.
    if (process.platform === 'linux') this.owner.startTime = processStartTime(process.pid);
    else void processStartTimeAsync(process.pid).then((t) => (this.owner.startTime = t));
  }

  get records(): readonly EngineRecord[] {
    return this.engines;
  }

  add(entry: { model: string; pid: number; command: string }): void {
    if (!(entry.pid > 0)) return;
    const linux = process.platform === 'linux';
    const record: EngineRecord = { ...entry, startTime: linux ? processStartTime(entry.pid) : null, startedAt: new Date().toISOString() };
    this.engines = [...this.engines.filter((e) => e.pid !== entry.pid), record];
    this.save();
    if (!linux) {
      void processStartTimeAsync(entry.pid).then((startTime) => {
        if (startTime === null || !this.engines.includes(record)) return;
        this.engines = this.engines.map((e) => (e === record ? { ...record, startTime } : e));
        this.save();
      });
    }
  }

  /**
   * Written a moment later (the next turn of the event loop), not at once: an engine that has exited
   * is often the one a swap stopped, and the file's fsync would come before the next engine's spawn.
   * Losing a removal in a crash is harmless (the next start finds the process gone); an add is
   * written at once, and takes a pending removal with it.
   */
  remove(pid: number): void {
    if (!this.engines.some((e) => e.pid === pid)) return;
    this.engines = this.engines.filter((e) => e.pid !== pid);
    this.pendingSave ??= setImmediate(() => this.save());
  }

  private pendingSave: NodeJS.Immediate | null = null;

  /** Writes the (empty) record: this node is the owner now. */
  save(): void {
    if (this.pendingSave) clearImmediate(this.pendingSave);
    this.pendingSave = null;
    const data: LedgerFile = { version: 1, owner: this.owner, engines: this.engines };
    try {
      writeAtomic(this.file, `${JSON.stringify(data, null, 2)}\n`);
      this.broken = false;
    } catch (err) {
      // A read-only log folder must not stop engines from running; say so once.
      if (!this.broken) this.logger.warn(`cannot write the engine state file ${this.file}: ${(err as Error).message}; engines left by a crash will not be stopped at the next start`);
      this.broken = true;
    }
  }

  /** Clean shutdown: every engine is stopped, nothing to remember. */
  close(): void {
    if (this.pendingSave) clearImmediate(this.pendingSave);
    this.pendingSave = null;
    // Engines whose exit was not yet noted (it is noted once their whole group is gone).
    this.engines = this.engines.filter((e) => treeAlive(e.pid));
    if (this.engines.length > 0) return this.save();
    try {
      fs.rmSync(this.file, { force: true });
    } catch {
      // harmless: an empty record is ignored at the next start
    }
  }
}

export interface ReapResult {
  /** Engines of a crashed earlier run that were still running and are now stopped. */
  reaped: EngineRecord[];
  /** Records left alone: the pid is gone, belongs to another process now, or cannot be verified. */
  skipped: { record: EngineRecord; reason: string }[];
  /** The earlier node still runs: nothing was touched. */
  ownerAlive: boolean;
}

export interface ReapOptions {
  logger: Logger;
  /** SIGTERM first; SIGKILL after this long (default 2 s). */
  graceMs?: number;
}

/**
 * Stops the engines a crashed earlier node left behind, as recorded in `file`. An engine is killed
 * (its whole process group) only when its pid still runs with the recorded start time, or when its
 * leader is gone but its process group lives on (a group id is never reused while the group exists).
 */
export async function reapLeftoverEngines(file: string, options: ReapOptions): Promise<ReapResult> {
  const result: ReapResult = { reaped: [], skipped: [], ownerAlive: false };
  let data: LedgerFile;
  try {
    data = JSON.parse(fs.readFileSync(file, 'utf8')) as LedgerFile;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') options.logger.warn(`ignoring the unreadable engine state file ${file}: ${(err as Error).message}`);
    return result;
  }
  if (!data || !Array.isArray(data.engines) || data.engines.length === 0) return result;
  const sameBoot = data.owner?.bootId == null || data.owner.bootId === bootId();
  const owner = data.owner;
  if (sameBoot && owner && (owner.pid === process.pid || (owner.startTime !== null && processStartTime(owner.pid) === owner.startTime))) {
    options.logger.warn(`another LLM Manager (pid ${owner.pid}) still runs with the engines recorded in ${file}; leaving them alone`);
    result.ownerAlive = true;
    return result;
  }
  const victims: EngineRecord[] = [];
  for (const record of data.engines) {
    if (!record || !Number.isInteger(record.pid) || record.pid <= 1) continue;
    const reason = !sameBoot ? 'recorded before the last reboot' : whyNotOurs(record);
    if (reason) result.skipped.push({ record, reason });
    else victims.push(record);
  }
  if (victims.length === 0) return result;
  for (const v of victims) {
    options.logger.warn(`stopping ${v.model} (pid ${v.pid}), left running by an LLM Manager that did not shut down: ${v.command}`);
    signalTree(v.pid, 'SIGTERM');
  }
  const grace = options.graceMs ?? 2000;
  await waitUntil(() => victims.every((v) => !treeAlive(v.pid)), grace);
  for (const v of victims) if (treeAlive(v.pid)) signalTree(v.pid, 'SIGKILL');
  await waitUntil(() => victims.every((v) => !treeAlive(v.pid)), 3000);
  for (const v of victims) {
    if (treeAlive(v.pid)) result.skipped.push({ record: v, reason: 'still present after SIGKILL' });
    else result.reaped.push(v);
  }
  return result;
}

function whyNotOurs(record: EngineRecord): string | null {
  if (record.startTime === null) return 'its start time was not recorded, so it cannot be told from a newer process with the same pid';
  const now = processStartTime(record.pid);
  if (now === record.startTime) return null;
  if (now !== null) return 'the pid belongs to another process now';
  // The leader is gone. Its group (a script's engine) may live on; a group id is not reused while it exists.
  if (process.platform !== 'win32' && treeAlive(record.pid)) return null;
  return 'no longer running';
}

async function waitUntil(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 25));
}

function writeAtomic(file: string, text: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    const fd = fs.openSync(tmp, 'w', 0o600);
    try {
      fs.writeFileSync(fd, text);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
}
