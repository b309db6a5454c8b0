// Device plugins: a folder of .js/.mjs modules. Good ones add devices; one that throws on import,
// throws or hangs in its probe, or returns garbage is logged and skipped while the rest carry on.
// Also the shipped example, plugins/devices/example-rocm.mjs, against a fake rocm-smi.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { DeviceReading } from '../../src-shared/contract.js';
import { DeviceMonitor } from '../../src-main/core/devices/monitor.js';
import { CommandError } from '../../src-main/core/devices/run-command.js';
import type { Logger } from '../../src-main/core/logger.js';
import { planStart } from '../../src-main/core/scheduler/placement.js';

const EXAMPLE_DIR = fileURLToPath(new URL('../../plugins/devices/', import.meta.url));
const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0).reverse()) cleanup();
});

function tempDir(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'llm-manager-plugins-'));
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text, { mode: 0o755 });
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const at = (level: string) => (message: string) => lines.push(`${level} ${message}`);
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

function monitor(pluginDir: string, logger: Logger, timeoutMs = 1000): DeviceMonitor {
  const m = new DeviceMonitor({ logger, disabled: () => false, pluginDir: () => pluginDir, engines: () => [], timeoutMs, nvidiaSmi: '/nonexistent/nvidia-smi' });
  cleanups.push(() => m.close());
  return m;
}

const pluginDevices = (devices: DeviceReading[]) => devices.filter((d) => d.id.startsWith('plugin:'));

describe('device plugins', () => {
  it('loads the good ones and logs and skips every broken one', async () => {
    const dir = tempDir({
      'good.mjs': `export const name = 'acme';
        export async function probe({ timeoutMs }) {
          return [
            { name: 'Acme NPU 9000', vendor: 'acme', memory: { totalMb: 16000, freeMb: 12000 }, utilizationPct: 7, temperatureC: 55 },
            { name: 'Acme NPU 9000', index: 5, online: false, offlineReason: 'fan failure' },
          ];
        }`,
      'default-export.js': `export default { name: 'intel', probe: () => [{ name: 'Intel Arc A770', memory: { totalMb: 16384, freeMb: 16000, usedMb: 384 } }] };`,
      'throws-on-import.mjs': `throw new Error('boom while loading');`,
      'no-probe.mjs': `export const name = 'lazy';`,
      'throws.mjs': `export function probe() { throw new Error('driver exploded'); }`,
      'garbage.mjs': `export async function probe() { return { devices: 'many' }; }`,
      'bad-device.mjs': `export async function probe() { return [{ name: 'X', memory: { totalMb: 'lots', freeMb: 1 } }]; }`,
      'hangs.mjs': `export let calls = 0; export function probe() { calls++; return new Promise(() => {}); }`,
      'notes.txt': 'not a plugin',
      'nvidia_legacy.py': 'def probe(): return []',
    });
    const logger = recordingLogger();
    const m = monitor(dir, logger);
    const { snapshot } = await m.read();
    expect(pluginDevices(snapshot.devices)).toEqual([
      expect.objectContaining({ id: 'plugin:intel:0', kind: 'gpu', vendor: 'intel', name: 'Intel Arc A770', online: true, memory: { totalMb: 16384, freeMb: 16000, usedMb: 384 } }),
      expect.objectContaining({ id: 'plugin:acme:0', vendor: 'acme', name: 'Acme NPU 9000', online: true, memory: { totalMb: 16000, freeMb: 12000, usedMb: 4000 }, utilizationPct: 7, temperatureC: 55 }),
      expect.objectContaining({ id: 'plugin:acme:5', index: 5, online: false, offlineReason: 'fan failure' }),
    ]);
    // The CPU and the (missing) NVIDIA GPUs are still reported: plugins only add.
    expect(snapshot.devices.find((d) => d.id === 'cpu')?.online).toBe(true);

    // LLM-Manager's Python plugins are named, not silently skipped.
    expect(logger.lines.filter((l) => l.includes('.py'))).toEqual([
      `warn device plugins: nvidia_legacy.py in ${dir} not loaded: plugins are JavaScript modules (.js/.mjs) exporting probe(); see "Plugins" in docs/config.md`,
    ]);
    const warnings = logger.lines.filter((l) => l.startsWith('warn device plugin'));
    expect(warnings).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/throws-on-import\.mjs skipped: boom while loading$/),
        expect.stringMatching(/no-probe\.mjs skipped: exports no probe\(\) function$/),
        'warn device plugin throws: probe threw: driver exploded',
        expect.stringMatching(/^warn device plugin garbage: probe returned something other than a list of devices/),
        expect.stringMatching(/^warn device plugin bad-device: probe returned something other than a list of devices \(0\.memory\.totalMb/),
        'warn device plugin hangs: probe did not answer within 1 s',
      ]),
    );

    // A hung probe is not called again while it hangs, and is not logged again.
    await m.read();
    await m.read();
    const hangs = (await import(pathToFileURL(path.join(dir, 'hangs.mjs')).href)) as { calls: number };
    expect(hangs.calls).toBe(1);
    expect(logger.lines.filter((l) => l.includes('device plugin hangs'))).toHaveLength(2); // "did not answer", then "still running"
    expect(logger.lines.at(-1)).toMatch(/hangs: its probe is still running/);
  });

  it('a plugin device is matched by name or id and can carry a profile', async () => {
    const dir = tempDir({ 'rocm.mjs': `export const name = 'rocm'; export const probe = () => [{ name: 'AMD Radeon RX 7900 XTX', memory: { totalMb: 24560, freeMb: 20000 } }];` });
    const { snapshot } = await monitor(dir, recordingLogger()).read();
    const profile = (name: string, key: string, mb: number) => ({ name, requiredDevices: [key], memoryMb: { [key]: mb }, env: {}, scriptPath: null, command: 'x', args: [], cwd: null });
    const model = { name: 'M', aliases: [], mode: 'Chat' as const, port: 1, autoStart: false, aliveTimeMs: 0, healthPath: '/health', servedModelName: null, startTimeoutMs: 1000, stopTimeoutMs: 1000, maxConnections: null, profiles: [profile('Big', '7900', 22000), profile('Fits', 'plugin:rocm:0', 18000)] };
    const placement = planStart({ model, devices: snapshot.devices, engines: [], headroomMb: 512, monitoringDisabled: false });
    expect(placement).toMatchObject({ kind: 'start', profile: { name: 'Fits' }, skipped: [{ profile: 'Big', reason: '7900 needs 22000 MB, 19488 MB free' }] });
  });

  it('a missing plugin folder means no plugins, quietly', async () => {
    const logger = recordingLogger();
    const { snapshot } = await monitor(path.join(os.tmpdir(), 'no-such-plugin-dir-xyz'), logger).read();
    expect(pluginDevices(snapshot.devices)).toEqual([]);
    expect(logger.lines.filter((l) => l.includes('plugin'))).toEqual([]);
  });
});

