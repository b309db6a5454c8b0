// One shared reading of every device (CPU, RAM, NVIDIA GPUs, plugin devices) and of which of our
// engines holds how much GPU memory and RAM. A single loop polls about every 2 s while anything
// watches (an event subscriber, the window, a start waiting for memory), and every 30 s otherwise,
// so a window opened later draws the last 10 minutes without gaps; concurrent readers share one
// probe. Every probe has a time limit: a missing, failing or hanging
// nvidia-smi turns the GPUs offline with the reason and never blocks a caller for longer. The
// last 10 minutes of readings are kept (history.ts) for charts opened later.
import type { DeviceReading, DevicesHistory, DevicesSnapshot, MemoryHolder, ModelInfo } from '../../../src-shared/contract.js';
import type { Logger } from '../logger.js';
import { probeNvidia, type NvidiaGpu, type NvidiaReading } from './nvidia.js';
import { ReadingHistory } from './history.js';
import { loadDevicePlugins, PluginRunner, type DevicePlugin } from './plugins.js';
import { engineMemoryProbe, type EngineMemoryProbe } from './engine-memory.js';
import { attribute, processLinks, withTimeout, type ProcessLinks } from './process-tree.js';
import { runCommand, type RunCommand } from './run-command.js';
import { systemProbe, type SystemProbe } from './system.js';
import { attributeServedElsewhere, type ServedElsewhere } from './served-elsewhere.js';

export const DEFAULT_POLL_MS = 2000;
/**
 * Nobody watching: a reading this often (0: none). One probe costs the node a few ms of CPU and
 * nvidia-smi some 20-50 ms of its own: every 30 s that is about 0.1 % of a core.
 */
export const DEFAULT_IDLE_POLL_MS = 30_000;
export const DEFAULT_PROBE_TIMEOUT_MS = 3000;

/** An engine of ours: the model and its process-group leader. */
export interface EngineProcess {
  model: string;
  pid: number;
}

export interface DeviceState {
  snapshot: DevicesSnapshot;
  /** Epoch ms the probe began: nothing that happened before it is missing from the reading. */
  at: number;
  /** Epoch ms the probe ended. */
  doneAt: number;
  /** Devices whose holders list is complete (per-process memory reported); elsewhere it is unknown. */
  holdersKnown: ReadonlySet<string>;
}

export interface DeviceMonitorOptions {
  logger: Logger;
  /** program.Disable_GPU_monitoring: no polling at all; readings only on demand (a start). */
  disabled: () => boolean;
  pluginDir: () => string | null;
  engines: () => EngineProcess[];
  /** Watchers the monitor can't be told about (event subscribers): polled each tick. */
  demand?: () => boolean;
  intervalMs?: number;
  /** The reading interval while nobody watches (default DEFAULT_IDLE_POLL_MS; 0: none). */
  idleIntervalMs?: number;
  timeoutMs?: number;
  /** Default: $LLM_MANAGER_NVIDIA_SMI, else `nvidia-smi` from PATH. */
  nvidiaSmi?: string;
  run?: RunCommand;
  system?: SystemProbe;
  links?: ProcessLinks;
  /** The RAM each engine's processes hold (default: engineMemoryProbe for this platform). */
  engineMemory?: EngineMemoryProbe;
  /** GPU memory of our models held by servers we don't spawn (Ollama's /api/ps), attributed to a card's unattributed processes. */
  servedElsewhere?: () => Promise<ServedElsewhere[]>;
  now?: () => number;
}

export class DeviceMonitor {
  private readonly intervalMs: number;
  private readonly idleIntervalMs: number;
  private readonly timeoutMs: number;
  private readonly engineMemory: EngineMemoryProbe;
  /** When the last reading began, or the monitor was made: the idle interval counts from it. */
  private lastProbeAt: number;
  private readonly run: RunCommand;
  private readonly system: SystemProbe;
  private readonly links: ProcessLinks;
  private readonly now: () => number;
  private readonly plugins: PluginRunner;
  private pluginSet: { dir: string | null; loaded: Promise<DevicePlugin[]> } | null = null;
  private last: DeviceState | null = null;
  private inflight: { started: number; promise: Promise<DeviceState> } | null = null;
  private queued: Promise<DeviceState> | null = null;
  private watchers = 0;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  /** Every NVIDIA card seen so far (by uuid), so one that vanishes reads "offline", not "unknown". */
  private readonly knownGpus = new Map<string, DeviceReading>();
  private readonly problems = new Map<string, string>();
  private readonly listeners = new Set<(state: DeviceState) => void>();
  private readonly readings: ReadingHistory;

