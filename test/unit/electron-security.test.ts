// The window's secure defaults, with Electron's objects faked: navigation and window.open refused,
// external links only http(s), the content policy, permissions, and the window's own options.
import type { App, BrowserWindowConstructorOptions, Session, Shell, WebContents } from 'electron';
import { describe, expect, it, vi } from 'vitest';
import {
  CONTENT_SECURITY_POLICY,
  guardWebContents,
  headersWithCsp,
  headersWithLocalKey,
  isPermissionAllowed,
  isSafeExternalUrl,
  openExternalSafely,
  setupSecurity,
} from '../../src-main/electron/security.js';
import { mainWindowOptions, setupMainWindow, type WindowLike } from '../../src-main/electron/window.js';

const ORIGIN = 'http://127.0.0.1:8080';

type Listener = (...args: unknown[]) => unknown;

/** Enough of WebContents to hold the guards and fire their events. */
function fakeContents() {
  const listeners = new Map<string, Listener[]>();
  let openHandler: ((details: { url: string }) => { action: string }) | null = null;
  const contents = {
    on(event: string, listener: Listener) {
      listeners.set(event, [...(listeners.get(event) ?? []), listener]);
      return contents;
    },
    setWindowOpenHandler(handler: typeof openHandler) {
      openHandler = handler;
    },
  };
  const emit = (name: string, url?: string) => {
    const event = { url, preventDefault: vi.fn() };
    for (const listener of listeners.get(name) ?? []) listener(event, url);
    return event;
  };
  return { contents: contents as unknown as WebContents, emit, windowOpen: (url: string) => openHandler!({ url }) };
}

function guarded() {
  const fake = fakeContents();
  const openExternal = vi.fn();
  guardWebContents(fake.contents, { appOrigin: ORIGIN, openExternal });
  return { ...fake, openExternal };
}

describe('external links', () => {
  it.each([
    ['https://github.com/x', true],
    ['http://example.com', true],
    ['file:///etc/passwd', false],
    ['javascript:alert(1)', false],
    ['smb://server/share', false],
    ['ms-settings:display', false],
    ['data:text/html,hi', false],
    ['not a url', false],
  ])('%s is safe to open: %s', (url, safe) => {
    expect(isSafeExternalUrl(url)).toBe(safe);
  });

  it('opens only http(s) links, through shell.openExternal', () => {
    const shell = { openExternal: vi.fn(async () => undefined) } as unknown as Shell;
    expect(openExternalSafely(shell, 'https://example.com/')).toBe(true);
    expect(openExternalSafely(shell, 'file:///C:/Windows/System32/calc.exe')).toBe(false);
    expect(shell.openExternal).toHaveBeenCalledTimes(1);
    expect(shell.openExternal).toHaveBeenCalledWith('https://example.com/');
  });
});

describe('guardWebContents', () => {
  it('refuses every navigation; a web link goes to the browser instead', () => {
    const { emit, openExternal } = guarded();
    const external = emit('will-navigate', 'https://example.com/docs');
    expect(external.preventDefault).toHaveBeenCalled();
    expect(openExternal).toHaveBeenCalledWith('https://example.com/docs');

    const ours = emit('will-navigate', `${ORIGIN}/other`);
    expect(ours.preventDefault).toHaveBeenCalled();
    const local = emit('will-navigate', 'file:///home/me/.ssh/id_rsa');
    expect(local.preventDefault).toHaveBeenCalled();
    expect(openExternal).toHaveBeenCalledTimes(1);
  });

  it('denies window.open, opening only http(s) targets outside', () => {
    const { windowOpen, openExternal } = guarded();
    expect(windowOpen('https://example.com/')).toEqual({ action: 'deny' });
    expect(windowOpen('javascript:alert(1)')).toEqual({ action: 'deny' });
    expect(windowOpen('file:///etc/hosts')).toEqual({ action: 'deny' });
    expect(openExternal.mock.calls).toEqual([['https://example.com/']]);
  });

  it('refuses redirects away from our origin and any <webview>', () => {
    const { emit } = guarded();
    expect(emit('will-redirect', 'https://evil.example/').preventDefault).toHaveBeenCalled();
    expect(emit('will-redirect', `${ORIGIN}/models`).preventDefault).not.toHaveBeenCalled();
    expect(emit('will-attach-webview').preventDefault).toHaveBeenCalled();
  });
});

