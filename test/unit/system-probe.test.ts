import fs from 'node:fs';
import os from 'node:os';
import { describe, expect, it } from 'vitest';
import { cpuVendor, loadMeter, physicalCores, systemProbe } from '../../src-main/core/devices/system.js';

describe('system probe', () => {
  it('load is busy ticks over all ticks since the previous call', () => {
    const samples = [{ busy: 100, total: 1000 }, { busy: 150, total: 1100 }, { busy: 150, total: 1100 }, { busy: 400, total: 1350 }];
    const meter = loadMeter(() => samples.shift()!);
    expect(meter()).toBe(10); // since boot
    expect(meter()).toBe(50);
    expect(meter()).toBeNull(); // no ticks passed: no reading rather than a made-up 0
    expect(meter()).toBe(100);
  });

  it('counts physical cores per package from /proc/cpuinfo', () => {
    const cpu = (p: number, c: number) => `processor\t: x\nphysical id\t: ${p}\ncore id\t\t: ${c}\n\n`;
    // two packages × two cores × two threads
    const text = [cpu(0, 0), cpu(0, 0), cpu(0, 1), cpu(0, 1), cpu(1, 0), cpu(1, 0), cpu(1, 1), cpu(1, 1)].join('');
    expect(physicalCores(text)).toBe(4);
    expect(physicalCores('processor : 0\nmodel name : ARM\n')).toBeNull();
  });

  it('names the maker from the model string', () => {
    expect(cpuVendor('AMD Ryzen 9 7950X 16-Core Processor')).toBe('amd');
    expect(cpuVendor('13th Gen Intel(R) Core(TM) i9-13900K')).toBe('intel');
    expect(cpuVendor('Neoverse-N1')).toBe('cpu');
  });

  it.runIf(process.platform === 'linux')('reads this machine: MemAvailable as free, the CPU with its thread count', async () => {
    const probe = systemProbe(5000);
    const [cpu, ram] = await probe();
    const meminfo = fs.readFileSync('/proc/meminfo', 'utf8');
    const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(meminfo)![1]);
    expect(ram!.memory!.totalMb).toBe(Math.round(kb('MemTotal') / 1024));
    // available memory moves while we read it: within 256 MB of /proc's own figure
    expect(Math.abs(ram!.memory!.freeMb - kb('MemAvailable') / 1024)).toBeLessThan(256);
    expect(cpu!.name).toMatch(new RegExp(`\\d+ cores, ${os.cpus().length} threads\\)$`));
    const load = (await probe())[0]!.utilizationPct;
    expect(load === null || (load >= 0 && load <= 100)).toBe(true);
  });
});
