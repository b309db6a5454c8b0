// The one window: created on first show (an app started in the tray never pays for it), hidden
// instead of closed (the node keeps serving), closed for real only while quitting.
import type { BrowserWindow, BrowserWindowConstructorOptions, WebContents } from 'electron';

export function mainWindowOptions(options: { preloadPath: string; iconPath?: string; dark: boolean }): BrowserWindowConstructorOptions {
  return {
    width: 1200,
    height: 800,
    minWidth: 760,
    minHeight: 520,
    show: false,
    title: 'LLM Manager',
    backgroundColor: options.dark ? '#1c1c1f' : '#ffffff',
    autoHideMenuBar: true,
    ...(options.iconPath ? { icon: options.iconPath } : {}),
    webPreferences: {
      preload: options.preloadPath,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      navigateOnDragDrop: false,
      spellcheck: false,
    },
  };
}

export type WindowLike = Pick<BrowserWindow, 'loadURL' | 'show' | 'hide' | 'focus' | 'isMinimized' | 'restore' | 'on' | 'once' | 'isDestroyed' | 'webContents'>;

export interface MainWindowDeps {
  createWindow(options: BrowserWindowConstructorOptions): WindowLike;
  options: BrowserWindowConstructorOptions;
  /** The page: the node's own http://127.0.0.1:PORT/ (the same one a browser gets). */
  url: string;
  isQuitting(): boolean;
  onLoadFailed?(message: string): void;
}

export interface MainWindow {
  show(): void;
  /** Whether these webContents are our window's (the IPC sender check asks). */
  owns(contents: WebContents): boolean;
}

export function setupMainWindow(deps: MainWindowDeps): MainWindow {
  let current: WindowLike | null = null;
  const create = (): WindowLike => {
    const win = deps.createWindow(deps.options);
    win.on('close', (event) => {
      if (deps.isQuitting()) return;
      event.preventDefault();
      win.hide();
    });
    win.on('closed', () => {
      if (current === win) current = null;
    });
    win.once('ready-to-show', () => win.show());
    win.loadURL(deps.url).catch((err: Error) => deps.onLoadFailed?.(err.message));
    return win;
  };
  return {
    show() {
      if (!current || current.isDestroyed()) {
        current = create();
        return;
      }
      if (current.isMinimized()) current.restore();
      current.show();
      current.focus();
    },
    owns: (contents) => current !== null && !current.isDestroyed() && current.webContents === contents,
  };
}
