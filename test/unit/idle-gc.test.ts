import { afterEach, describe, expect, it, vi } from 'vitest';
import { exposedGc, startIdleGc } from '../../src-main/core/idle-gc.js';

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe('startIdleGc', () => {
  it('collects once the node is idle, never while busy, and again only after memory grew', () => {
    vi.useFakeTimers();
    const gc = vi.fn();
    let busy = true;
    let rss = 100 * 1024 * 1024;
    vi.spyOn(process.memoryUsage, 'rss').mockImplementation(() => rss);
    const idle = startIdleGc({ busy: () => busy, gc, firstCheckMs: 1000, intervalMs: 10_000, minGrowthBytes: 2 * 1024 * 1024 });

    vi.advanceTimersByTime(1000); // first look: busy
    expect(gc).not.toHaveBeenCalled();
    busy = false;
    vi.advanceTimersByTime(10_000); // idle: collect
    expect(gc).toHaveBeenCalledTimes(1);
    expect(gc).toHaveBeenCalledWith({ type: 'major', execution: 'sync', flavor: 'last-resort' });

    rss += 1024 * 1024; // grew less than the threshold: leave it
    vi.advanceTimersByTime(10_000);
    expect(gc).toHaveBeenCalledTimes(1);
    rss += 2 * 1024 * 1024;
    vi.advanceTimersByTime(10_000);
    expect(gc).toHaveBeenCalledTimes(2);

    idle.stop();
    rss += 50 * 1024 * 1024;
    vi.advanceTimersByTime(60_000);
    expect(gc).toHaveBeenCalledTimes(2);
  });

  it('does nothing where gc() is not exposed', () => {
    vi.useFakeTimers();
    const busy = vi.fn(() => false);
    startIdleGc({ busy, gc: null, firstCheckMs: 10, intervalMs: 10 }).stop();
    vi.advanceTimersByTime(100);
    expect(busy).not.toHaveBeenCalled();
  });
});

describe('exposedGc', () => {
  it('returns a working collector even where node started without --expose-gc', async () => {
    // vitest's forks run without the flag (asserted, so this test keeps meaning what it says).
    expect(process.execArgv).not.toContain('--expose-gc');
    const gc = exposedGc();
    expect(typeof gc).toBe('function');
    // A full collection frees what nothing references any more.
    let garbage: number[][] | null = Array.from({ length: 200 }, () => new Array(10_000).fill(1));
    const ref = new WeakRef(garbage);
    garbage = null;
    await new Promise((resolve) => setImmediate(resolve)); // a WeakRef holds its target until the job ends
    gc!({ type: 'major', execution: 'sync' });
    expect(ref.deref()).toBeUndefined();
  });
});
