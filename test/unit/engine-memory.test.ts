// The RAM each engine holds (its leader and what it started), from /proc, a ps listing or tasklist.
import { describe, expect, it } from 'vitest';
import { holdersFromListing, linuxHolders, parsePs, parseTasklist, type ProcReader } from '../../src-main/core/devices/engine-memory.js';

function reader(tree: Record<number, { rssKb: number; children?: number[] }>): ProcReader {
  return {
    children: (pid) => (tree[pid] ? (tree[pid]!.children ?? []) : null),
    rssKb: (pid) => tree[pid]?.rssKb ?? null,
  };
}

describe('engine memory', () => {
  it("adds up an engine's whole tree (a launch script and its engine's workers) under the model", () => {
    const proc = reader({
      100: { rssKb: 3_000, children: [101] }, // bash run.sh
      101: { rssKb: 2_048_000, children: [102, 103] }, // the engine
      102: { rssKb: 512_000 }, // its workers
      103: { rssKb: 512_000 },
      200: { rssKb: 40_960 },
    });
    expect(linuxHolders([{ model: 'qwen', pid: 100 }, { model: 'embed', pid: 200 }], proc)).toEqual([
      { model: 'qwen', pid: 100, usedMb: Math.round((3_000 + 2_048_000 + 1_024_000) / 1024) },
      { model: 'embed', pid: 200, usedMb: 40 },
    ]);
  });

  it('leaves out an engine that is gone, and counts a child that vanished mid-walk as nothing', () => {
    const proc = reader({ 100: { rssKb: 10_240, children: [101] } });
    expect(linuxHolders([{ model: 'a', pid: 100 }, { model: 'gone', pid: 300 }], proc)).toEqual([{ model: 'a', pid: 100, usedMb: 10 }]);
  });

  it('never loops on a tree that names a process twice', () => {
    const proc = reader({ 1: { rssKb: 1024, children: [2] }, 2: { rssKb: 1024, children: [1, 2] } });
    expect(linuxHolders([{ model: 'a', pid: 1 }], proc)).toEqual([{ model: 'a', pid: 1, usedMb: 2 }]);
  });

  it('reads a ps listing (macOS and other POSIX systems)', () => {
    const listing = parsePs('    1     0  12000\n  500     1  20480\n  501   500 102400\n  502     1   4096\n garbage\n');
    expect(listing.get(501)).toEqual({ ppid: 500, rssKb: 102400 });
    expect(holdersFromListing([{ model: 'm', pid: 500 }], listing)).toEqual([{ model: 'm', pid: 500, usedMb: 120 }]);
  });

  it('reads tasklist in any locale (Windows)', () => {
    const text = [
      '"System Idle Process","0","Services","0","8 K"',
      '"llama-server.exe","4242","Console","1","2,345,678 K"',
      '"python.exe","5151","Console","1","1.048.576 K"',
      '"vllm.exe","6161","Console","1","12 288 K"',
      'INFO: No tasks are running which match the specified criteria.',
    ].join('\r\n');
    const kb = parseTasklist(text);
    expect(kb.get(4242)).toBe(2_345_678);
    expect(kb.get(5151)).toBe(1_048_576);
    expect(kb.get(6161)).toBe(12_288);
    expect(kb.size).toBe(4);
  });
});
