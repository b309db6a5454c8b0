// ManagerApi over IPC, end to end without Electron: the real preload (transpiled as Electron's
// sandbox runs it: CommonJS, `require` limited to 'electron') talks through an in-memory ipc that
// structured-clones every message, like Electron does, to the real main-side binding.
import fs from 'node:fs';
import type { IpcMainInvokeEvent, WebContents } from 'electron';
import ts from 'typescript';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { managerRoutes, type ManagerApi, type ManagerCallName, type ManagerEvent, type ModelInfo } from '../../src-shared/contract.js';
import { ApiError } from '../../src-shared/errors.js';
import { reviveError, withRevivedErrors, type SerializedError } from '../../src-shared/serialized-error.js';
import { bindManagerApi, createSenderCheck, type IpcMainLike, type SenderCheck } from '../../src-main/electron/ipc.js';
import { channelFor, EVENT_CHANNEL, EVENTS_SWITCH_CHANNEL, managerCallNames } from '../../src-main/electron/ipc-contract.js';

import { modelInfo } from '../helpers/model-info.js';

const ORIGIN = 'http://127.0.0.1:8080';
const PRELOAD = new URL('../../src-main/electron/preload.cts', import.meta.url);

const model = (name: string, state: ModelInfo['state'] = 'stopped'): ModelInfo => modelInfo(name, { state });

