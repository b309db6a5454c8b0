// Composition root of the headless node: config → registry of supervisors → router on a port.
// The Electron main process and the CLI both call createNode; nothing here imports electron.
import type { AddressInfo } from 'node:net';
import type http from 'node:http';
import type { AppConfig, ConfigIssue, LaunchProfile, ModelConfig, PeerConfig, ProgramConfig } from '../../src-shared/config.js';
import type { PeerDirectory } from './upstreams/peers.js';
import { formatIssue } from '../../src-shared/config.js';
import type { DeviceReading, DevicesSnapshot, ManagerApi, ModelInfo } from '../../src-shared/contract.js';
import { createManagerApi } from './api.js';
import { checkLaunch } from './config/launch-check.js';
import { loadConfig } from './config/load.js';
import { ConfigService } from './config/service.js';
import { EventHub } from './events.js';
import { consoleLogger, type Logger } from './logger.js';
import { stderrAndFile } from './logs/log-file.js';
import { RefusalLog } from './security/refusal-log.js';
import { renderMetrics } from './metrics.js';
import { fastPathStats } from './router/fast-path.js';
import { ModelLog } from './logs/model-log.js';
import { engineFallbackEncoding } from './logs/engine-text.js';
import { launchCommandFor, launchProblem, treeAlive } from './models/process.js';
import { ModelRegistry } from './models/registry.js';
import { ModelSupervisor, processDeps, type SupervisorDeps } from './models/supervisor.js';
import { PortPool } from './models/port-pool.js';
import { SpareSpawner } from './models/spare-spawner.js';
import { START_TIMES_FILE, StartTimes } from './models/start-times.js';
import { DEFAULT_ENGINE_PORTS } from '../../src-shared/config.js';
import { applyServerTimeouts, createRouterServer } from './router/server.js';
import { EngineLedger, ledgerPath, reapLeftoverEngines } from './models/engine-ledger.js';
import { EngineWatchdog } from './models/engine-watchdog.js';
import { RequestGuard } from './security/guard.js';
import { bindProblem, isLoopbackHost } from './security/host.js';
import { servedElsewhere } from './upstreams/elsewhere.js';
import { randomBytes } from 'node:crypto';
import { DEFAULT_POLL_MS, DeviceMonitor, modelMemory, type DeviceMonitorOptions } from './devices/monitor.js';
import { profileClaims } from './scheduler/device-match.js';
import { createGpuChooser } from './scheduler/gpu-chooser.js';
import { ResidentKeeper, withResidentIntent } from './scheduler/resident.js';
import type { ProfileChooser } from './scheduler/profile.js';
import { appRoot, appVersion } from './version.js';
import { startIdleGc } from './idle-gc.js';
import { nodeHealth } from './health.js';
import { join } from 'node:path';
import { Library } from './library/index.js';
import { USAGE_FILE, UsageLedger } from './usage/ledger.js';
import { DEFAULT_USAGE } from '../../src-shared/config.js';
import type { Downloads, DownloadsOptions } from './library/downloads.js';
import type { Deployer } from './deploy/deploy.js';
import { DEFAULT_HF_ENDPOINT } from '../../src-shared/config.js';

/**
 * The node's own log in program.log_dir (headless; the desktop app keeps its own in the OS's log
 * folder). The "+" keeps it apart from every engine's log: model names never make one.
 */
export const NODE_LOG_FILE = 'llm-manager+node.log';

/** A device reading this recent is good enough for a config check (a save, an edit on disk, startup). */
const CHECK_READING_MAX_AGE_MS = 30_000;

