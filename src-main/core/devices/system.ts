// The CPU and system memory, through systeminformation (reads /proc on Linux, sysctl on macOS,
// WMI on Windows). The CPU's make is read once; load and free memory on every probe.
// The module is loaded on the first probe: it is large (≈10 MB of RSS), and a headless node that
// nobody watches never needs it.
import type { DeviceReading } from '../../../src-shared/contract.js';
import { withTimeout } from './process-tree.js';

const MB = 1024 * 1024;

export type SystemProbe = () => Promise<DeviceReading[]>;

export function systemProbe(timeoutMs: number): SystemProbe {
  let cpuInfo: Promise<{ name: string; vendor: string }> | null = null;
  let module: Promise<typeof import('systeminformation')> | null = null;
  return async () => {
    module ??= import('systeminformation');
    // A CommonJS module: its exports arrive as `default` at run time; the typings describe them flat.
    const loaded = await module;
    const si = ((loaded as unknown as { default?: typeof loaded }).default ?? loaded);
    cpuInfo ??= withTimeout(si.cpu(), timeoutMs, 'CPU info')
      .then((c) => ({
        name: `${[c.manufacturer, c.brand].filter(Boolean).join(' ')} (${c.physicalCores || c.cores} cores, ${c.cores} threads)`,
        vendor: c.manufacturer ? c.manufacturer.toLowerCase() : 'cpu',
      }))
      .catch(() => {
        cpuInfo = null; // try again next time
        return { name: 'CPU', vendor: 'cpu' };
      });
    const [info, load, mem] = await Promise.all([
      cpuInfo,
      withTimeout(si.currentLoad(), timeoutMs, 'CPU load').catch(() => null),
      withTimeout(si.mem(), timeoutMs, 'memory info').catch((err: Error) => err),
    ]);
    const cpu: DeviceReading = {
      id: 'cpu',
      kind: 'cpu',
      vendor: info.vendor,
      index: null,
      name: info.name,
      online: true,
      offlineReason: null,
      memory: null,
      utilizationPct: load ? round1(load.currentLoad) : null,
      temperatureC: null,
      powerW: null,
      holders: [],
    };
    const ram: DeviceReading = {
      id: 'ram',
      kind: 'ram',
      vendor: 'system',
      index: null,
      name: 'System memory',
      online: !(mem instanceof Error),
      offlineReason: mem instanceof Error ? mem.message : null,
      // "available" (free + reclaimable cache) is what a new engine can actually get.
      memory: mem instanceof Error ? null : { totalMb: Math.round(mem.total / MB), usedMb: Math.round((mem.total - mem.available) / MB), freeMb: Math.round(mem.available / MB) },
      utilizationPct: mem instanceof Error || mem.total === 0 ? null : round1(((mem.total - mem.available) / mem.total) * 100),
      temperatureC: null,
      powerW: null,
      holders: [],
    };
    return [cpu, ram];
  };
}

function round1(n: number): number {
  return Math.round(n * 10) / 10;
}
