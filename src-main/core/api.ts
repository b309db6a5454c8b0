// The ManagerApi implementation over the registry: what the window, the tray and /api call.
import { dirname } from 'node:path';
import type { DevicesSnapshot, HealthInfo, LogLine, LogLocation, ManagerApi, ManagerEvent, ModelInfo } from '../../src-shared/contract.js';
import { MAX_LOG_TAIL } from '../../src-shared/contract.js';
import { ApiError } from '../../src-shared/errors.js';
import type { ModelRegistry } from './models/registry.js';
import type { ModelSupervisor } from './models/supervisor.js';
import type { EventHub } from './events.js';
import type { ConfigService } from './config/service.js';
import type { Library } from './library/index.js';
import type { Downloads } from './library/downloads.js';
import type { Deployer } from './deploy/deploy.js';
import type { UsageLedger } from './usage/ledger.js';

export interface ApiContext {
  registry: ModelRegistry;
  events: EventHub;
  version: string;
  startedAt: number;
  endpoint: () => string;
  configPath: string;
  config: ConfigService;
  /** The models folders' GGUF files. */
  library?: Pick<Library, 'list'>;
  /** Downloads into the models folder: loaded on first use (`peek` is null until then). */
  downloads?: { load(): Promise<Downloads>; peek(): Downloads | null };
  /** The Deploy form's add and remove: loaded on first use. */
  deployer?: () => Promise<Deployer>;
  /** The usage ledger (usage.sqlite). */
  usage?: Pick<UsageLedger, 'report' | 'requests' | 'csv' | 'delete'>;
  devices: () => Promise<DevicesSnapshot>;
  deviceHistory: ManagerApi['getDeviceHistory'];
  /** Holding models off: the current state, and the switch (which stops every engine when it holds). */
  hold: { since(): string | null; set(on: boolean): Promise<void> };
  /** Opens a folder in the user's file manager: the desktop app's; a headless node has none. */
  openFolder?: (dir: string) => Promise<void>;
  /** Adds what the supervisor doesn't know (VRAM held) to a model's info. */
  enrich?: (info: ModelInfo) => ModelInfo;
}

export function modelNotFound(registry: ModelRegistry, name: string): ApiError {
  const names = registry.names();
  const available = names.length > 0 ? `available: ${names.join(', ')}` : 'no models are configured';
  return new ApiError(404, 'model_not_found', `model "${name}" does not exist; ${available}`);
}

/** A person's Start or Stop of a peer's model goes to the peer (#16 item 3); its answer is shown at once. */
async function askPeer(supervisor: ModelSupervisor, action: 'start' | 'stop'): Promise<void> {
  const { peerModelAction, peerView } = await import('./upstreams/peers.js');
  supervisor.setRemoteView(peerView(await peerModelAction(supervisor.remote!.spec, supervisor.name, action)));
}

