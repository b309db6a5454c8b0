// The CPU and system memory. On Linux and Windows, Node's own `os` module says all we show: the
// CPU's make and thread count, per-core tick counters (load = busy ticks over all ticks since
// the last probe, as Task Manager and top count it) and available memory (libuv reads
// MemAvailable on Linux, the available physical memory on Windows). Elsewhere (macOS, where
// os.freemem() counts only never-used pages) systeminformation reads it, loaded on the first
// probe: it is large (its whole library is ≈10 MB of RSS), and an idle node should not carry it.
import fs from 'node:fs';
import os from 'node:os';
import type { DeviceReading } from '../../../src-shared/contract.js';
import { withTimeout } from './process-tree.js';

const MB = 1024 * 1024;

export type SystemProbe = () => Promise<DeviceReading[]>;

interface Memory { total: number; available: number }
interface CpuMake { name: string; vendor: string }

/** What one probe reads, by platform: the CPU's make (once), its load since the last call, memory. */
interface SystemSource {
  make(): Promise<CpuMake>;
  load(): Promise<number | null>;
  memory(): Promise<Memory>;
}

export function systemProbe(timeoutMs: number, platform: NodeJS.Platform = process.platform): SystemProbe {
  const source = platform === 'linux' || platform === 'win32' ? osSource(platform) : systeminformationSource();
  let make: Promise<CpuMake> | null = null;
  return async () => {
    make ??= withTimeout(source.make(), timeoutMs, 'CPU info').catch(() => {
      make = null; // try again next time
      return { name: 'CPU', vendor: 'cpu' };
    });
    const [info, load, mem] = await Promise.all([
      make,
      withTimeout(source.load(), timeoutMs, 'CPU load').catch(() => null),
      withTimeout(source.memory(), timeoutMs, 'memory info').catch((err: Error) => err),
    ]);
    return [cpuReading(info, load), ramReading(mem)];
  };
}

function cpuReading(info: CpuMake, load: number | null): DeviceReading {
  return {
    id: 'cpu',
    kind: 'cpu',
    vendor: info.vendor,
    index: null,
    name: info.name,
    online: true,
    offlineReason: null,
    memory: null,
    utilizationPct: load === null ? null : round1(load),
    temperatureC: null,
    powerW: null,
    holders: [],
  };
}

function ramReading(mem: Memory | Error): DeviceReading {
  const failed = mem instanceof Error;
  return {
    id: 'ram',
    kind: 'ram',
    vendor: 'system',
    index: null,
    name: 'System memory',
    online: !failed,
    offlineReason: failed ? mem.message : null,
    // "available" (free + reclaimable cache) is what a new engine can actually get.
    memory: failed ? null : { totalMb: Math.round(mem.total / MB), usedMb: Math.round((mem.total - mem.available) / MB), freeMb: Math.round(mem.available / MB) },
    utilizationPct: failed || mem.total === 0 ? null : round1(((mem.total - mem.available) / mem.total) * 100),
    temperatureC: null,
    powerW: null,
    holders: [],
  };
}

/** Busy and total ticks over all cores. */
function cpuTicks(): { busy: number; total: number } {
  let busy = 0;
  let total = 0;
  for (const { times } of os.cpus()) {
    const all = times.user + times.nice + times.sys + times.idle + times.irq;
    total += all;
    busy += all - times.idle;
  }
  return { busy, total };
}

/** Load in % between successive calls (the first call: since boot). */
export function loadMeter(read: () => { busy: number; total: number } = cpuTicks): () => number | null {
  let last = { busy: 0, total: 0 };
  return () => {
    const now = read();
    const total = now.total - last.total;
    const busy = now.busy - last.busy;
    last = now;
    return total > 0 ? Math.min(100, Math.max(0, (busy / total) * 100)) : null;
  };
}

function osSource(platform: NodeJS.Platform): SystemSource {
  const load = loadMeter();
  return {
    async make() {
      const cpus = os.cpus();
      const model = (cpus[0]?.model ?? '').replace(/\s+/g, ' ').trim() || 'CPU';
      const physical = platform === 'linux' ? physicalCores(await fs.promises.readFile('/proc/cpuinfo', 'utf8').catch(() => '')) : null;
      const counts = physical ? `${physical} cores, ${cpus.length} threads` : `${cpus.length} threads`;
      return { name: `${model} (${counts})`, vendor: cpuVendor(model) };
    },
    async load() {
      return load();
    },
    async memory() {
      return { total: os.totalmem(), available: os.freemem() };
    },
  };
}

/** Distinct (physical id, core id) pairs in /proc/cpuinfo; null when it doesn't say. */
export function physicalCores(cpuinfo: string): number | null {
  const cores = new Set<string>();
  let physical = '0';
  for (const line of cpuinfo.split('\n')) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const key = line.slice(0, colon).trim();
    const value = line.slice(colon + 1).trim();
    if (key === 'physical id') physical = value;
    else if (key === 'core id') cores.add(`${physical}/${value}`);
  }
  return cores.size > 0 ? cores.size : null;
}

/** 'intel', 'amd', 'apple', … from the CPU's model string; 'cpu' when it names no maker. */
export function cpuVendor(model: string): string {
  const m = model.toLowerCase();
  if (m.includes('intel')) return 'intel';
  if (m.includes('amd') || m.includes('ryzen') || m.includes('epyc') || m.includes('threadripper')) return 'amd';
  if (m.includes('apple')) return 'apple';
  if (m.includes('qualcomm') || m.includes('snapdragon')) return 'qualcomm';
  return 'cpu';
}

function systeminformationSource(): SystemSource {
  let module: Promise<typeof import('systeminformation')> | null = null;
  const si = async () => {
    module ??= import('systeminformation');
    // A CommonJS module: its exports arrive as `default` at run time; the typings describe them flat.
    const loaded = await module;
    return (loaded as unknown as { default?: typeof loaded }).default ?? loaded;
  };
  return {
    async make() {
      const c = await (await si()).cpu();
      return {
        name: `${[c.manufacturer, c.brand].filter(Boolean).join(' ')} (${c.physicalCores || c.cores} cores, ${c.cores} threads)`,
        vendor: c.manufacturer ? c.manufacturer.toLowerCase() : 'cpu',
      };
    },
    async load() {
      return (await (await si()).currentLoad()).currentLoad;
    },
    async memory() {
      const mem = await (await si()).mem();
      return { total: mem.total, available: mem.available };
    },
  };
}

function round1(n: number): number {
  return Math.round(n * 10) / 10;
}