/** A ManagerApi whose calls are recorded and answer canned values; `missing` is an unknown model. */
function fakeApi() {
  const listeners = new Set<(event: ManagerEvent) => void>();
  const calls: { name: string; args: unknown[] }[] = [];
  const record =
    <T>(name: string, value: (...args: unknown[]) => T) =>
    async (...args: unknown[]) => {
      calls.push({ name, args });
      if (args[0] === 'missing') throw new ApiError(404, 'model_not_found', 'model "missing" does not exist; available: demo');
      if (args[0] === 'crash') throw new TypeError('boom');
      return value(...args);
    };
  const api: ManagerApi = {
    health: record('health', () => ({ status: 'ok' as const, version: '1', uptimeS: 1, endpoint: `${ORIGIN}/v1`, configPath: '/c.yaml', models: { total: 1, running: 0, starting: 0, failed: 0 }, heldSince: null })),
    listModels: record('listModels', () => [model('demo')]),
    modelInfo: record('modelInfo', (name) => model(String(name))),
    startModel: record('startModel', (name) => model(String(name), 'ready')),
    stopModel: record('stopModel', (name) => model(String(name))),
    stopAll: record('stopAll', () => [model('demo')]),
    modelLogs: record('modelLogs', (_name, tail) => [{ seq: 1, ts: 1, stream: 'stdout' as const, text: `tail=${String(tail)}` }]),
    openLogFolder: record('openLogFolder', (name) => ({ path: `/logs/${String(name)}.log`, opened: true })),
    holdModels: record('holdModels', () => ({ status: 'ok' as const, version: '1', uptimeS: 1, endpoint: `${ORIGIN}/v1`, configPath: '/c.yaml', models: { total: 1, running: 0, starting: 0, failed: 0 }, heldSince: 'now' })),
    releaseModels: record('releaseModels', () => ({ status: 'ok' as const, version: '1', uptimeS: 1, endpoint: `${ORIGIN}/v1`, configPath: '/c.yaml', models: { total: 1, running: 0, starting: 0, failed: 0 }, heldSince: null })),
    getDevices: record('getDevices', () => ({ at: 'now', monitoringDisabled: true, devices: [] })),
    getDeviceHistory: record('getDeviceHistory', () => ({ at: [1], devices: [{ id: 'gpu0', memUsedMb: [512], utilPct: [null] }] })),
    getConfig: record('getConfig', () => ({ path: '/c.yaml', text: 'program: {}', issues: [] })),
    saveConfig: record('saveConfig', (text, options) => ({ ok: true, issues: [], added: [], removed: [], changed: [], message: `saved ${String(text).length} ${JSON.stringify(options)}` })),
    checkConfig: record('checkConfig', (text) => ({ ok: String(text).length > 0, issues: [] })),
    listConfigBackups: record('listConfigBackups', () => [{ id: '0', savedAt: 'then', sizeBytes: 12, models: 1 }]),
    readConfigBackup: record('readConfigBackup', (id) => ({ id: String(id), savedAt: 'then', text: 'program: {}' })),
    listLibrary: record('listLibrary', () => ({ scannedAt: 'then', durationMs: 1, roots: [], entries: [] })),
    listDownloads: record('listDownloads', () => [download('d1')]),
    startDownload: record('startDownload', () => download('d2')),
    cancelDownload: record('cancelDownload', (id) => ({ ...download(String(id)), state: 'cancelled' as const })),
    listOllamaModels: record('listOllamaModels', () => ({ baseUrl: 'http://127.0.0.1:11434', error: null, models: [] })),
    previewDeploy: record('previewDeploy', (spec) => ({ name: (spec as { name: string }).name, command: 'llama-server -m x.gguf', argv: ['llama-server', '-m', 'x.gguf'], entry: 'x: {}\n', memoryMb: {}, estimate: null, ok: true, issues: [] })),
    deployModel: record('deployModel', (request) => ({ saved: { ok: true, issues: [], added: [(request as { name: string }).name], removed: [], changed: [], message: 'Saved' }, model: null, entry: 'x: {}\n' })),
    removeModel: record('removeModel', (_name, options) => ({ saved: { ok: true, issues: [], added: [], removed: ['demo'], changed: [], message: JSON.stringify(options ?? null) }, deletedFiles: [], keptFiles: [] })),
    getUsage: record('getUsage', () => ({ status: { state: 'on' as const, message: null, path: '/u.sqlite', movedAside: null, sizeBytes: 1, oldest: null, keepDays: 1, maxMb: 1 }, from: 0, to: 1, group: 'hour' as const, tz: 'UTC', currency: 'USD', priced: false, totals: { requests: 0, failed: 0, promptTokens: 0, completionTokens: 0, cachedTokens: 0, tokensPerSecond: null, avgTotalMs: null, avgTtftMs: null, cost: null }, series: { at: [], requests: [], failed: [], promptTokens: [], completionTokens: [], cost: [], tokensPerSecond: [] }, models: [], clients: [], months: [], modelNames: [], clientNames: [] })),
    listUsageRequests: record('listUsageRequests', () => ({ requests: [], next: null })),
    exportUsageCsv: record('exportUsageCsv', () => 'id\r\n'),
    deleteUsage: record('deleteUsage', () => ({ requests: 2, runs: 0 })),
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
  return { api, calls, listeners, publish: (event: ManagerEvent) => listeners.forEach((l) => l(event)) };
}

function download(id: string) {
  return { id, source: 'acme/tiny-GGUF/tiny.gguf', repo: 'acme/tiny-GGUF', file: 'tiny.gguf', path: '/m/tiny.gguf', state: 'downloading' as const, bytes: 0, totalBytes: null, speedBps: null, etaS: null, resumedFrom: 0, sha256: null, verified: null, error: null, startedAt: 'now', finishedAt: null };
}

type Handler = (event: IpcMainInvokeEvent, ...args: unknown[]) => unknown;

/** ipcMain, ipcRenderer and one window's webContents, wired in memory. */
function fakeIpc(frameUrl = `${ORIGIN}/`) {
  const handlers = new Map<string, Handler>();
  const rendererListeners = new Map<string, ((event: unknown, ...args: unknown[]) => void)[]>();
  const destroyed: (() => void)[] = [];
  const sent: { channel: string; payload: unknown }[] = [];
  const webContents = {
    isDestroyed: () => false,
    once: (event: string, listener: () => void) => {
      if (event === 'destroyed') destroyed.push(listener);
      return webContents;
    },
    send(channel: string, payload: unknown) {
      sent.push({ channel, payload });
      for (const listener of rendererListeners.get(channel) ?? []) listener({ sender: 'raw ipc event' }, structuredClone(payload));
    },
  } as unknown as WebContents;
  const frame = { url: frameUrl, parent: null };
  const ipcMain: IpcMainLike = {
    handle: (channel, listener) => void handlers.set(channel, listener as Handler),
    removeHandler: (channel) => void handlers.delete(channel),
  };
  const ipcRenderer = {
    async invoke(channel: string, ...args: unknown[]) {
      const handler = handlers.get(channel);
      if (!handler) throw new Error(`No handler registered for '${channel}'`);
      const event = { sender: webContents, senderFrame: frame } as unknown as IpcMainInvokeEvent;
      return structuredClone(await handler(event, ...structuredClone(args)));
    },
    on(channel: string, listener: (event: unknown, ...args: unknown[]) => void) {
      rendererListeners.set(channel, [...(rendererListeners.get(channel) ?? []), listener]);
    },
  };
  return { handlers, ipcMain, ipcRenderer, webContents, frame, sent, destroy: () => destroyed.forEach((d) => d()), destroyedWatchers: () => destroyed.length };
}

/**
 * Runs the preload like Electron's sandbox: CommonJS, `require` knows only 'electron'. The bridge
 * copies values and, like contextBridge, keeps only the message of an Error.
 */
function loadPreload(ipcRenderer: ReturnType<typeof fakeIpc>['ipcRenderer']): { exposed: Record<string, unknown>; required: string[] } {
  const source = fs.readFileSync(PRELOAD, 'utf8');
  const { outputText } = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 } });
  const exposed: Record<string, unknown> = {};
  const required: string[] = [];
  const bridged = (value: unknown): unknown => {
    if (typeof value === 'function') {
      return (...args: unknown[]) => {
        const result = (value as (...a: unknown[]) => unknown)(...args);
        if (result instanceof Promise) {
          return result.then(
            (v) => structuredClone(v),
            (err: unknown) => Promise.reject(err instanceof Error ? new Error(err.message) : structuredClone(err)),
          );
        }
        return typeof result === 'function' ? bridged(result) : result;
      };
    }
    if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, bridged(v)]));
    return value;
  };
  const electron = {
    contextBridge: { exposeInMainWorld: (key: string, api: unknown) => void (exposed[key] = bridged(api)) },
    ipcRenderer,
  };
  const sandboxRequire = (id: string) => {
    required.push(id);
    if (id === 'electron') return electron;
    throw new Error(`module not found: ${id}`);
  };
  const module = { exports: {} };
  new Function('require', 'process', 'exports', 'module', outputText)(sandboxRequire, { type: 'renderer' }, module.exports, module);
  return { exposed, required };
}