  constructor(private readonly options: DeviceMonitorOptions) {
    this.intervalMs = options.intervalMs ?? DEFAULT_POLL_MS;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS;
    this.run = options.run ?? runCommand;
    this.system = options.system ?? systemProbe(this.timeoutMs);
    this.links = options.links ?? processLinks(this.run, this.timeoutMs);
    this.now = options.now ?? Date.now;
    this.idleIntervalMs = options.idleIntervalMs ?? DEFAULT_IDLE_POLL_MS;
    this.engineMemory = options.engineMemory ?? engineMemoryProbe(this.run, this.timeoutMs);
    this.lastProbeAt = this.now();
    this.plugins = new PluginRunner(this.run, this.timeoutMs);
    this.readings = new ReadingHistory(this.intervalMs);
    // A timer that only checks whether anyone watches costs nothing; probes run when they do, and
    // now and then when nobody does.
    this.timer = setInterval(() => this.tick(), this.intervalMs);
    this.timer.unref();
  }

  /** The last reading, without probing (null before the first). */
  latest(): DeviceState | null {
    return this.last;
  }

  /**
   * A reading taken no earlier than `maxAgeMs` ago: the last one, the one in progress, or a new
   * probe. 0 = one that starts now (after a stop, to see the memory it freed).
   */
  read(maxAgeMs = 0): Promise<DeviceState> {
    const now = this.now();
    if (this.last && now - this.last.at < maxAgeMs) return Promise.resolve(this.last);
    if (this.inflight && now - this.inflight.started < maxAgeMs) return this.inflight.promise;
    if (this.queued) return this.queued;
    if (!this.inflight) return this.begin();
    // A probe is running but began too early for this caller: one more right after it, shared.
    this.queued ??= this.inflight.promise
      .catch(() => undefined)
      .then(() => {
        this.queued = null;
        return this.begin();
      });
    return this.queued;
  }

  private begin(): Promise<DeviceState> {
    const started = this.now();
    const promise: Promise<DeviceState> = this.probe(started).finally(() => {
      if (this.inflight?.promise === promise) this.inflight = null;
    });
    this.inflight = { started, promise };
    return promise;
  }