export function createManagerApi(ctx: ApiContext): ManagerApi {
  const enrich = ctx.enrich ?? ((info: ModelInfo) => info);
  const find = (name: string): ModelSupervisor => {
    const supervisor = ctx.registry.resolve(name);
    if (!supervisor) throw modelNotFound(ctx.registry, name);
    return supervisor;
  };
  const needDownloads = async (): Promise<Downloads> => {
    if (!ctx.downloads) throw new ApiError(503, 'downloads_unavailable', 'this node has no models folder to download into');
    return ctx.downloads.load();
  };
  const needDeployer = async (): Promise<Deployer> => {
    if (!ctx.deployer) throw new ApiError(503, 'deploy_unavailable', 'this node cannot edit its config');
    return ctx.deployer();
  };
  const needUsage = () => {
    if (!ctx.usage) throw new ApiError(503, 'usage_unavailable', 'this node keeps no usage record');
    return ctx.usage;
  };
  const api: ManagerApi = {
    async health(): Promise<HealthInfo> {
      const states = ctx.registry.list().map((s) => s.currentState);
      const count = (state: string) => states.filter((s) => s === state).length;
      return {
        status: 'ok',
        version: ctx.version,
        uptimeS: Math.round((Date.now() - ctx.startedAt) / 1000),
        endpoint: ctx.endpoint(),
        configPath: ctx.configPath,
        models: { total: states.length, running: count('ready'), starting: count('starting'), failed: count('failed') },
        heldSince: ctx.hold.since(),
      };
    },
    async listModels(): Promise<ModelInfo[]> {
      return ctx.registry.list().map((s) => enrich(s.info()));
    },
    async modelInfo(name) {
      return enrich(find(name).info());
    },
    async startModel(name) {
      const supervisor = find(name);
      // A person asked for it: a crash-loop pause does not apply.
      supervisor.clearBackoff();
      await supervisor.ensureReady();
      // Starting a model that already runs is a warm-up: it stays alive_time from now.
      supervisor.touch();
      // A peer's model: here it is only reachable; the peer starts its engine.
      if (supervisor.remote?.spec.kind === 'peer') await askPeer(supervisor, 'start');
      return enrich(supervisor.info());
    },
    async stopModel(name) {
      const supervisor = find(name);
      if (supervisor.remote?.spec.kind === 'peer') await askPeer(supervisor, 'stop');
      else await supervisor.stop('stop requested');
      return enrich(supervisor.info());
    },
    async stopAll() {
      const all = ctx.registry.list();
      await Promise.all(all.map((s) => s.stop('stop-all requested')));
      return all.map((s) => enrich(s.info()));
    },
    async modelLogs(name, tail = 200): Promise<LogLine[]> {
      if (!Number.isInteger(tail) || tail < 0) throw new ApiError(400, 'invalid_tail', `tail must be a whole number 0-${MAX_LOG_TAIL}`);
      return find(name).log.tail(Math.min(tail, MAX_LOG_TAIL));
    },
    async openLogFolder(name): Promise<LogLocation> {
      const supervisor = find(name);
      const file = supervisor.log.filePath;
      if (!file) throw new ApiError(409, 'no_log_file', `${supervisor.name} keeps its log in memory only: program.log_dir is not set`);
      if (!ctx.openFolder) return { path: file, opened: false };
      try {
        await ctx.openFolder(dirname(file));
      } catch (err) {
        throw new ApiError(500, 'open_failed', `couldn't open ${dirname(file)}: ${(err as Error).message}`);
      }
      return { path: file, opened: true };
    },
    async holdModels() {
      await ctx.hold.set(true);
      return api.health();
    },
    async releaseModels() {
      await ctx.hold.set(false);
      return api.health();
    },
    async getDevices(): Promise<DevicesSnapshot> {
      return ctx.devices();
    },
    getDeviceHistory: () => ctx.deviceHistory(),
    async getConfig() {
      return ctx.config.document();
    },
    async saveConfig(text, options) {
      if (typeof text !== 'string') throw new ApiError(400, 'invalid_config_text', 'send the config as {"text": "..."}');
      const confirm: unknown = options === undefined || options === null ? undefined : (options as { confirmRemoveAll?: unknown }).confirmRemoveAll;
      if (confirm !== undefined && typeof confirm !== 'boolean') {
        throw new ApiError(400, 'invalid_confirm_remove_all', 'confirm_remove_all must be true or false');
      }
      return ctx.config.save(text, { confirmRemoveAll: confirm === true });
    },
    async checkConfig(text) {
      if (typeof text !== 'string') throw new ApiError(400, 'invalid_config_text', 'send the config as {"text": "..."}');
      return ctx.config.check(text);
    },
    listConfigBackups: () => ctx.config.backups(),
    readConfigBackup: (id) => ctx.config.backup(id),
    async listLibrary() {
      if (!ctx.library) return { scannedAt: new Date().toISOString(), durationMs: 0, roots: [], entries: [] };
      return ctx.library.list();
    },
    async listDownloads() {
      return ctx.downloads?.peek()?.list() ?? [];
    },
    async startDownload(request) {
      return (await needDownloads()).start(request);
    },
    async cancelDownload(id) {
      const downloads = ctx.downloads?.peek();
      if (!downloads) throw new ApiError(404, 'download_not_found', `there is no download ${id}`);
      return downloads.cancel(id);
    },
    async listOllamaModels() {
      const models = ctx.registry.list().map((s) => s.latestConfig);
      const { ollamaListing } = await import('./upstreams/ollama.js');
      return ollamaListing(models);
    },
    previewDeploy: async (spec) => (await needDeployer()).preview(spec),
    deployModel: async (request) => (await needDeployer()).deploy(request),
    removeModel: async (name, options) => (await needDeployer()).remove(name, options),
    getUsage: (query) => needUsage().report(query),
    listUsageRequests: (query) => needUsage().requests(query),
    exportUsageCsv: (query) => needUsage().csv(query),
    deleteUsage: (range) => needUsage().delete(range),
    subscribe(listener: (event: ManagerEvent) => void, types?: readonly ManagerEvent['type'][]) {
      return ctx.events.subscribe(listener, types);
    },
  };
  return api;
}
