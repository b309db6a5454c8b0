// main.ts as a whole, with the 'electron' module replaced by a fake: the app starts a real node
// on a free port, opens the window on that node's page, binds the IPC channels, builds the tray,
// and on quit stops the node before it lets the app go.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { IpcMainInvokeEvent, MenuItemConstructorOptions } from 'electron';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { stringify } from 'yaml';
import { managerCallNames } from '../../src-main/electron/ipc-contract.js';
import { DEMO_ENGINE } from '../helpers/node-fixture.js';
import { freePorts } from '../helpers/ports.js';

type Listener = (...args: unknown[]) => unknown;

const fake = vi.hoisted(() => {
  const listeners = (target: Record<string, Listener[]>) => (event: string, listener: Listener) => {
    (target[event] ??= []).push(listener);
  };
  const state = {
    userData: '',
    appListeners: {} as Record<string, Listener[]>,
    handlers: new Map<string, Listener>(),
    windows: [] as { options: Record<string, unknown>; url: string; webContents: object; listeners: Record<string, Listener[]> }[],
    trays: [] as { menus: MenuItemConstructorOptions[][]; tooltip: string }[],
    quit: 0,
    exit: [] as number[],
    errors: [] as string[],
  };
  class BrowserWindow {
    readonly webContents = { id: state.windows.length + 1 };
    readonly record: (typeof state.windows)[number];
    constructor(options: Record<string, unknown>) {
      this.record = { options, url: '', webContents: this.webContents, listeners: {} };
      state.windows.push(this.record);
    }
    on(event: string, listener: Listener) {
      listeners(this.record.listeners)(event, listener);
      return this;
    }
    once(event: string, listener: Listener) {
      return this.on(event, listener);
    }
    async loadURL(url: string) {
      this.record.url = url;
    }
    show() {}
    hide() {}
    focus() {}
    restore() {}
    isMinimized() {
      return false;
    }
    isDestroyed() {
      return false;
    }
  }
  class Tray {
    readonly record = { menus: [] as MenuItemConstructorOptions[][], tooltip: '' };
    constructor() {
      state.trays.push(this.record);
    }
    setImage() {}
    setToolTip(text: string) {
      this.record.tooltip = text;
    }
    setContextMenu(menu: MenuItemConstructorOptions[]) {
      this.record.menus.push(menu);
    }
    on() {}
    destroy() {}
  }
  class Notification {
    static isSupported() {
      return false;
    }
  }
  const electron = {
    app: {
      isPackaged: false,
      requestSingleInstanceLock: () => true,
      whenReady: async () => undefined,
      getAppPath: () => process.cwd(),
      getPath: (name: string) => path.join(state.userData, name === 'userData' ? '' : name),
      setAppUserModelId() {},
      getLoginItemSettings: () => ({ openAtLogin: false }),
      setLoginItemSettings() {},
      on: listeners(state.appListeners),
      quit: () => void state.quit++,
      exit: (code: number) => void state.exit.push(code),
    },
    BrowserWindow,
    Tray,
    Notification,
    clipboard: { writeText() {} },
    dialog: { showErrorBox: (title: string) => void state.errors.push(title), showMessageBox: async () => ({ response: 0 }) },
    ipcMain: { handle: (channel: string, listener: Listener) => void state.handlers.set(channel, listener), removeHandler: (channel: string) => void state.handlers.delete(channel) },
    Menu: { buildFromTemplate: (template: unknown) => template, setApplicationMenu() {} },
    nativeImage: { createFromPath: (file: string) => file },
    nativeTheme: { shouldUseDarkColors: false },
    powerMonitor: { on() {} },
    session: {
      defaultSession: { setPermissionRequestHandler() {}, setPermissionCheckHandler() {}, webRequest: { onHeadersReceived() {}, onBeforeSendHeaders() {} } },
    },
    shell: { openExternal: async () => undefined, openPath: async () => '', showItemInFolder() {} },
  };
  return { state, electron };
});

vi.mock('electron', () => fake.electron);

const { state } = fake;
const savedEnv = process.env['LLM_MANAGER_CONFIG'];
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
const signalListeners = new Map(SIGNALS.map((signal) => [signal, process.listeners(signal)]));

