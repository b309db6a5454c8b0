// Engines started in a spare process made ahead of time (models/spare-spawner.ts): the engine it
// becomes must be what a spawn would have made (argv, environment, cwd, stdin, process group), the
// cases it can't make exactly must be spawned as before, and no spare may outlive its spawner.
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SpareSpawner, spareScript } from '../../src-main/core/models/spare-spawner.js';
import type { LaunchCommand } from '../../src-main/core/models/process.js';
import { readProcStat } from '../../src-main/core/models/proc-stat.js';
import { waitFor } from '../helpers/http.js';
import { isProcessRunning } from '../helpers/processes.js';
import { closeAllNodes, startNode, waitForState } from '../helpers/node-fixture.js';

const posix = process.platform !== 'win32';
const dash = posix && fs.realpathSync('/bin/sh').endsWith('dash');

/** A program that reports what it was given: argv, env, cwd, stdin, pid and process group. */
const REPORT = `
const fs = require('node:fs');
const stat = fs.readFileSync('/proc/self/stat', 'utf8');
const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
process.stdout.write(JSON.stringify({
  argv: process.argv.slice(1), env: process.env, cwd: process.cwd(), stdin: fs.readlinkSync('/proc/self/fd/0'),
  pid: process.pid, pgid: Number(fields[2]), sid: Number(fields[3]),
}));
`;

interface Report {
  argv: string[];
  env: Record<string, string>;
  cwd: string;
  stdin: string;
  pid: number;
  pgid: number;
  sid: number;
}

function report(child: ChildProcess): Promise<{ report: Report; code: number | null; stderr: string }> {
  let out = '';
  let err = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => {
      try {
        resolve({ report: JSON.parse(out) as Report, code, stderr: err });
      } catch {
        reject(new Error(`no report (exit ${code}): ${out} ${err}`));
      }
    });
  });
}

const spawners: SpareSpawner[] = [];
afterEach(async () => {
  await Promise.all(spawners.splice(0).map((s) => s.close()));
  await closeAllNodes();
});

function spawner(baseEnv?: NodeJS.ProcessEnv): SpareSpawner {
  const s = new SpareSpawner({ delayMs: 0, ...(baseEnv ? { baseEnv: () => baseEnv } : {}) });
  spawners.push(s);
  return s;
}

/** Once it has started an engine (it makes spares only then), a spare, waiting. */
async function spareReady(s: SpareSpawner): Promise<number> {
  if (s.stats.spawned + s.stats.spare === 0) {
    const first = s.spawn({ file: process.execPath, args: ['-e', ''] }, { env: process.env, cwd: os.tmpdir() });
    await new Promise((resolve) => first.once('exit', resolve));
  }
  s.settled();
  await waitFor(() => s.sparePid !== null, 5000, 'a spare');
  return s.sparePid!;
}