function setup(options: { frameUrl?: string; check?: SenderCheck } = {}) {
  const ipc = fakeIpc(options.frameUrl);
  const fake = fakeApi();
  const check = options.check ?? createSenderCheck({ isOurWebContents: (c) => c === ipc.webContents, trustedOrigin: ORIGIN });
  const unbind = bindManagerApi(ipc.ipcMain, fake.api, check);
  const { exposed, required } = loadPreload(ipc.ipcRenderer);
  const bridge = exposed['llmManager'] as ManagerApi;
  return { ...ipc, ...fake, unbind, bridge, exposed, required };
}

const SAMPLE_ARGS: { [N in ManagerCallName]: Parameters<ManagerApi[N]> } = {
  health: [],
  listModels: [],
  modelInfo: ['demo'],
  startModel: ['demo'],
  stopModel: ['demo'],
  stopAll: [],
  modelLogs: ['demo', 5],
  openLogFolder: ['demo'],
  holdModels: [],
  releaseModels: [],
  getDevices: [],
  getDeviceHistory: [],
  getConfig: [],
  saveConfig: ['program: {}\n', { confirmRemoveAll: true }],
  checkConfig: ['program: {}\n'],
  listConfigBackups: [],
  readConfigBackup: ['3'],
  listLibrary: [],
  listDownloads: [],
  startDownload: [{ repo: 'acme/tiny-GGUF', file: 'tiny.gguf' }],
  cancelDownload: ['d2'],
  listOllamaModels: [],
  previewDeploy: [{ name: 'tiny', engine: 'llama.cpp', model: 'models/tiny.gguf' }],
  deployModel: [{ name: 'tiny', engine: 'llama.cpp', model: 'models/tiny.gguf', start: true }],
  removeModel: ['demo', { deleteFiles: true }],
  getUsage: [{ from: 0, to: 1, group: 'day' }],
  listUsageRequests: [{ limit: 5, before: 9 }],
  exportUsageCsv: [{ model: 'demo' }],
  deleteUsage: [{ from: 0, to: 1 }],
};

