// The engine ledger and the leftover reaper, with real processes: an engine recorded by a node
// that died is stopped at the next start — whole process group — but a pid that now belongs to
// another process (different start time), or engines of a node that still runs, are never touched.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EngineLedger, processStartTime, processStartTimeAsync, reapLeftoverEngines } from '../../src-main/core/models/engine-ledger.js';
import { silentLogger } from '../../src-main/core/logger.js';
import { isProcessRunning } from '../helpers/processes.js';

const linux = process.platform === 'linux';
const spawned: ChildProcess[] = [];
const dirs: string[] = [];

afterEach(() => {
  for (const child of spawned.splice(0)) {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // gone
    }
  }
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

/** A process in its own group (like an engine) with one child in that group (like a script's engine). */
function engineLike(): { leader: number; child: Promise<number> } {
  const script = `const c = require('child_process').spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
console.log(c.pid); setInterval(() => {}, 1000);`;
  const proc = spawn(process.execPath, ['-e', script], { detached: true, stdio: ['ignore', 'pipe', 'ignore'] });
  spawned.push(proc);
  const child = new Promise<number>((resolve) => proc.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim()))));
  return { leader: proc.pid!, child };
}

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'llm-ledger-'));
  dirs.push(dir);
  return dir;
}

/** A pid that no longer runs: a process that has exited. */
function deadPid(): number {
  return Number(spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], { encoding: 'utf8' }).stdout.trim());
}

function writeLedger(file: string, owner: { pid: number; startTime: string | null }, engines: { pid: number; startTime: string | null }[]): void {
  const data = {
    version: 1,
    owner: { ...owner, bootId: null },
    engines: engines.map((e, i) => ({ model: `m${i}`, command: 'node engine.js', startedAt: new Date().toISOString(), ...e })),
  };
  fs.writeFileSync(file, JSON.stringify(data));
}

describe.runIf(linux)('processStartTime', () => {
  it('is stable for a running process, differs between processes, and is null for a gone one', () => {
    const mine = processStartTime(process.pid);
    expect(mine).toMatch(/^\d+$/);
    expect(processStartTime(process.pid)).toBe(mine);
    expect(processStartTime(deadPid())).toBeNull();
    expect(processStartTime(-1)).toBeNull();
  });

  it('has a non-blocking twin that agrees', async () => {
    expect(await processStartTimeAsync(process.pid)).toBe(processStartTime(process.pid));
  });
});

describe.runIf(linux)('reapLeftoverEngines', () => {
  it('stops a recorded engine of a dead node — its whole group — and leaves a reused pid alone', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'state.json');
    const orphan = engineLike();
    const orphanChild = await orphan.child;
    const stranger = engineLike(); // stands for an unrelated process that got a recorded pid
    await stranger.child;
    writeLedger(file, { pid: deadPid(), startTime: '1' }, [
      { pid: orphan.leader, startTime: processStartTime(orphan.leader) },
      { pid: stranger.leader, startTime: '12345' }, // same pid, another start time: not ours
      { pid: deadPid(), startTime: '777' },
    ]);

    const result = await reapLeftoverEngines(file, { logger: silentLogger, graceMs: 500 });
    expect(result.ownerAlive).toBe(false);
    expect(result.reaped.map((r) => r.pid)).toEqual([orphan.leader]);
    expect(result.skipped.map((s) => s.reason)).toEqual(['the pid belongs to another process now', 'no longer running']);
    expect(isProcessRunning(orphan.leader)).toBe(false);
    expect(isProcessRunning(orphanChild)).toBe(false);
    expect(isProcessRunning(stranger.leader)).toBe(true);
  });

  it('reaps the rest of a group whose leader is already gone (a script that died, its engine still running)', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'state.json');
    const orphan = engineLike();
    const child = await orphan.child;
    const startTime = processStartTime(orphan.leader);
    process.kill(orphan.leader, 'SIGKILL');
    await new Promise((resolve) => spawned[0]!.once('exit', resolve));
    expect(isProcessRunning(child)).toBe(true);
    writeLedger(file, { pid: deadPid(), startTime: '1' }, [{ pid: orphan.leader, startTime }]);
    const result = await reapLeftoverEngines(file, { logger: silentLogger, graceMs: 500 });
    expect(result.reaped).toHaveLength(1);
    expect(isProcessRunning(child)).toBe(false);
  });

  it('touches nothing while the node that recorded the engines still runs, or when start times are unknown', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'state.json');
    const engine = engineLike();
    await engine.child;
    writeLedger(file, { pid: process.pid, startTime: processStartTime(process.pid) }, [{ pid: engine.leader, startTime: processStartTime(engine.leader) }]);
    expect((await reapLeftoverEngines(file, { logger: silentLogger })).ownerAlive).toBe(true);
    expect(isProcessRunning(engine.leader)).toBe(true);

    writeLedger(file, { pid: deadPid(), startTime: '1' }, [{ pid: engine.leader, startTime: null }]);
    const unknown = await reapLeftoverEngines(file, { logger: silentLogger });
    expect(unknown.reaped).toEqual([]);
    expect(unknown.skipped[0]!.reason).toContain('start time was not recorded');
    expect(isProcessRunning(engine.leader)).toBe(true);
  });

  it('ignores a missing, empty or corrupt state file', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'state.json');
    expect((await reapLeftoverEngines(file, { logger: silentLogger })).reaped).toEqual([]);
    fs.writeFileSync(file, '{"version":1,');
    expect((await reapLeftoverEngines(file, { logger: silentLogger })).reaped).toEqual([]);
    fs.writeFileSync(file, '{"version":1,"owner":null,"engines":[{"pid":1},{"pid":"x"}]}');
    expect((await reapLeftoverEngines(file, { logger: silentLogger })).reaped).toEqual([]);
  });
});

describe.runIf(linux)('EngineLedger', () => {
  it('records pid, start time and command atomically, forgets exited engines, and removes the file on a clean close', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'logs', 'state.json');
    const ledger = new EngineLedger(file, silentLogger);
    const engine = engineLike();
    await engine.child;
    ledger.add({ model: 'demo', pid: engine.leader, command: 'node demo-engine.mjs' });
    const data = JSON.parse(fs.readFileSync(file, 'utf8'));
    expect(data.owner).toMatchObject({ pid: process.pid, startTime: processStartTime(process.pid) });
    expect(data.engines).toEqual([
      { model: 'demo', pid: engine.leader, startTime: processStartTime(engine.leader), command: 'node demo-engine.mjs', startedAt: expect.any(String) },
    ]);
    expect(fs.readdirSync(path.dirname(file))).toEqual(['state.json']); // no temp files left
    ledger.remove(engine.leader);
    // A removal is written on the next turn (not in the way of a swap's next spawn)...
    expect(JSON.parse(fs.readFileSync(file, 'utf8')).engines).toHaveLength(1);
    await new Promise((resolve) => setImmediate(resolve));
    expect(JSON.parse(fs.readFileSync(file, 'utf8')).engines).toEqual([]);
    // ...and an add right after one writes both at once.
    ledger.add({ model: 'again', pid: process.pid, command: 'x' });
    ledger.remove(process.pid);
    ledger.add({ model: 'third', pid: engine.leader, command: 'y' });
    expect(JSON.parse(fs.readFileSync(file, 'utf8')).engines.map((e: { model: string }) => e.model)).toEqual(['third']);
    ledger.remove(engine.leader);
    ledger.close();
    expect(fs.existsSync(file)).toBe(false);
  });
});
