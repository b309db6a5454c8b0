// nvidia-smi's CSV as real drivers print it ([N/A], [Not Supported], quoted names), and which
// engine a GPU process belongs to (process group first, then the parent chain).
import { describe, expect, it } from 'vitest';
import { parseAppList, parseGpuList } from '../../src-main/core/devices/nvidia.js';
import { ownerOf, parseListing, type ProcessLink } from '../../src-main/core/devices/process-tree.js';

describe('nvidia-smi --query-gpu', () => {
  it('reads a datacenter card and a laptop card, with fields a driver does not support', () => {
    const text = [
      '0, GPU-8a1e0c5f-1111-2222-3333-444455556666, Tesla V100-SXM2-32GB, 32768, 9120, 23648, 87, 61, 245.31',
      '1, GPU-44d0a2b7-aaaa-bbbb-cccc-ddddeeeeffff, NVIDIA GeForce RTX 4060 Laptop GPU, 8188, 5, 8020, [N/A], [Not Supported], [N/A]',
      '',
    ].join('\n');
    expect(parseGpuList(text)).toEqual([
      { index: 0, uuid: 'GPU-8a1e0c5f-1111-2222-3333-444455556666', name: 'Tesla V100-SXM2-32GB', totalMb: 32768, usedMb: 9120, freeMb: 23648, utilizationPct: 87, temperatureC: 61, powerW: 245.31 },
      { index: 1, uuid: 'GPU-44d0a2b7-aaaa-bbbb-cccc-ddddeeeeffff', name: 'NVIDIA GeForce RTX 4060 Laptop GPU', totalMb: 8188, usedMb: 5, freeMb: 8020, utilizationPct: null, temperatureC: null, powerW: null },
    ]);
  });

  it.each([
    ['free derived from total and used', '0, GPU-1, A100, 40960, 1000, [N/A], 0, 30, 50', { usedMb: 1000, freeMb: 39960 }],
    ['used derived from total and free', '0, GPU-1, A100, 40960, [N/A], 30960, 0, 30, 50', { usedMb: 10000, freeMb: 30960 }],
    ['no memory figures at all', '0, GPU-1, A100, [N/A], [N/A], [N/A], 0, 30, 50', { totalMb: null, usedMb: null, freeMb: null }],
    ['a quoted name with a comma', '0, GPU-1, "Card, Special Edition", 1000, 0, 1000, 0, 30, 50', { name: 'Card, Special Edition' }],
    ['CRLF line endings', '0, GPU-1, A100, 40960, 0, 40960, 0, 30, 50\r\n', { name: 'A100' }],
  ])('%s', (_name, line, expected) => {
    expect(parseGpuList(line)[0]).toMatchObject(expected);
  });

  it.each([
    ['an NVML error', 'Failed to initialize NVML: Driver/library version mismatch'],
    ['too few columns', '0, GPU-1, Tesla V100'],
    ['a non-numeric index', 'x, GPU-1, A100, 1, 1, 0, 0, 0, 0'],
    ['HTML', '<html><body>hello</body></html>'],
  ])('refuses %s', (_name, text) => {
    expect(() => parseGpuList(text)).toThrow(/^unexpected nvidia-smi output: /);
  });

  it('"No devices were found" is no cards, not an error', () => {
    expect(parseGpuList('No devices were found\n')).toEqual([]);
  });
});

describe('nvidia-smi --query-compute-apps', () => {
  it('reads processes per card; [N/A] memory (Windows WDDM) is unknown, not zero', () => {
    expect(parseAppList('GPU-1, 4242, 14000\nGPU-2, 77, [N/A]\n')).toEqual([
      { gpuUuid: 'GPU-1', pid: 4242, usedMb: 14000 },
      { gpuUuid: 'GPU-2', pid: 77, usedMb: null },
    ]);
  });
  it.each([[''], ['No running processes found\n']])('no processes: %j', (text) => {
    expect(parseAppList(text)).toEqual([]);
  });
  it('refuses garbage', () => {
    expect(() => parseAppList('GPU-1, not-a-pid, 100')).toThrow(/unexpected nvidia-smi output/);
  });
});

describe('which engine owns a GPU process', () => {
  // Leaders: 100 (qwen, a bash script), 200 (llama, the engine itself). 101 → 102: qwen's children.
  const leaders = new Map([
    [100, 'qwen'],
    [200, 'llama'],
  ]);
  const links = new Map<number, ProcessLink>([
    [101, { ppid: 100, pgid: 100 }],
    [102, { ppid: 101, pgid: 100 }],
    [103, { ppid: 101, pgid: 103 }], // left the group (setsid), still our child
    [300, { ppid: 1, pgid: 300 }], // someone else's
    [301, { ppid: 300, pgid: 300 }],
    [400, { ppid: 400, pgid: 400 }], // a loop in a broken listing
  ]);
  it.each([
    [100, 'qwen'],
    [101, 'qwen'],
    [102, 'qwen'],
    [103, 'qwen'],
    [200, 'llama'],
    [300, null],
    [301, null],
    [400, null],
    [999, null],
  ])('pid %i → %s', (pid, owner) => {
    expect(ownerOf(pid, leaders, links)).toBe(owner);
  });

  it('reads ps and Windows listings', () => {
    expect(parseListing('  101   100   100\n  102 101 100\nbad line\n', true)).toEqual(
      new Map([
        [101, { ppid: 100, pgid: 100 }],
        [102, { ppid: 101, pgid: 100 }],
      ]),
    );
    expect(parseListing('4321 1234\r\n', false)).toEqual(new Map([[4321, { ppid: 1234, pgid: null }]]));
  });
});