describe.runIf(posix)('spare spawner', () => {
  const odd = fs.mkdtempSync(path.join(os.tmpdir(), "spare it's $HOME `x` "));
  const launch: LaunchCommand = { file: process.execPath, args: ['-e', REPORT, '--', "it's", 'two words', '$PATH', '`id`', '"q"', 'ünï', ''] };
  const env = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({
    ...process.env,
    PORT: '8123',
    TRICKY: `a'b"c $HOME \`id\` \\ \n second line`,
    EMPTY: '',
    ...extra,
  });

  it('starts the engine in the spare, as a spawn would have started it', async () => {
    const base: NodeJS.ProcessEnv = { ...process.env, ONLY_IN_BASE: 'gone in the engine', PATH: `${process.env['PATH']}` };
    const s = spawner(base);
    const target = env();
    delete target['ONLY_IN_BASE'];
    const spawned = await report(s.spawn(launch, { env: target, cwd: odd }));
    expect(s.stats).toMatchObject({ spawned: 1, spare: 0 });

    const sparePid = await spareReady(s);
    const child = s.spawn(launch, { env: target, cwd: odd });
    expect(s.stats).toMatchObject({ spawned: 1, spare: 1 });
    expect(child.pid).toBe(sparePid);
    const viaSpare = await report(child);

    expect(viaSpare.code).toBe(0);
    expect(viaSpare.report.argv).toEqual(spawned.report.argv);
    expect(viaSpare.report.argv.slice(-7)).toEqual(["it's", 'two words', '$PATH', '`id`', '"q"', 'ünï', '']);
    expect(viaSpare.report.cwd).toBe(fs.realpathSync(odd));
    expect(viaSpare.report.cwd).toBe(spawned.report.cwd);
    expect(viaSpare.report.stdin).toBe('/dev/null');
    expect(spawned.report.stdin).toBe('/dev/null');
    // The engine leads its own process group (and session), as a detached spawn does.
    expect(viaSpare.report.pid).toBe(sparePid);
    expect(viaSpare.report.pgid).toBe(sparePid);
    expect(viaSpare.report.sid).toBe(sparePid);
    expect(viaSpare.report.env['TRICKY']).toBe(target['TRICKY']);
    expect(viaSpare.report.env['ONLY_IN_BASE']).toBeUndefined();
    if (dash) expect(viaSpare.report.env).toEqual(spawned.report.env);
    else expect({ ...viaSpare.report.env, SHLVL: undefined, _: undefined }).toMatchObject({ ...spawned.report.env, SHLVL: undefined, _: undefined });
  });

  it('spawns as before what a spare would not make the same', async () => {
    const s = spawner();
    await spareReady(s);
    s.stats.spawned = 0;
    // A name a shell drops from the environment it passes on.
    const dotted = await report(s.spawn(launch, { env: env({ 'odd.name': 'x' }), cwd: odd }));
    expect(dotted.report.env['odd.name']).toBe('x');
    expect(s.stats).toMatchObject({ spawned: 1, spare: 0 });
    // A program that isn't there fails as a spawn fails (ENOENT), not as a shell's exit 127.
    const missing = s.spawn({ file: 'no-such-engine-anywhere', args: [] }, { env: env(), cwd: odd });
    const error = await new Promise<NodeJS.ErrnoException>((resolve) => missing.once('error', resolve));
    expect(error.code).toBe('ENOENT');
    expect(s.stats).toMatchObject({ spawned: 2, spare: 0 });
    expect(spareScript({ file: './engine', args: [] }, { env: env(), cwd: odd }, process.env)).toBeNull();
    expect(spareScript(launch, { env: env(), cwd: path.join(odd, 'missing') }, process.env)).toBeNull();
    expect(spareScript(launch, { env: env(), cwd: odd }, process.env, 'win32')).toBeNull();
    // The spare is still there for a start it can make.
    const ok = await report(s.spawn(launch, { env: env(), cwd: odd }));
    expect(ok.code).toBe(0);
    expect(s.stats).toMatchObject({ spawned: 2, spare: 1 });
  });

  it('leaves no spare behind: closed, or when the node is gone', async () => {
    const s = spawner();
    const pid = await spareReady(s);
    expect(isProcessRunning(pid)).toBe(true);
    await s.close();
    expect(isProcessRunning(pid)).toBe(false);
    s.settled();
    expect(s.sparePid).toBeNull();

    // The spare reads its script from a pipe only the node holds: the node gone (its end closed),
    // the shell reads the end of its input and exits without running anything.
    const t = spawner();
    const second = await spareReady(t);
    const child = (t as unknown as { spare: { child: ChildProcess } }).spare.child;
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.stdin!.destroy();
    expect(await exited).toBe(0);
    expect(isProcessRunning(second)).toBe(false);
    expect(t.sparePid).toBeNull();
  });

  it('a node starts its next engine in the spare made after the last start', async () => {
    const fixture = await startNode({ models: [{ name: 'alpha' }] });
    await fixture.node.api.startModel('alpha');
    const first = await waitForState(fixture, 'alpha', 'ready');
    await fixture.node.api.stopModel('alpha');
    await waitForState(fixture, 'alpha', 'stopped');
    // The spare: a shell of this process's, waiting for its script.
    const spares = () =>
      fs
        .readdirSync('/proc')
        .filter((e) => /^\d+$/.test(e))
        .filter((pid) => {
          try {
            return readProcStat(pid)?.ppid === process.pid && fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8') === '/bin/sh\0-s\0';
          } catch {
            return false;
          }
        })
        .map(Number);
    await waitFor(() => spares().length === 1, 5000, 'the spare');
    const spare = spares()[0]!;
    const res = await fetch(`${fixture.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'alpha', messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { choices: unknown[] }).choices.length).toBe(1);
    const second = await fixture.info('alpha');
    expect(second.pid).toBe(spare);
    expect(second.pid).not.toBe(first.pid);
    // Its output reaches the model's log as a spawned engine's does.
    const lines = await fixture.node.api.modelLogs('alpha', 200);
    expect(lines.filter((l) => l.stream !== 'system' && /listening/i.test(l.text)).length).toBeGreaterThanOrEqual(2);
    // And it stops as one: fixture.close() fails if any engine process (or the next spare) is left.
    await fixture.node.api.stopModel('alpha');
    await waitForState(fixture, 'alpha', 'stopped');
    expect(isProcessRunning(spare)).toBe(false);
  });
});