export interface NodeOptions {
  configPath: string;
  /** Overrides of program.host / program.port (CLI flags, tests). */
  host?: string;
  port?: number;
  logger?: Logger;
  /** The seam for profile choice (the GPU-aware scheduler plugs in here). */
  chooseProfile?: ProfileChooser;
  supervisorDeps?: Partial<SupervisorDeps>;
  /** How this host launches a profile; the chooser sees and the supervisor runs the result (the desktop app runs a bare `node` with its own binary). */
  adaptProfile?: (profile: LaunchProfile) => LaunchProfile;
  /** Between polls of a peer's /api/models (peers:), and the first wait after it fails (default 5 s; tests shrink it). */
  peerPollMs?: number;
  /** Follow edits of config.yaml made outside the app (default true). */
  watchConfig?: boolean;
  /** Device readings for /api/devices (the GPU monitor plugs in here). */
  devices?: () => Promise<DevicesSnapshot>;
  enrichModel?: (info: ModelInfo) => ModelInfo;
  /** Opens a folder in the file manager (the desktop app; "Open log folder"). */
  openFolder?: (dir: string) => Promise<void>;
  /** Tuning and seams of the device monitor (poll interval, probe time limit, nvidia-smi path). */
  deviceMonitor?: Partial<Pick<DeviceMonitorOptions, 'intervalMs' | 'timeoutMs' | 'nvidiaSmi' | 'run' | 'system' | 'links'>>;
  /** Folder of the built web UI to serve at / (default: dist/renderer of the app, when built). */
  webUiDir?: string | null;
  /** How often Node looks for clients past program.header_timeout / request_timeout (default 30 s). */
  connectionsCheckingIntervalMs?: number;
  /** Keys accepted besides program.api_keys (LLM_MANAGER_API_KEYS): they count for the bind check too. */
  extraApiKeys?: readonly string[];
  /** Where the library looks for LM Studio's folder and the Hugging Face cache (default: the user's home and environment). */
  library?: { home?: string; env?: Record<string, string | undefined> };
  /** Seams of downloads (the disk's writes and free space, retry waits) for tests. */
  downloads?: Partial<Pick<DownloadsOptions, 'openPart' | 'freeBytes' | 'retryDelaysMs' | 'progressIntervalMs'>>;
}

export interface LlmNode {
  api: ManagerApi;
  server: http.Server;
  registry: ModelRegistry;
  events: EventHub;
  /** The config the node runs with now (changes on save or on a valid edit on disk). */
  readonly config: AppConfig;
  configService: ConfigService;
  warnings: ConfigIssue[];
  configPath: string;
  /** http://host:port of the router (the OpenAI base URL is this + /v1). */
  url: string;
  /**
   * A key valid for this process only, never stored: accepted like one of program.api_keys, for the
   * app's own window (Electron adds it to the window's requests). A page without an origin
   * (Origin: null) reaches /v1 only with it.
   */
  localKey: string;
  /** The usage ledger: the UsageSink the router records each /v1 request into, and usage.sqlite's owner. */
  usage: UsageLedger;
  /** Stops every engine (whole process trees), then the server. */
  close(): Promise<void>;
}

export class ListenError extends Error {}