describe('content policy, key and permissions', () => {
  it('adds the policy to responses of our origin only', () => {
    const headers = headersWithCsp({ url: `${ORIGIN}/`, responseHeaders: { 'content-type': ['text/html'] } }, ORIGIN);
    expect(headers).toEqual({ 'content-type': ['text/html'], 'Content-Security-Policy': [CONTENT_SECURITY_POLICY] });
    expect(headersWithCsp({ url: 'https://example.com/', responseHeaders: {} }, ORIGIN)).toBeUndefined();
    expect(CONTENT_SECURITY_POLICY).toContain("default-src 'none'");
    expect(CONTENT_SECURITY_POLICY).toContain("script-src 'self'");
    expect(CONTENT_SECURITY_POLICY).toContain("connect-src 'self'");
    expect(CONTENT_SECURITY_POLICY).not.toContain('unsafe-eval');
  });

  it("adds the node's key to the window's requests to its own origin, unless one is there", () => {
    expect(headersWithLocalKey({ url: `${ORIGIN}/v1/chat/completions`, requestHeaders: { Accept: '*/*' } }, ORIGIN, 'k')).toEqual({ Accept: '*/*', Authorization: 'Bearer k' });
    expect(headersWithLocalKey({ url: `${ORIGIN}/v1/models`, requestHeaders: { authorization: 'Bearer mine' } }, ORIGIN, 'k')).toBeUndefined();
    expect(headersWithLocalKey({ url: 'https://example.com/', requestHeaders: {} }, ORIGIN, 'k')).toBeUndefined();
  });

  it('grants clipboard writes to our page and nothing else', () => {
    expect(isPermissionAllowed('clipboard-sanitized-write', `${ORIGIN}/`, ORIGIN)).toBe(true);
    expect(isPermissionAllowed('clipboard-sanitized-write', 'https://example.com/', ORIGIN)).toBe(false);
    for (const permission of ['media', 'geolocation', 'notifications', 'openExternal', 'clipboard-read'] as const) {
      expect(isPermissionAllowed(permission, `${ORIGIN}/`, ORIGIN), permission).toBe(false);
    }
  });

  it('setupSecurity guards every new webContents and installs the session handlers', () => {
    const appListeners: Record<string, Listener> = {};
    const app = { on: (event: string, listener: Listener) => void (appListeners[event] = listener) } as unknown as App;
    let onHeaders: Listener | null = null;
    let onBeforeSend: Listener | null = null;
    let requestHandler: Listener | null = null;
    let checkHandler: Listener | null = null;
    const session = {
      setPermissionRequestHandler: (h: Listener) => void (requestHandler = h),
      setPermissionCheckHandler: (h: Listener) => void (checkHandler = h),
      webRequest: { onHeadersReceived: (h: Listener) => void (onHeaders = h), onBeforeSendHeaders: (h: Listener) => void (onBeforeSend = h) },
    } as unknown as Session;
    const shell = { openExternal: vi.fn(async () => undefined) } as unknown as Shell;
    setupSecurity({ app, session, shell, appOrigin: ORIGIN, localKey: 'k' });

    const fake = fakeContents();
    appListeners['web-contents-created']!({}, fake.contents);
    expect(fake.windowOpen('https://example.com/')).toEqual({ action: 'deny' });
    expect(shell.openExternal).toHaveBeenCalledWith('https://example.com/');

    const granted = vi.fn();
    requestHandler!(null, 'media', granted, { requestingUrl: `${ORIGIN}/` });
    expect(granted).toHaveBeenCalledWith(false);
    expect(checkHandler!(null, 'clipboard-sanitized-write', ORIGIN, {})).toBe(true);

    const headersCallback = vi.fn();
    onHeaders!({ url: `${ORIGIN}/`, responseHeaders: {} }, headersCallback);
    expect(headersCallback.mock.calls[0]![0].responseHeaders['Content-Security-Policy']).toEqual([CONTENT_SECURITY_POLICY]);
    const sendCallback = vi.fn();
    onBeforeSend!({ url: 'https://example.com/', requestHeaders: {} }, sendCallback);
    expect(sendCallback).toHaveBeenCalledWith({});
  });
});

describe('the window', () => {
  it('runs its page isolated and sandboxed, with the preload as its only bridge', () => {
    const options = mainWindowOptions({ preloadPath: '/app/preload.cjs', dark: false });
    expect(options.show).toBe(false);
    expect(options.webPreferences).toMatchObject({
      preload: '/app/preload.cjs',
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
    });
  });

  function fakeWindows() {
    const created: (WindowLike & { emit(event: string, e?: unknown): void; hidden: boolean; loaded: string[] })[] = [];
    const createWindow = vi.fn((_options: BrowserWindowConstructorOptions) => {
      const listeners = new Map<string, Listener[]>();
      const win = {
        hidden: true,
        loaded: [] as string[],
        webContents: { id: created.length + 1 } as unknown as WebContents,
        on(event: string, listener: Listener) {
          listeners.set(event, [...(listeners.get(event) ?? []), listener]);
          return win;
        },
        once(event: string, listener: Listener) {
          return win.on(event, listener);
        },
        emit: (event: string, e?: unknown) => (listeners.get(event) ?? []).forEach((l) => l(e)),
        loadURL: async (url: string) => void win.loaded.push(url),
        show: () => void (win.hidden = false),
        hide: () => void (win.hidden = true),
        focus: () => undefined,
        isMinimized: () => false,
        restore: () => undefined,
        isDestroyed: () => false,
      };
      created.push(win as never);
      return win as unknown as WindowLike;
    });
    return { created, createWindow };
  }

  it('is created on first show, loads the node page, and hides instead of closing', () => {
    const { created, createWindow } = fakeWindows();
    let quitting = false;
    const main = setupMainWindow({ createWindow, options: {}, url: `${ORIGIN}/`, isQuitting: () => quitting });
    expect(createWindow).not.toHaveBeenCalled();

    main.show();
    main.show();
    expect(createWindow).toHaveBeenCalledTimes(1);
    const win = created[0]!;
    expect(win.loaded).toEqual([`${ORIGIN}/`]);
    expect(main.owns(win.webContents)).toBe(true);
    expect(main.owns({ id: 99 } as unknown as WebContents)).toBe(false);

    const close = { preventDefault: vi.fn() };
    win.emit('close', close);
    expect(close.preventDefault).toHaveBeenCalled();
    expect(win.hidden).toBe(true);

    quitting = true;
    const quitClose = { preventDefault: vi.fn() };
    win.emit('close', quitClose);
    expect(quitClose.preventDefault).not.toHaveBeenCalled();
    win.emit('closed');
    expect(main.owns(win.webContents)).toBe(false);
  });
});