  /** Keeps the loop polling until the returned function is called (a pending start, the window). */
  watch(): () => void {
    this.watchers++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.watchers--;
    };
  }

  /** The readings of the last 10 minutes (polled or on demand), oldest first. */
  history(): DevicesHistory {
    return this.readings.snapshot();
  }

  /** Every new reading (polled or on demand). */
  onReading(listener: (state: DeviceState) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.listeners.clear();
  }

  private tick(): void {
    if (this.closed || this.options.disabled()) return;
    // A probe slower than the interval (a loaded machine) is this tick's reading: no second one
    // queued behind it, which could run after the last watcher has gone.
    if (this.inflight) return;
    if (this.watchers > 0 || (this.options.demand?.() ?? false)) {
      void this.read(this.intervalMs / 2).catch(() => undefined);
    } else if (this.idleIntervalMs > 0 && this.now() - this.lastProbeAt >= this.idleIntervalMs - this.intervalMs / 2) {
      // Nobody watches: a reading now and then keeps the last 10 minutes for a window opened later.
      void this.read(this.intervalMs / 2).catch(() => undefined);
    }
  }

  private async probe(started: number): Promise<DeviceState> {
    this.lastProbeAt = started;
    const file = this.options.nvidiaSmi ?? (process.env['LLM_MANAGER_NVIDIA_SMI'] || 'nvidia-smi');
    const [system, nvidia, plugins, engineRam] = await Promise.all([
      this.system().catch((err: Error) => {
        this.report('CPU/memory probe', err.message);
        return [] as DeviceReading[];
      }),
      probeNvidia(this.run, file, this.timeoutMs),
      this.pluginReadings(),
      withTimeout(this.engineMemory(this.options.engines()), this.timeoutMs, 'engine memory').then(
        (holders) => {
          this.report('engine memory', null);
          return holders;
        },
        (err: Error) => {
          this.report('engine memory', err.message);
          return [] as MemoryHolder[];
        },
      ),
    ]);
    // The engines' share of RAM, as their share of a GPU: the rest is other processes'.
    for (const device of system) if (device.kind === 'ram' && device.online) device.holders = engineRam;
    const holdersKnown = new Set<string>();
    const gpus = await this.gpuReadings(nvidia, holdersKnown);
    if (this.options.servedElsewhere) {
      const served = await withTimeout(this.options.servedElsewhere(), this.timeoutMs, 'models served elsewhere').catch(() => []);
      attributeServedElsewhere(gpus, served);
    }
    const state: DeviceState = {
      at: started,
      doneAt: this.now(),
      holdersKnown,
      snapshot: { at: new Date(started).toISOString(), monitoringDisabled: this.options.disabled(), devices: [...system, ...gpus, ...plugins] },
    };
    this.last = state;
    this.readings.record(started, state.snapshot.devices);
    for (const listener of this.listeners) {
      try {
        listener(state);
      } catch {
        // a broken listener must not break the readings
      }
    }
    return state;
  }

  private async gpuReadings(nvidia: NvidiaReading, holdersKnown: Set<string>): Promise<DeviceReading[]> {
    if (!nvidia.ok) {
      this.report('nvidia-smi', nvidia.reason, nvidia.missing ? 'info' : 'warn');
      const offline = [...this.knownGpus.values()].map((gpu) => offlineCopy(gpu, nvidia.reason));
      if (offline.length > 0) return offline;
      return [{ ...offlineCopy(blankGpu(), nvidia.reason), id: 'nvidia', name: 'NVIDIA GPU' }];
    }
    this.report('nvidia-smi', null);
    this.report('nvidia-smi process list', nvidia.appsError);
    const holders = await this.holdersByGpu(nvidia);
    const present = nvidia.gpus.map((gpu) => {
      const reading = gpuReading(gpu, holders.get(gpu.uuid ?? '') ?? []);
      if (nvidia.apps && nvidia.apps.every((a) => a.gpuUuid !== gpu.uuid || a.usedMb !== null)) holdersKnown.add(reading.id);
      this.knownGpus.set(gpu.uuid ?? reading.id, reading);
      return reading;
    });
    const presentKeys = new Set(nvidia.gpus.map((gpu) => gpu.uuid ?? `gpu${gpu.index}`));
    const ids = new Set(present.map((r) => r.id));
    const gone = [...this.knownGpus.entries()]
      .filter(([key]) => !presentKeys.has(key))
      .map(([key, gpu]) => {
        const copy = offlineCopy(gpu, 'no longer reported by nvidia-smi');
        // The remaining cards may have been renumbered into this card's id.
        return ids.has(copy.id) ? { ...copy, id: `nvidia:${key}`, index: null } : copy;
      });
    return [...present, ...gone].sort((a, b) => (a.index ?? 1e9) - (b.index ?? 1e9));
  }

  private async holdersByGpu(nvidia: Extract<NvidiaReading, { ok: true }>): Promise<Map<string, MemoryHolder[]>> {
    const byGpu = new Map<string, MemoryHolder[]>();
    if (!nvidia.apps || nvidia.apps.length === 0) return byGpu;
    const leaders = new Map<number, string>();
    for (const engine of this.options.engines()) leaders.set(engine.pid, engine.model);
    const owners = await attribute([...new Set(nvidia.apps.map((a) => a.pid))], leaders, this.links, this.timeoutMs);
    for (const app of nvidia.apps) {
      const list = byGpu.get(app.gpuUuid) ?? [];
      // Unknown stays unknown (Windows WDDM): 0 would read as "holds nothing" and put the card's
      // whole use on other processes.
      list.push({ model: owners.get(app.pid) ?? null, pid: app.pid, usedMb: app.usedMb });
      byGpu.set(app.gpuUuid, list);
    }
    return byGpu;
  }

  private async pluginReadings(): Promise<DeviceReading[]> {
    const dir = this.options.pluginDir();
    if (!this.pluginSet || this.pluginSet.dir !== dir) {
      this.pluginSet = { dir, loaded: loadDevicePlugins(dir, this.options.logger, this.timeoutMs) };
    }
    const plugins = await this.pluginSet.loaded;
    const results = await Promise.all(plugins.map((plugin) => this.plugins.probe(plugin)));
    results.forEach((result, i) => this.report(`device plugin ${plugins[i]!.name}`, result.error));
    return results.flatMap((r) => r.readings);
  }

  /** Logs a probe's problem once when it appears and once when it goes away, not every poll. */
  private report(source: string, problem: string | null, level: 'info' | 'warn' = 'warn'): void {
    const previous = this.problems.get(source);
    if (problem === (previous ?? null)) return;
    if (problem === null) {
      this.problems.delete(source);
      this.options.logger.info(`${source}: working again`);
    } else {
      this.problems.set(source, problem);
      this.options.logger[level](`${source}: ${problem}`);
    }
  }
}

