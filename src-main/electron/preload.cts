// The window's preload: exposes ManagerApi as `window.llmManager` over IPC, and nothing else (no
// ipcRenderer, no event objects). Sandboxed preloads are CommonJS and may require only 'electron',
// so everything else here is imported for types only; the literals below are checked against them.
import electron = require('electron');
import type { ConfigSaveOptions, DeployRequest, DeploySpec, DownloadRequest, ManagerApi, ManagerCallName, ManagerEvent, RemoveModelOptions } from '../../src-shared/contract.js';
import type { UsageQuery, UsageRange, UsageRequestsQuery } from '../../src-shared/usage.js';
import type { CallArgs, CallResult, EVENT_CHANNEL, EVENTS_SWITCH_CHANNEL, IpcReply, ManagerChannel } from './ipc-contract.js';

const { contextBridge, ipcRenderer } = electron;
const EVENTS: typeof EVENT_CHANNEL = 'manager:event';
const EVENTS_SWITCH: typeof EVENTS_SWITCH_CHANNEL = 'manager:events';

async function call<N extends ManagerCallName>(name: N, ...args: CallArgs<N>): Promise<CallResult<N>> {
  const channel: ManagerChannel<N> = `manager:${name}`;
  const reply = (await ipcRenderer.invoke(channel, ...args)) as IpcReply<CallResult<N>>;
  if (reply.ok) return reply.value;
  // A plain object crosses contextBridge whole; an Error would arrive with its message only.
  throw reply.error;
}

const listeners = new Set<(event: ManagerEvent) => void>();
ipcRenderer.on(EVENTS, (_event, payload: ManagerEvent) => {
  for (const listener of listeners) {
    try {
      listener(payload);
    } catch (err) {
      console.error(err);
    }
  }
});

const llmManager = {
  health: () => call('health'),
  listModels: () => call('listModels'),
  modelInfo: (name: string) => call('modelInfo', name),
  startModel: (name: string) => call('startModel', name),
  stopModel: (name: string) => call('stopModel', name),
  stopAll: () => call('stopAll'),
  modelLogs: (name: string, tail?: number) => call('modelLogs', name, tail),
  openLogFolder: (name: string) => call('openLogFolder', name),
  holdModels: () => call('holdModels'),
  releaseModels: () => call('releaseModels'),
  getDevices: () => call('getDevices'),
  getDeviceHistory: () => call('getDeviceHistory'),
  getConfig: () => call('getConfig'),
  saveConfig: (text: string, options?: ConfigSaveOptions) => call('saveConfig', text, options),
  checkConfig: (text: string) => call('checkConfig', text),
  listConfigBackups: () => call('listConfigBackups'),
  readConfigBackup: (id: string) => call('readConfigBackup', id),
  listLibrary: () => call('listLibrary'),
  listDownloads: () => call('listDownloads'),
  startDownload: (request: DownloadRequest) => call('startDownload', request),
  cancelDownload: (id: string) => call('cancelDownload', id),
  listOllamaModels: () => call('listOllamaModels'),
  previewDeploy: (spec: DeploySpec) => call('previewDeploy', spec),
  deployModel: (request: DeployRequest) => call('deployModel', request),
  removeModel: (name: string, options?: RemoveModelOptions) => call('removeModel', name, options),
  getUsage: (query?: UsageQuery) => call('getUsage', query),
  listUsageRequests: (query?: UsageRequestsQuery) => call('listUsageRequests', query),
  exportUsageCsv: (query?: UsageQuery) => call('exportUsageCsv', query),
  deleteUsage: (range: UsageRange) => call('deleteUsage', range),
  subscribe(listener: (event: ManagerEvent) => void): () => void {
    if (typeof listener !== 'function') throw new TypeError('subscribe expects a function');
    // A wrapper per call, so the same function subscribed twice is also unsubscribed twice.
    const entry = (event: ManagerEvent) => listener(event);
    listeners.add(entry);
    if (listeners.size === 1) void ipcRenderer.invoke(EVENTS_SWITCH, true);
    return () => {
      if (listeners.delete(entry) && listeners.size === 0) void ipcRenderer.invoke(EVENTS_SWITCH, false);
    };
  },
} satisfies ManagerApi;

contextBridge.exposeInMainWorld('llmManager', llmManager);
