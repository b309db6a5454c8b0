// The react-query cache of the window: one key per ManagerApi read. Live events keep these fresh
// (see live.ts); polling is only the fallback while no events arrive.
import { useQuery, type QueryClient } from '@tanstack/react-query';
import type { DevicesSnapshot, DownloadInfo, LogLine, ModelInfo } from '../../src-shared/contract.js';
import { MAX_LOG_TAIL } from '../../src-shared/contract.js';
import { useStore } from '../lib/store.js';
import { recordDevices, seedDeviceHistory } from '../pages/devices/history.js';
import { noteModel } from './actions.js';
import { ModelEvents } from './model-events.js';
import { eventsConnected, manager } from './manager.js';

export const queryKeys = {
  health: ['health'] as const,
  models: ['models'] as const,
  devices: ['devices'] as const,
  deviceHistory: ['device-history'] as const,
  config: ['config'] as const,
  logs: (model: string) => ['logs', model] as const,
  library: ['library'] as const,
  downloads: ['downloads'] as const,
  ollama: ['ollama-models'] as const,
};

/** The most log lines kept per model in the window. */
export const LOG_LINES_KEPT = 10_000;

export function useHealth() {
  return useQuery({ queryKey: queryKeys.health, queryFn: () => manager.health(), refetchInterval: 5_000, retry: false });
}

export function useModels() {
  const live = useStore(eventsConnected);
  // Events patch the list; the slow refetch picks up what events don't carry (VRAM held).
  return useQuery({ queryKey: queryKeys.models, queryFn: fetchModels, refetchInterval: live ? 15_000 : 3_000 });
}

/** Each model's last event: it wins over a list fetched while it came (model-events.ts). */
const modelEvents = new ModelEvents();

async function fetchModels(): Promise<ModelInfo[]> {
  const began = modelEvents.mark();
  const list = modelEvents.merge(await manager.listModels(), began);
  for (const model of list) noteModel(model);
  return list;
}

let lastDevicesEventAt = 0;
export function noteDevicesEvent(): void {
  lastDevicesEventAt = Date.now();
}

export function useDevices() {
  return useQuery({
    queryKey: queryKeys.devices,
    queryFn: async () => {
      const snapshot = await manager.getDevices();
      recordDevices(snapshot);
      return snapshot;
    },
    // Poll only while the node isn't pushing readings.
    refetchInterval: () => (Date.now() - lastDevicesEventAt < 15_000 ? false : 5_000),
  });
}

/**
 * Seeds the charts with the node's last 10 minutes of readings: once per window (live readings
 * append from then on), again after the event stream was down. The points go to the chart store;
 * the cache keeps only their count.
 */
export function useDeviceHistory() {
  return useQuery({
    queryKey: queryKeys.deviceHistory,
    queryFn: async () => {
      const history = await manager.getDeviceHistory();
      seedDeviceHistory(history);
      return history.at.length;
    },
    staleTime: Infinity,
  });
}

export function useConfigDocument() {
  return useQuery({ queryKey: queryKeys.config, queryFn: () => manager.getConfig(), refetchOnWindowFocus: true });
}

/** The models folders' files: scanned when the page opens and after each finished download. */
export function useLibrary() {
  return useQuery({ queryKey: queryKeys.library, queryFn: () => manager.listLibrary(), staleTime: 30_000 });
}

/** What the Ollama server has (the Add model page's Ollama tab): asked when the tab opens, and again on focus. */
export function useOllamaModels() {
  return useQuery({ queryKey: queryKeys.ollama, queryFn: () => manager.listOllamaModels(), staleTime: 10_000, refetchOnWindowFocus: true });
}

/** Downloads of this run of the node; `download` events keep the entry fresh. */
export function useDownloads() {
  return useQuery({ queryKey: queryKeys.downloads, queryFn: () => manager.listDownloads(), staleTime: Infinity });
}

/** Replaces one download in the cached list (or puts it first). */
export function patchDownload(client: QueryClient, download: DownloadInfo): void {
  client.setQueryData<DownloadInfo[]>(queryKeys.downloads, (list) => {
    if (!list) return [download];
    const i = list.findIndex((d) => d.id === download.id);
    if (i === -1) return [download, ...list];
    const next = list.slice();
    next[i] = download;
    return next;
  });
}

// Live lines seen per model, so lines that arrive while the history request is in flight are
// not lost when it answers.
const recentLive = new Map<string, LogLine[]>();
const RECENT_KEPT = 1_000;

export function rememberLiveLine(model: string, line: LogLine): void {
  let list = recentLive.get(model);
  if (!list) recentLive.set(model, (list = []));
  list.push(line);
  if (list.length > RECENT_KEPT) list.splice(0, list.length - RECENT_KEPT);
}

export function forgetLiveLines(model: string): void {
  recentLive.delete(model);
}

/** Appends lines newer than the last one held (lines carry an increasing seq per model). */
export function appendLines(existing: LogLine[], incoming: readonly LogLine[]): LogLine[] {
  const last = existing.at(-1)?.seq ?? 0;
  const fresh = incoming.filter((l) => l.seq > last);
  if (fresh.length === 0) return existing;
  const next = existing.concat(fresh);
  return next.length > LOG_LINES_KEPT ? next.slice(next.length - LOG_LINES_KEPT) : next;
}

export function useModelLogs(model: string | null) {
  return useQuery({
    queryKey: queryKeys.logs(model ?? ''),
    enabled: model !== null,
    queryFn: async () => {
      const history = await manager.modelLogs(model!, MAX_LOG_TAIL);
      return appendLines(history, recentLive.get(model!) ?? []);
    },
    // Live events append to this entry; it is refetched only on reconnect.
    staleTime: Infinity,
    gcTime: 10 * 60_000,
  });
}

/** Replaces one model in the cached list (or adds it), keeping the configured order. */
export function patchModel(client: QueryClient, model: ModelInfo): void {
  noteModel(model);
  modelEvents.note(model);
  client.setQueryData<ModelInfo[]>(queryKeys.models, (list) => {
    if (!list) return list;
    const i = list.findIndex((m) => m.name === model.name);
    if (i === -1) return [...list, model];
    const prev = list[i]!;
    // Events come straight from the supervisor and don't carry the VRAM figure; keep the last one
    // while the engine keeps running.
    const vramMb = model.vramMb ?? (prev.pid !== null && prev.pid === model.pid ? prev.vramMb : null);
    const next = list.slice();
    next[i] = { ...model, vramMb };
    return next;
  });
}

export function setDevices(client: QueryClient, snapshot: DevicesSnapshot): void {
  recordDevices(snapshot);
  client.setQueryData(queryKeys.devices, snapshot);
}