const flush = () => new Promise((resolve) => setTimeout(resolve, 0));

afterEach(() => vi.restoreAllMocks());

describe('bindManagerApi', () => {
  it('binds one channel per ManagerCallName, plus the events switch', () => {
    const { handlers } = setup();
    expect(Object.keys(managerRoutes).sort()).toEqual([...managerCallNames].sort());
    for (const name of managerCallNames) expect(handlers.has(channelFor(name)), name).toBe(true);
    expect(handlers.has(EVENTS_SWITCH_CHANNEL)).toBe(true);
    expect(handlers.size).toBe(managerCallNames.length + 1);
  });

  it('calls every contract method through the preload and returns its result', async () => {
    const { bridge, api, calls } = setup();
    for (const name of managerCallNames) {
      const args = SAMPLE_ARGS[name] as unknown[];
      const viaIpc = await (bridge[name] as (...a: unknown[]) => Promise<unknown>)(...args);
      const direct = await (api[name] as (...a: unknown[]) => Promise<unknown>)(...args);
      expect(viaIpc, name).toEqual(direct);
    }
    const viaIpcCalls = calls.filter((_, i) => i % 2 === 0);
    expect(viaIpcCalls.map((c) => c.name)).toEqual(managerCallNames);
    expect(viaIpcCalls.find((c) => c.name === 'modelLogs')?.args).toEqual(['demo', 5]);
  });

  it("sends a failure as data, so the page gets the ApiError's status and code back", async () => {
    const { bridge } = setup();
    const rejected: unknown = await bridge.startModel('missing').catch((err: unknown) => err);
    expect(rejected).not.toBeInstanceOf(Error); // a plain object crossed the bridge whole
    expect(rejected).toEqual({ name: 'ApiError', message: 'model "missing" does not exist; available: demo', status: 404, code: 'model_not_found', type: 'not_found_error' } satisfies SerializedError);
    const revived = reviveError(rejected);
    expect(revived).toBeInstanceOf(ApiError);
    expect([revived.status, revived.code, revived.message]).toEqual([404, 'model_not_found', 'model "missing" does not exist; available: demo']);
  });

  it('reports an unexpected error as a 500 with its message, never its stack', async () => {
    const { bridge } = setup();
    const rejected = await bridge.modelInfo('crash').catch((err: unknown) => err);
    expect(rejected).toEqual({ name: 'TypeError', message: 'boom', status: 500, code: 'internal_error', type: 'server_error' });
  });

  it('withRevivedErrors gives the page ApiError instances, as the HTTP client throws', async () => {
    const { bridge } = setup();
    const api = withRevivedErrors(bridge);
    const err = await api.stopModel('missing').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).status).toBe(404);
    await expect(api.listModels()).resolves.toEqual([model('demo')]);
  });

  it('refuses arguments the route does not take, before the api sees them', async () => {
    const { exposed, calls, ipcRenderer } = setup();
    expect(exposed['llmManager']).toBeDefined();
    const cases: [ManagerCallName, unknown[]][] = [
      ['modelInfo', [42]],
      ['startModel', [null]],
      ['modelLogs', ['demo', -1]],
      ['modelLogs', ['demo', 1.5]],
      ['saveConfig', [{ text: 'x' }]],
      ['saveConfig', ['x', { confirmRemoveAll: 'yes' }]],
      ['saveConfig', ['x', { path: '/etc/passwd' }]],
      ['saveConfig', ['x', null]],
      ['checkConfig', [{ text: 'x' }]],
      ['checkConfig', ['x', { confirmRemoveAll: true }]],
      ['readConfigBackup', [3]],
      ['readConfigBackup', ['x'.repeat(100)]],
      ['health', ['extra']],
    ];
    for (const [name, args] of cases) {
      const reply = (await ipcRenderer.invoke(channelFor(name), ...args)) as { ok: boolean; error: SerializedError };
      expect(reply.ok, `${name}(${JSON.stringify(args)})`).toBe(false);
      expect(reply.error).toMatchObject({ status: 400, code: 'invalid_arguments' });
    }
    for (const name of ['x'.repeat(257), 'demo\u0000']) {
      const reply = (await ipcRenderer.invoke(channelFor('stopModel'), name)) as { ok: boolean; error: SerializedError };
      expect(reply.error).toMatchObject({ status: 400, code: 'invalid_model_name' });
    }
    expect(calls).toEqual([]);
  });

  it('answers an untrusted sender with 403 and never calls the api', async () => {
    const { bridge, calls } = setup({ frameUrl: 'https://evil.example/' });
    await expect(bridge.stopAll()).rejects.toMatchObject({ status: 403, code: 'untrusted_sender' });
    expect(calls).toEqual([]);
  });

  it('pushes events to the page only while it listens, as payloads without the ipc event', async () => {
    const { bridge, publish, sent, listeners, destroyedWatchers } = setup();
    publish({ type: 'model', model: model('demo', 'starting') });
    expect(sent).toEqual([]);

    const received: ManagerEvent[] = [];
    const unsubscribe = bridge.subscribe((event) => received.push(event));
    await flush();
    expect(listeners.size).toBe(1);
    // Like /api/events, the current state first.
    expect(received).toEqual([{ type: 'model', model: model('demo') }]);

    publish({ type: 'model', model: model('demo', 'ready') });
    expect(received.at(-1)).toEqual({ type: 'model', model: model('demo', 'ready') });
    expect(sent.every((s) => s.channel === EVENT_CHANNEL)).toBe(true);

    // A second listener shares the one stream.
    const second: ManagerEvent[] = [];
    const unsubscribeSecond = bridge.subscribe((event) => second.push(event));
    await flush();
    expect(listeners.size).toBe(1);

    unsubscribe();
    unsubscribeSecond();
    await flush();
    expect(listeners.size).toBe(0);
    // Pages subscribe and leave often: the window is watched for its end once, not once per stream.
    for (let i = 0; i < 3; i++) {
      bridge.subscribe(() => undefined)();
      await flush();
    }
    expect(destroyedWatchers()).toBe(1);
    const count = received.length;
    publish({ type: 'model', model: model('demo', 'stopping') });
    expect(received.length).toBe(count);
  });

  it('drops the event stream of a window that is destroyed, and unbinds everything on dispose', async () => {
    const { bridge, listeners, destroy, unbind, handlers } = setup();
    bridge.subscribe(() => undefined);
    await flush();
    expect(listeners.size).toBe(1);
    destroy();
    expect(listeners.size).toBe(0);

    bridge.subscribe(() => undefined);
    await flush();
    unbind();
    expect(handlers.size).toBe(0);
    expect(listeners.size).toBe(0);
  });
});