export async function createNode(options: NodeOptions): Promise<LlmNode> {
  const loaded = loadConfig(options.configPath);
  const config = loaded.config;
  // Read through configService.config so a saved change (log level, body limit) applies at once.
  let configService: ConfigService | null = null;
  const current = () => configService?.config ?? config;
  // Headless (serve): the node's own messages go to stderr and to a file beside the engines' logs.
  const logger = options.logger ?? consoleLogger(() => current().program.logLevel, stderrAndFile(join(config.program.logDir, NODE_LOG_FILE)));
  for (const warning of loaded.warnings) logger.warn(formatIssue(options.configPath, warning));

  // Keys from the environment join the config's; one object per config, so the guard sees a change only on a config change.
  const extraKeys = options.extraApiKeys ?? [];
  const withKeys = new WeakMap<ProgramConfig, ProgramConfig>();
  const programWithKeys = (program: ProgramConfig): ProgramConfig => {
    if (extraKeys.length === 0) return program;
    let merged = withKeys.get(program);
    if (!merged) {
      // Environment keys are named env-1, env-2 … (one the config also lists keeps the config's name).
      const added = [...new Set(extraKeys)].filter((key) => !program.apiKeys.includes(key));
      const names = program.apiKeys.map((_key, i) => program.apiKeyNames?.[i] ?? `key-${i + 1}`);
      merged = { ...program, apiKeys: [...program.apiKeys, ...added], apiKeyNames: [...names, ...added.map((_key, i) => `env-${i + 1}`)] };
      withKeys.set(program, merged);
    }
    return merged;
  };
  // Safe by default: refuse to listen beyond loopback without keys, before touching anything.
  const bindHost = options.host ?? config.program.host;
  const unsafe = bindProblem(bindHost, programWithKeys(config.program), options.configPath);
  if (unsafe) throw new ListenError(unsafe);
  if (config.program.allowInsecureLan && programWithKeys(config.program).apiKeys.length === 0 && !isLoopbackHost(bindHost)) {
    logger.warn(`listening on ${bindHost} without API keys (allow_insecure_lan): anyone on the network can use and control the models`);
  }
  // Engines a crashed earlier run left behind go first, before any engine of ours starts.
  const ledger = new EngineLedger(ledgerPath(config.program.logDir), logger);
  await reapLeftoverEngines(ledger.file, { logger });
  // The ledger covers the next start; the watchdog, a crash of this node while it runs.
  const watchdog = new EngineWatchdog({ logger });
  const engineRecords = {
    add(entry: { model: string; pid: number; command: string }) {
      ledger.add(entry);
      watchdog.add(entry.pid);
    },
    remove(pid: number) {
      ledger.remove(pid);
      watchdog.remove(pid);
    },
  };

  const events = new EventHub();
  // Usage (usage.sqlite beside config.yaml): the router's records only queue here; the database opens once the node listens.
  const usage = new UsageLedger({
    file: join(loaded.dir, USAGE_FILE),
    settings: () => (current().program.usage === undefined ? DEFAULT_USAGE : current().program.usage ?? null),
    prices: () => Object.fromEntries(current().models.map((m) => [m.name, m.pricing ?? null])),
    logger,
  });
  // Engine runs (hourly prices) from the supervisors' own state events.
  events.subscribe((event) => usage.onEvent(event), ['model']);
  // Devices and the GPU-aware chooser need the registry, which needs the chooser: a getter breaks the knot.
  let registryRef: ModelRegistry | null = null;
  const monitor = new DeviceMonitor({
    logger,
    disabled: () => current().program.disableGpuMonitoring,
    pluginDir: () => current().program.devicePluginDir,
    engines: () => (registryRef?.list() ?? []).flatMap((s) => (s.pid !== null && s.pid > 0 ? [{ model: s.name, pid: s.pid }] : [])),
    // Ready Ollama models: the VRAM its /api/ps reports is theirs, not "other processes" (#16 item 2).
    servedElsewhere: async () => {
      const ollama = (registryRef?.list() ?? []).flatMap((s) => {
        const spec = s.currentState === 'ready' ? s.remote?.spec : undefined;
        return spec?.kind === 'ollama' && spec.model !== null ? [{ name: s.name, baseUrl: spec.baseUrl, model: spec.model, ...(spec.apiKey !== null ? { headers: { authorization: `Bearer ${spec.apiKey}` } } : {}) }] : [];
      });
      return ollama.length === 0 ? [] : (await import('./upstreams/ollama.js')).ollamaVram(ollama);
    },
    demand: () => events.wants('devices'),
    ...options.deviceMonitor,
  });
  monitor.onReading((state) => {
    if (events.wants('devices')) events.publish({ type: 'devices', devices: state.snapshot });
  });
  const pollMs = options.deviceMonitor?.intervalMs ?? DEFAULT_POLL_MS;
  const enrichModel = options.enrichModel ?? ((info: ModelInfo): ModelInfo => ({ ...info, ...modelMemory(info, monitor.latest(), gpuChooser.declared(info.name), Date.now(), Math.max(pollMs * 3, 10_000)) }));
  const gpuChooser = createGpuChooser({
    devices: monitor,
    engines: () => registryRef?.list() ?? [],
    settings: () => ({ headroomMb: current().program.memoryHeadroomMb, monitoringDisabled: current().program.disableGpuMonitoring }),
    launchProblem: (profile) => launchProblem(profile),
    logger,
    // A reading from the last poll interval decides a start that fits; one that would stop others is read anew.
    freshMs: pollMs,
    // A stopped engine's memory counts as free once nothing of its process group is left.
    processGone: (pid) => !treeAlive(pid),
  });
  const baseChooser = options.chooseProfile ?? gpuChooser.choose;
  const adapt = options.adaptProfile;
  // The devices a config check matches device names against: a recent reading, when some profile
  // names a device and GPU monitoring is on (with it off, nothing is probed but for a start).
  const devicesForCheck = async (next: AppConfig): Promise<DeviceReading[] | null> => {
    if (next.program.disableGpuMonitoring || !next.models.some((m) => m.profiles.some((p) => profileClaims(p).length > 0))) return null;
    const state = await monitor.read(CHECK_READING_MAX_AGE_MS).catch(() => null);
    return state?.snapshot.devices ?? null;
  };
  const chooseProfile: ProfileChooser = adapt ? (model) => baseChooser({ ...model, profiles: model.profiles.map(adapt) }) : baseChooser;
  // program.engine_keys: a fresh key for every engine start, known only to this process and that engine.
  const engineKey = () => (current().program.engineKeys ? randomBytes(24).toString('base64url') : null);
  // Models without a port get one per start from program.engine_ports, never another model's or the router's.
  let routerPort: number | null = null;
  const ports = new PortPool({
    range: () => current().program.enginePorts ?? DEFAULT_ENGINE_PORTS,
    reserved: () => [
      ...current().models.flatMap((m) => (m.port === null ? [] : [m.port])),
      options.port ?? current().program.port,
      ...(routerPort !== null ? [routerPort] : []),
    ],
  });
  // Engines start in a process made ahead of time where that gives what a spawn gives (spare-spawner.ts).
  const spares = new SpareSpawner();
  const deps = processDeps({
    spawn: (profile, env, cwd) => spares.spawn(launchCommandFor(profile), { env, cwd }),
    chooseProfile,
    defaultCwd: loaded.dir,
    ledger: engineRecords,
    engineKey,
    allocatePort: (model) => ports.allocate(model),
    releasePort: (model, port) => ports.release(model, port),
    startTimes: new StartTimes(join(config.program.logDir, START_TIMES_FILE)),
    ...options.supervisorDeps,
  });
  // Engine output that isn't UTF-8: program.engine_encoding, else Windows' console code page.
  const fallbackEncoding = engineFallbackEncoding({ setting: () => current().program.engineEncoding, platform: process.platform });
  const registry = new ModelRegistry((modelConfig) => {
    const log = ModelLog.inDir(modelConfig.name, current().program.logDir, { fallbackEncoding });
    const supervisor = new ModelSupervisor(modelConfig, log, deps);
    let lastState = supervisor.currentState;
    supervisor.onChange((model) => {
      events.publish({ type: 'model', model: enrichModel(model) });
      // The operator of a headless node reads what happened in its log: every failure, once.
      if (model.state === 'failed' && lastState !== 'failed') logger.error(`${model.name} failed: ${model.lastError?.message ?? 'unknown reason'}`);
      // A start is over: the next engine's process can be made now, off any start's way.
      if (lastState === 'starting' && model.state !== 'starting') spares.settled();
      lastState = model.state;
    });
    log.onLine((line) => {
      // Starts (profile, port, command), ready (time, pid), stops and why: the model's own story, one line each.
      if (line.stream === 'system') logger.info(`[${supervisor.name}] ${line.text}`);
      if (events.wants('log')) events.publish({ type: 'log', model: supervisor.name, line });
    });
    return supervisor;
  });
  registryRef = registry;
  // Models held off (a game wants the VRAM): none starts on request or by auto_start.
  let heldSince: string | null = null;
  const hold = {
    since: () => heldSince,
    async set(on: boolean): Promise<void> {
      if (on !== (heldSince !== null)) {
        heldSince = on ? new Date().toISOString() : null;
        logger.info(on ? 'models held: every engine on this computer stops, none starts on request until released' : 'models released');
        events.publish({ type: 'hold', heldSince });
        if (!on) void residents.check();
      }
      // A hold frees this computer: models served by a peer or by a server elsewhere use none of it
      // (and stopping a peer's model would stop it on the peer), so they stay and keep answering.
      if (on) await Promise.all(registry.list().filter((s) => !servedElsewhere(s)).map((s) => s.stop('models held')));
    },
  };
  // Resident models: started now, and again once their devices are free after they were made room for or held.
  const residents = new ResidentKeeper({
    engines: () => registry.list(),
    startIfFits: (model, start) => gpuChooser.startIfFits(adapt ? { ...model, profiles: model.profiles.map(adapt) } : model, start),
    held: () => heldSince !== null,
    logger,
  });
  const autoStart = (supervisor: ModelSupervisor) => {
    if (heldSince !== null) return;
    supervisor.ensureReady().catch((err: Error) => logger.error(`auto_start of ${supervisor.name} failed: ${err.message.split('\n')[0]}`));
  };
  // Peers (#16 item 3): their models join the registry once read; the module loads only for a config with peers.
  let peers: PeerDirectory | null = null;
  let peersLoading: Promise<PeerDirectory> | null = null;
  const withPeers = (models: ModelConfig[]) => (peers ? peers.merge(models) : models);
  const syncPeers = (list: PeerConfig[] | undefined) => {
    if (!list?.length && !peersLoading) return;
    peersLoading ??= import('./upstreams/peers.js').then(({ PeerDirectory }) => (peers = new PeerDirectory({
      logger,
      onChange: () => void registry.apply(withPeers(current().models), (removed) => void removed.stop('no longer served by its peer').finally(() => removed.log.close())),
      supervisor: (name) => registry.resolve(name),
      ...(options.peerPollMs !== undefined ? { pollMs: options.peerPollMs } : {}),
    })));
    void peersLoading.then((directory) => directory.configure(list ?? []));
  };
  registry.apply(config.models);
  syncPeers(config.peers);
  let routerServer: http.Server | null = null;
  const service = new ConfigService({
    path: options.configPath,
    loaded,
    logger,
    apply: (next) => {
      if (routerServer) applyServerTimeouts(routerServer, next.program);
      const before = Object.fromEntries(registry.list().map((s) => [s.name, { state: s.currentState, inFlight: s.busy }]));
      const autoBefore = new Map(registry.list().map((s) => [s.name, s.latestConfig.autoStart]));
      syncPeers(next.peers);
      const change = registry.apply(withPeers(next.models), (removed) => {
        void removed.stop('removed from the config').finally(() => removed.log.close());
      });
      // auto_start is "runs while LLM Manager runs": a model added with it, or given it, starts now.
      const autoStarted = registry.list().filter((s) => s.latestConfig.autoStart && autoBefore.get(s.name) !== true && s.currentState === 'stopped');
      for (const supervisor of autoStarted) autoStart(supervisor);
      residents.sync();
      return { ...change, autoStarted: autoStarted.map((s) => s.name), before };
    },
    // One line per applied config, saying where it came from.
    onSaved: (result, source) => {
      void usage.configure();
      const what = result.message.replace(/^Saved: /, '');
      logger.info(source === 'disk' ? `config file edited on disk, applied: ${what}` : `config saved (window/API): ${what}`);
      events.publish({ type: 'config', result });
    },
    check: async (next, spans) => checkLaunch(next, spans, { devices: await devicesForCheck(next), ...(adapt ? { adaptProfile: adapt } : {}) }),
  });
  configService = service;

  const host = options.host ?? config.program.host;
  const port = options.port ?? config.program.port;
  const startedAt = Date.now();
  const version = appVersion();
  const devices =
    options.devices ??
    (async (): Promise<DevicesSnapshot> => ({ ...(await monitor.read(pollMs)).snapshot, monitoringDisabled: current().program.disableGpuMonitoring }));
  const modelsDirs = () => current().program.modelsDirs ?? [join(loaded.dir, 'models')];
  const library = new Library({
    modelsDirs: () => modelsDirs(),
    models: () => current().models,
    ...options.library,
  });
  // Downloads and the Deploy form are loaded on first use: a node nobody deploys from never carries them.
  let downloads: Downloads | null = null;
  let loadingDownloads: Promise<Downloads> | null = null;
  const loadDownloads = () =>
    (loadingDownloads ??= import('./library/downloads.js').then(
      (m) =>
        (downloads = new m.Downloads({
          modelsDir: () => modelsDirs()[0]!,
          hub: () => ({ endpoint: current().program.hfEndpoint ?? DEFAULT_HF_ENDPOINT, token: current().program.hfToken ?? (process.env['HF_TOKEN'] || null) }),
          publish: (download) => events.publish({ type: 'download', download }),
          // The library knows the file before `done` goes out, so a window that refetches on it finds it.
          onComplete: () => library.list(),
          ...options.downloads,
        })),
    ));
  let loadingDeployer: Promise<Deployer> | null = null;
  const loadDeployer = () =>
    (loadingDeployer ??= import('./deploy/deploy.js').then(
      (m) =>
        new m.Deployer({
          configPath: options.configPath,
          text: () => service.document().text,
          current,
          check: (text) => service.check(text),
          save: (text, saveOptions) => service.save(text, saveOptions),
          library: () => library.list(),
          devices: () => devices(),
          modelsDirs,
          startModel: (name) => api.startModel(name),
          stopModel: (name) => api.stopModel(name),
          modelInfo: (name) => api.modelInfo(name),
          resolveName: (name) => registry.resolve(name)?.name ?? null,
        }),
    ));
  const managerApi = createManagerApi({
    registry,
    library,
    downloads: { load: loadDownloads, peek: () => downloads },
    deployer: loadDeployer,
    events,
    version: appVersion(),
    startedAt,
    endpoint: () => `${url}/v1`,
    configPath: options.configPath,
    config: service,
    devices,
    deviceHistory: async () => monitor.history(),
    hold,
    ...(options.openFolder ? { openFolder: options.openFolder } : {}),
    enrich: enrichModel,
    usage,
  });
  // A person's stop keeps a resident stopped; their start makes it resident again.
  const api = withResidentIntent(managerApi, residents, (name) => registry.resolve(name)?.name);
  const localKey = randomBytes(24).toString('base64url');
  // Set when close() begins: /health answers 503 from then on.
  let stopping = false;
  const refusals = new RefusalLog({ log: (line) => logger.info(line) });
  const server = createRouterServer({
    api,
    registry,
    bodyLimitBytes: () => current().program.bodyLimitBytes,
    webUiDir: options.webUiDir === undefined ? join(appRoot(), 'dist', 'renderer') : options.webUiDir,
    usage,
    guard: new RequestGuard({ program: () => programWithKeys(current().program), boundHost: host, localKey, onKeyRefused: (code, peer) => refusals.refused(code, peer) }),
    limits: () => current().program,
    held: () => heldSince !== null,
    health: () => nodeHealth({ version, startedAt, registry, stopping: () => stopping, configInvalid: () => service.diskInvalid }),
    metrics: async () => {
      // A fresh reading when none is (a scrape every 15 s or so costs one nvidia-smi run).
      const state = await monitor.read(pollMs).catch(() => null);
      return renderMetrics({
        version: appVersion(),
        held: heldSince !== null,
        models: registry.list().map((s) => ({ name: s.name, state: s.currentState, inFlight: s.busy, ...s.counters, vramMb: enrichModel(s.info()).vramMb })),
        devices: state?.snapshot.devices ?? [],
        fastPath: routerServer ? fastPathStats(routerServer) : null,
      }) + usage.metrics.render();
    },
    ...(options.connectionsCheckingIntervalMs ? { connectionsCheckingIntervalMs: options.connectionsCheckingIntervalMs } : {}),
  });
  routerServer = server;
  await listen(server, host, port);
  await usage.open();
  const address = server.address() as AddressInfo;
  const url = `http://${formatHost(host)}:${address.port}`;
  routerPort = address.port;

  for (const supervisor of registry.list()) if (supervisor.model.autoStart) autoStart(supervisor);
  residents.sync();

  // What the node can tell before any start: scripts, commands and cwd there, devices present.
  await service.checkCurrent(loaded.spans);
  if (options.watchConfig ?? true) service.watch();

  // Busy = a request in flight, or one that ended since the last look.
  let lastGcLook = Date.now();
  const idleGc = startIdleGc({
    busy: () => {
      const since = lastGcLook;
      lastGcLook = Date.now();
      return registry.list().some((s) => s.busy > 0 || s.lastActivityAt > since);
    },
  });

  let closing: Promise<void> | null = null;
  const node: LlmNode = {
    api,
    server,
    registry,
    events,
    get config() {
      return service.config;
    },
    configService: service,
    warnings: loaded.warnings,
    configPath: options.configPath,
    url,
    localKey,
    usage,
    close() {
      closing ??= (async () => {
        stopping = true;
        residents.close();
        monitor.close();
        peers?.close();
        idleGc.stop();
        await downloads?.close();
        refusals.close();
        server.close();
        service.close();
        await Promise.all(registry.list().map((s) => s.stop('LLM Manager is shutting down')));
        await usage.close();
        for (const supervisor of registry.list()) supervisor.log.close();
        ledger.close();
        await watchdog.close();
        await spares.close();
        server.closeAllConnections();
      })();
      return closing;
    },
  };
  return node;
}

function listen(server: http.Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE') {
        reject(new ListenError(`port ${port} on ${host} is already in use — is LLM Manager already running? Stop the other process or set program.port / --port`));
      } else if (err.code === 'EACCES') {
        reject(new ListenError(`not allowed to listen on ${host}:${port}; pick a port above 1024`));
      } else if (err.code === 'EADDRNOTAVAIL' || err.code === 'ENOTFOUND') {
        reject(new ListenError(`cannot listen on ${host}: no such address on this machine`));
      } else {
        reject(new ListenError(`cannot listen on ${host}:${port}: ${err.message}`));
      }
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

function formatHost(host: string): string {
  if (host === '0.0.0.0' || host === '::') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}
