// The bench's exit watch (bench/exit-watch.ts), which times a swap's A to its process's real exit:
// against real processes, it reports an exit after the signal, and no moment at all for a process
// gone before its first read or still running when it is stopped. (How close the moment is, is the
// bench's to show: the swap log puts A's teardown in the swap beside the one measured alone.)
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { canWatchExits, watchExit } from '../../bench/exit-watch.js';

const now = () => performance.timeOrigin + performance.now();

describe.runIf(canWatchExits())('watchExit', () => {
  it('sees a process exit, at a moment after its signal', async () => {
    const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    await new Promise((resolve) => child.once('spawn', resolve));
    const watch = await watchExit(child.pid!);
    // Once it has read the process running: from there on its exit is timed.
    await watch.begin();
    const killedAt = now();
    child.kill('SIGTERM');
    await exited;
    const seen = await watch.done;
    expect(['zombie', 'reaped']).toContain(seen.how);
    expect(seen.at).not.toBeNull();
    expect(seen.at!).toBeGreaterThan(killedAt);
  });

  it('gives no moment for a process already gone at its first read, nor for one still running when stopped', async () => {
    const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
    await new Promise((resolve) => child.once('exit', resolve));
    const late = await watchExit(child.pid!);
    await late.begin();
    expect(await late.done).toEqual({ at: null, how: 'before' });

    const running = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    await new Promise((resolve) => running.once('spawn', resolve));
    try {
      const watch = await watchExit(running.pid!);
      await watch.begin();
      watch.stop();
      expect(await watch.done).toEqual({ at: null, how: 'stopped' });
    } finally {
      running.kill('SIGKILL');
    }
  });
});