describe('the preload', () => {
  it('requires nothing but electron and exposes exactly the ManagerApi, as window.llmManager', () => {
    const { exposed, required } = setup();
    expect(required).toEqual(['electron']);
    expect(Object.keys(exposed)).toEqual(['llmManager']);
    expect(Object.keys(exposed['llmManager'] as object).sort()).toEqual([...managerCallNames, 'subscribe'].sort());
  });
});

describe('createSenderCheck', () => {
  const ours = { id: 1 } as unknown as WebContents;
  const check = createSenderCheck({ isOurWebContents: (c) => c === ours, trustedOrigin: `${ORIGIN}/` });
  const event = (sender: WebContents, frame: { url: string; parent: unknown } | null) => ({ sender, senderFrame: frame }) as unknown as IpcMainInvokeEvent;

  it('trusts the top frame of our window showing our page', () => {
    expect(check(event(ours, { url: `${ORIGIN}/models?x=1`, parent: null }))).toBe(true);
  });

  it.each([
    ['an unknown webContents', event({ id: 2 } as unknown as WebContents, { url: `${ORIGIN}/`, parent: null })],
    ['a foreign page in our window', event(ours, { url: 'https://example.com/', parent: null })],
    ['the same host on another port', event(ours, { url: 'http://127.0.0.1:9999/', parent: null })],
    ['a file:// page', event(ours, { url: 'file:///tmp/index.html', parent: null })],
    ['an iframe, even of our origin', event(ours, { url: `${ORIGIN}/`, parent: {} })],
    ['a frame that is gone', event(ours, null)],
  ])('rejects %s', (_what, e) => {
    expect(check(e)).toBe(false);
  });
});
