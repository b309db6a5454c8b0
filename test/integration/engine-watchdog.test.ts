// The engine watchdog with real processes: process groups of `sleep`s stand in for engines, and
// the end of the watchdog's input (what a dying node causes) must stop exactly the listed ones.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { EngineWatchdog, WATCHDOG_NAME } from '../../src-main/core/models/engine-watchdog.js';
import { silentLogger } from '../../src-main/core/logger.js';
import { waitFor } from '../helpers/http.js';
import { isProcessRunning } from '../helpers/processes.js';

const posix = process.platform !== 'win32';
const started: ChildProcess[] = [];
const watchdogs: EngineWatchdog[] = [];

afterEach(async () => {
  await Promise.all(watchdogs.splice(0).map((w) => w.close()));
  for (const p of started.splice(0)) {
    try {
      process.kill(-p.pid!, 'SIGKILL');
    } catch {
      // gone
    }
  }
});

/** A process group like an engine's: a shell leading it and a child of its own (the "real" engine). */
function fakeEngine(script = 'sleep 60 & wait'): { leader: number; child: () => number | null } {
  const p = spawn('/bin/sh', ['-c', script], { detached: true, stdio: 'ignore' });
  started.push(p);
  return { leader: p.pid!, child: () => childOf(p.pid!) };
}

function childOf(pid: number): number | null {
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) return Number(entry);
    } catch {
      // gone
    }
  }
  return null;
}

const watchdog = (graceMs = 5000) => {
  const w = new EngineWatchdog({ logger: silentLogger, graceMs });
  watchdogs.push(w);
  return w;
};

describe.runIf(posix)('EngineWatchdog', () => {
  it('starts with the first engine, and when its input ends stops every listed group, children included', async () => {
    const w = watchdog();
    expect(w.pid).toBeNull();
    const a = fakeEngine();
    const b = fakeEngine();
    const kept = fakeEngine();
    await waitFor(() => a.child() !== null && b.child() !== null, 5000, 'the engines to start', 20);
    const aChild = a.child()!;
    w.add(a.leader);
    w.add(b.leader);
    w.add(kept.leader);
    w.remove(kept.leader);
    expect(w.pid).not.toBeNull();
    expect(fs.readFileSync(`/proc/${w.pid}/cmdline`, 'utf8')).toContain(WATCHDOG_NAME);

    await w.close();
    expect(isProcessRunning(a.leader)).toBe(false);
    expect(isProcessRunning(aChild)).toBe(false);
    expect(isProcessRunning(b.leader)).toBe(false);
    // Dropped from the list (it exited, as far as the node knew): left alone.
    expect(isProcessRunning(kept.leader)).toBe(true);
  });

  it('SIGKILLs a group that ignores SIGTERM once the grace period is over', async () => {
    const w = watchdog(300);
    const stubborn = fakeEngine("trap '' TERM; sleep 60 & wait; sleep 60");
    await waitFor(() => stubborn.child() !== null, 5000, 'the engine to start', 20);
    w.add(stubborn.leader);
    const pid = w.pid!;
    const began = Date.now();
    await w.close();
    expect(isProcessRunning(stubborn.leader)).toBe(false);
    expect(Date.now() - began).toBeGreaterThanOrEqual(300);
    expect(isProcessRunning(pid)).toBe(false);
  });

  it('a watchdog killed by someone is replaced with the next engine, listing the earlier ones again', async () => {
    const w = watchdog();
    const first = fakeEngine();
    w.add(first.leader);
    const old = w.pid!;
    process.kill(old, 'SIGKILL');
    await waitFor(() => !isProcessRunning(old), 5000, 'the watchdog to die', 20);
    await waitFor(() => w.pid === null, 5000, 'the node to notice', 20);
    const second = fakeEngine();
    w.add(second.leader);
    expect(w.pid).not.toBe(old);
    await w.close();
    expect(isProcessRunning(first.leader)).toBe(false);
    expect(isProcessRunning(second.leader)).toBe(false);
  });

  it('never signals pid 0, 1 or a negative group, and does nothing on Windows (the job object does)', async () => {
    const w = watchdog();
    w.add(0);
    w.add(1);
    w.add(-5);
    expect(w.pid).toBeNull();
    const windows = new EngineWatchdog({ logger: silentLogger, platform: 'win32' });
    windows.add(fakeEngine().leader);
    expect(windows.pid).toBeNull();
  });

  it('keeps its process alive until close() is done, so what comes after (the CLI\'s "All engines stopped") still happens', () => {
    // A process whose only other handles are unref'd (as the CLI's at the end of a shutdown): before,
    // it ended while close() waited for the watchdog, and "closed" was never written.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'watchdog-close-'));
    const script = path.join(dir, 'close.mjs');
    fs.writeFileSync(
      script,
      [
        "import { spawn } from 'node:child_process';",
        'const { EngineWatchdog } = await import(process.argv[2]);',
        "const engine = spawn('/bin/sh', ['-c', 'trap \"\" TERM; sleep 2'], { detached: true, stdio: 'ignore' });",
        'engine.unref();',
        'const w = new EngineWatchdog({ logger: { debug() {}, info() {}, warn() {}, error() {} }, graceMs: 500 });',
        'w.add(engine.pid);',
        "setTimeout(() => void w.close().then(() => process.stdout.write('closed\\n')), 300);",
      ].join('\n'),
    );
    const module = fileURLToPath(new URL('../../src-main/core/models/engine-watchdog.ts', import.meta.url));
    const run = spawnSync(process.execPath, ['--import', 'tsx', script, module], { encoding: 'utf8', timeout: 20_000, cwd: fileURLToPath(new URL('../..', import.meta.url)) });
    fs.rmSync(dir, { recursive: true, force: true });
    expect(run.status).toBe(0);
    expect(run.stdout).toBe('closed\n');
  });
});