function gpuReading(gpu: NvidiaGpu, holders: MemoryHolder[]): DeviceReading {
  const memory =
    gpu.totalMb !== null && gpu.freeMb !== null
      ? { totalMb: gpu.totalMb, usedMb: gpu.usedMb ?? gpu.totalMb - gpu.freeMb, freeMb: gpu.freeMb }
      : null;
  return {
    id: `gpu${gpu.index}`,
    kind: 'gpu',
    vendor: 'nvidia',
    index: gpu.index,
    name: gpu.name,
    online: true,
    offlineReason: null,
    memory,
    utilizationPct: gpu.utilizationPct,
    temperatureC: gpu.temperatureC,
    powerW: gpu.powerW,
    holders,
    uuid: gpu.uuid,
  };
}

function blankGpu(): DeviceReading {
  return { id: 'nvidia', kind: 'gpu', vendor: 'nvidia', index: null, name: 'NVIDIA GPU', online: false, offlineReason: null, memory: null, utilizationPct: null, temperatureC: null, powerW: null, holders: [] };
}

function offlineCopy(device: DeviceReading, reason: string): DeviceReading {
  return { ...device, online: false, offlineReason: reason, memory: null, utilizationPct: null, temperatureC: null, powerW: null, holders: [] };
}

/**
 * GPU memory (MB) a model's processes hold according to a recent reading; null when it can't be
 * told (no reading lately, no GPU that reports per-process memory).
 */
export function vramOf(state: DeviceState | null, model: string, now: number, maxAgeMs: number): number | null {
  if (!state || now - state.doneAt > maxAgeMs) return null;
  const known = state.snapshot.devices.filter((d) => d.kind === 'gpu' && d.online && state.holdersKnown.has(d.id));
  if (known.length === 0) return null;
  let total = 0;
  for (const device of known) for (const holder of device.holders) if (holder.model === model) total += holder.usedMb ?? 0;
  return total;
}

const LIVE_STATES: ReadonlySet<ModelInfo['state']> = new Set(['starting', 'ready', 'stopping']);

/**
 * What a model's info says about its memory: measured (vramOf), and what its running profile
 * declared in memory_mb (`declared`: the GPU chooser's record of its start), which the window shows
 * where the driver doesn't report per-process memory.
 */
export function modelMemory(
  info: ModelInfo,
  state: DeviceState | null,
  declared: Readonly<Record<string, number>> | undefined,
  now: number,
  maxAgeMs: number,
): Pick<ModelInfo, 'vramMb' | 'declaredMemoryMb'> {
  const live = LIVE_STATES.has(info.state);
  const promised = live && declared ? Object.entries(declared).filter(([, mb]) => mb > 0) : [];
  // A model without an engine holds nothing, whatever a reading from before its stop says; a
  // reading begun before this engine started can't have seen it: unknown yet, not "0 MB".
  const seen = !live || (state && info.startedAt !== null && state.at < Date.parse(info.startedAt)) ? null : state;
  return { vramMb: vramOf(seen, info.name, now, maxAgeMs), declaredMemoryMb: promised.length > 0 ? Object.fromEntries(promised) : null };
}
