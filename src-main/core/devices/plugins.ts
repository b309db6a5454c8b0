// Device plugins: `.js` / `.mjs` modules in program.device_plugin_dir that report devices we have
// no built-in probe for (AMD through rocm-smi, Intel, anything else). A plugin that throws on
// import, throws or hangs in its probe, or returns garbage is logged and skipped; it never stops
// the other probes.
//
// The interface (see plugins/devices/example-rocm.mjs):
//   export const name = 'rocm';                       // optional; default: the file name
//   export async function probe({ run, timeoutMs }) { // or `export default { name, probe }`
//     return [{ name: 'AMD Radeon RX 7900 XTX', online: true, memory: { totalMb: 24560, freeMb: 20000 } }];
//   }
// Each device: name (required), online (default true), offlineReason, index, vendor, memory
// ({ totalMb, freeMb, usedMb? } or null), utilizationPct, temperatureC, powerW.
// `run(file, args)` runs a command with the probe's time limit and resolves with
// { stdout, stderr, code } (it rejects when the command is missing, fails or times out).
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { z } from 'zod';
import type { DeviceReading } from '../../../src-shared/contract.js';
import type { Logger } from '../logger.js';
import { withTimeout } from './process-tree.js';
import { formatSeconds, type CommandResult, type RunCommand } from './run-command.js';

export interface PluginContext {
  timeoutMs: number;
  run: (file: string, args: string[]) => Promise<CommandResult>;
}

export interface DevicePlugin {
  name: string;
  file: string;
  probe: (context: PluginContext) => unknown;
}

const finite = z.number().refine(Number.isFinite, 'expected a finite number');
const pluginDeviceSchema = z.object({
  name: z.string().trim().min(1),
  online: z.boolean().default(true),
  offlineReason: z.string().nullish(),
  index: z.int().nonnegative().nullish(),
  vendor: z.string().trim().min(1).nullish(),
  memory: z
    .object({ totalMb: finite.nonnegative(), freeMb: finite.nonnegative(), usedMb: finite.nonnegative().nullish() })
    .nullish(),
  utilizationPct: finite.nullish(),
  temperatureC: finite.nullish(),
  powerW: finite.nullish(),
});
const pluginResultSchema = z.array(pluginDeviceSchema).max(64);
export type PluginDevice = z.infer<typeof pluginDeviceSchema>;

const PLUGIN_FILE = /\.(m?js)$/i;

/** Imports every plugin of `dir`; a missing folder means no plugins. Never throws. */
export async function loadDevicePlugins(dir: string | null, logger: Logger, timeoutMs: number): Promise<DevicePlugin[]> {
  if (!dir) return [];
  let files: string[];
  try {
    const all = fs.readdirSync(dir);
    files = all.filter((f) => PLUGIN_FILE.test(f)).sort();
    // LLM-Manager's plugins were Python: say why they do nothing here rather than skip them silently.
    const python = all.filter((f) => /\.py$/i.test(f)).sort();
    if (python.length > 0) {
      logger.warn(`device plugins: ${python.join(', ')} in ${dir} not loaded: plugins are JavaScript modules (.js/.mjs) exporting probe(); see "Plugins" in docs/config.md`);
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') logger.warn(`device plugins: cannot read ${dir}: ${(err as Error).message}`);
    return [];
  }
  const plugins: DevicePlugin[] = [];
  for (const file of files) {
    const full = path.join(dir, file);
    try {
      const mod = (await withTimeout(import(pathToFileURL(full).href), timeoutMs, 'import')) as Record<string, unknown>;
      const candidate = (typeof mod['probe'] === 'function' ? mod : mod['default']) as Record<string, unknown> | undefined;
      const probe = candidate?.['probe'];
      if (typeof probe !== 'function') throw new Error('exports no probe() function');
      const declared = candidate?.['name'] ?? mod['name'];
      const name = typeof declared === 'string' && /^[\w.-]{1,40}$/.test(declared) ? declared : file.replace(PLUGIN_FILE, '');
      plugins.push({ name, file: full, probe: probe as DevicePlugin['probe'] });
      logger.info(`device plugin "${name}" loaded from ${full}`);
    } catch (err) {
      logger.warn(`device plugin ${full} skipped: ${(err as Error)?.message ?? String(err)}`);
    }
  }
  return plugins;
}

/**
 * Runs plugin probes. A probe that hangs is not called again until it settles, so a stuck plugin
 * costs one pending promise, not one per poll; its devices read offline meanwhile.
 */
export class PluginRunner {
  private readonly running = new Map<DevicePlugin, Promise<unknown>>();
  private readonly lastGood = new Map<DevicePlugin, DeviceReading[]>();

  constructor(
    private readonly run: RunCommand,
    private readonly timeoutMs: number,
  ) {}

  /** The plugin's devices; on failure its last known devices, offline, and the reason. */
  async probe(plugin: DevicePlugin): Promise<{ readings: DeviceReading[]; error: string | null }> {
    try {
      return { readings: await this.call(plugin), error: null };
    } catch (err) {
      const reason = (err as Error).message;
      const previous = this.lastGood.get(plugin) ?? [];
      const offline = previous.map((d) => ({ ...d, online: false, offlineReason: `plugin ${plugin.name}: ${reason}`, memory: null, holders: [] }));
      return { readings: offline, error: reason };
    }
  }

  private async call(plugin: DevicePlugin): Promise<DeviceReading[]> {
    if (this.running.has(plugin)) throw new Error(`its probe is still running (longer than ${formatSeconds(this.timeoutMs)})`);
    const context: PluginContext = { timeoutMs: this.timeoutMs, run: (file, args) => this.run(file, args, this.timeoutMs) };
    const call = Promise.resolve().then(() => plugin.probe(context));
    this.running.set(plugin, call);
    void call.then(
      () => this.running.delete(plugin),
      () => this.running.delete(plugin),
    );
    const threw = call.catch((err: unknown) => {
      throw new Error(`probe threw: ${(err as Error)?.message ?? String(err)}`);
    });
    const result = await withTimeout(threw, this.timeoutMs, 'probe');
    const parsed = pluginResultSchema.safeParse(result);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new Error(`probe returned something other than a list of devices (${issue ? `${issue.path.join('.') || 'result'}: ${issue.message}` : 'invalid'})`);
    }
    const ids = new Set<string>();
    const readings = parsed.data.map((d, i) => {
      const reading = toReading(plugin.name, d, i);
      // Two devices given one index keep distinct ids.
      const unique = ids.has(reading.id) ? { ...reading, id: `plugin:${plugin.name}:#${i}` } : reading;
      ids.add(unique.id);
      return unique;
    });
    this.lastGood.set(plugin, readings);
    return readings;
  }
}

function toReading(plugin: string, d: PluginDevice, position: number): DeviceReading {
  const memory = d.memory
    ? { totalMb: d.memory.totalMb, freeMb: Math.min(d.memory.freeMb, d.memory.totalMb), usedMb: d.memory.usedMb ?? Math.max(0, d.memory.totalMb - d.memory.freeMb) }
    : null;
  return {
    id: `plugin:${plugin}:${d.index ?? position}`,
    kind: 'gpu',
    vendor: d.vendor ?? plugin,
    index: d.index ?? null,
    name: d.name,
    online: d.online,
    offlineReason: d.online ? null : (d.offlineReason ?? 'reported offline by its plugin'),
    memory,
    utilizationPct: d.utilizationPct ?? null,
    temperatureC: d.temperatureC ?? null,
    powerW: d.powerW ?? null,
    holders: [],
  };
}