describe('the example ROCm plugin', () => {
  const ROCM_JSON = {
    card0: {
      'Card series': 'Navi 31 [Radeon RX 7900 XTX]',
      'Card model': '0x744c',
      'VRAM Total Memory (B)': String(24 * 1024 ** 3),
      'VRAM Total Used Memory (B)': String(4 * 1024 ** 3),
      'GPU use (%)': '12',
      'Temperature (Sensor edge) (C)': '48.0',
      'Average Graphics Package Power (W)': '61.0',
    },
    system: { 'Driver version': '6.7.0' },
  };

  it.skipIf(process.platform === 'win32')('reports AMD cards from rocm-smi --json', async () => {
    const bin = tempDir({ 'rocm-smi': `#!/bin/sh\ncat <<'JSON'\n${JSON.stringify(ROCM_JSON)}\nJSON\n` });
    const saved = process.env['PATH'];
    process.env['PATH'] = `${bin}${path.delimiter}${saved}`;
    cleanups.push(() => {
      process.env['PATH'] = saved;
    });
    const { snapshot } = await monitor(EXAMPLE_DIR, recordingLogger(), 3000).read();
    expect(pluginDevices(snapshot.devices)).toEqual([
      expect.objectContaining({
        id: 'plugin:rocm:0', vendor: 'amd', index: 0, name: 'Navi 31 [Radeon RX 7900 XTX]', online: true,
        memory: { totalMb: 24576, usedMb: 4096, freeMb: 20480 }, utilizationPct: 12, temperatureC: 48, powerW: 61,
      }),
    ]);
  });

  it('is one offline entry, saying why, when rocm-smi is missing', async () => {
    const plugin = (await import(pathToFileURL(path.join(EXAMPLE_DIR, 'example-rocm.mjs')).href)) as {
      probe: (ctx: { run: () => Promise<never>; timeoutMs: number }) => Promise<unknown>;
    };
    const devices = await plugin.probe({ timeoutMs: 3000, run: () => Promise.reject(new CommandError('rocm-smi not found', 'not-found')) });
    expect(devices).toEqual([{ name: 'AMD GPU (rocm-smi)', vendor: 'amd', online: false, offlineReason: 'rocm-smi not found' }]);
  });
});