afterAll(() => {
  // main.ts turns these signals into app.quit(); this worker must keep its own behaviour.
  for (const signal of SIGNALS) {
    for (const listener of process.listeners(signal)) if (!signalListeners.get(signal)!.includes(listener)) process.off(signal, listener);
  }
  if (savedEnv === undefined) delete process.env['LLM_MANAGER_CONFIG'];
  else process.env['LLM_MANAGER_CONFIG'] = savedEnv;
  fs.rmSync(state.userData, { recursive: true, force: true });
});

describe('main.ts', () => {
  it('hosts the node, shows its page in a sandboxed window, binds IPC and the tray, and stops engines on quit', async () => {
    state.userData = fs.mkdtempSync(path.join(os.tmpdir(), 'llm-desktop-main-'));
    delete process.env['LLM_MANAGER_CONFIG'];
    const [routerPort, enginePort] = await freePorts(2);
    // The user's config, in user data (created from the example on a real first run).
    fs.writeFileSync(
      path.join(state.userData, 'config.yaml'),
      stringify({
        program: { port: routerPort, log_level: 'ERROR', Disable_GPU_monitoring: true },
        'Local-Models': { demo: { mode: 'Chat', port: enginePort, CPU: { required_devices: [], command: 'node', args: [DEMO_ENGINE, '--load-ms', '50'] } } },
      }),
    );

    await import('../../src-main/electron/main.js');
    await vi.waitFor(() => expect(state.trays[0]?.menus.some((menu) => menu.some((i) => i.id === 'model:demo'))).toBe(true), { timeout: 10_000 });
    expect(state.exit).toEqual([]);

    const url = `http://127.0.0.1:${routerPort}`;
    const health = await fetch(`${url}/api/health`);
    expect(health.status).toBe(200);

    const [win] = state.windows;
    expect(win?.url).toBe(`${url}/`);
    expect(win?.options['webPreferences']).toMatchObject({ contextIsolation: true, sandbox: true, nodeIntegration: false });
    expect(String((win?.options['webPreferences'] as { preload: string }).preload)).toMatch(/preload\.cjs$/);
    expect(state.trays[0]?.tooltip).toContain(`${url}/v1`);

    for (const name of managerCallNames) expect(state.handlers.has(`manager:${name}`), name).toBe(true);
    const event = (frameUrl: string) => ({ sender: win!.webContents, senderFrame: { url: frameUrl, parent: null } }) as unknown as IpcMainInvokeEvent;
    await expect(state.handlers.get('manager:listModels')!(event(`${url}/models`))).resolves.toMatchObject({ ok: true, value: [{ name: 'demo', state: 'stopped' }] });
    await expect(state.handlers.get('manager:listModels')!(event('https://evil.example/'))).resolves.toMatchObject({ ok: false, error: { status: 403 } });

    // Closing the window only hides it.
    const close = { preventDefault: vi.fn() };
    win!.listeners['close']!.forEach((l) => l(close));
    expect(close.preventDefault).toHaveBeenCalled();

    // Start the model from the tray; quitting must stop its engine.
    const menu = state.trays[0]!.menus.at(-1)!;
    (menu.find((i) => i.id === 'model:demo')!.click as () => void)();
    await vi.waitFor(async () => expect((await fetch(`http://127.0.0.1:${enginePort}/health`)).status).toBe(200), { timeout: 10_000 });

    // Quit: held back until the node has stopped, then let go.
    const quit = { preventDefault: vi.fn() };
    state.appListeners['before-quit']!.forEach((l) => l(quit));
    expect(quit.preventDefault).toHaveBeenCalled();
    await vi.waitFor(() => expect(state.quit).toBe(1), { timeout: 10_000 });
    await expect(fetch(`${url}/api/health`)).rejects.toThrow();
    await expect(fetch(`http://127.0.0.1:${enginePort}/health`)).rejects.toThrow();
    const closing = { preventDefault: vi.fn() };
    win!.listeners['close']!.forEach((l) => l(closing));
    expect(closing.preventDefault).not.toHaveBeenCalled();
  });
});
