// Secure defaults for every web page the app shows: no navigation away from our page, no new
// windows, no <webview>, no permissions but clipboard writes, a strict content policy, and
// external links only http(s), opened in the user's browser through one helper.
import type { App, HandlerDetails, OnBeforeSendHeadersListenerDetails, OnHeadersReceivedListenerDetails, Session, Shell, WebContents } from 'electron';
import { originOf } from './ipc.js';

/** Only web links leave the app; file:, javascript:, custom schemes and the like never do. */
export function isSafeExternalUrl(url: string): boolean {
  try {
    const { protocol } = new URL(url);
    return protocol === 'http:' || protocol === 'https:';
  } catch {
    return false;
  }
}

/** The one way the app opens a link outside itself. Returns whether it did. */
export function openExternalSafely(shell: Pick<Shell, 'openExternal'>, url: string): boolean {
  if (!isSafeExternalUrl(url)) return false;
  void shell.openExternal(url).catch(() => undefined);
  return true;
}

/** For the window's documents, on top of the node's own policy (both apply). The window only talks to its own origin. */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-src 'none'",
  "frame-ancestors 'none'",
  "object-src 'none'",
].join('; ');

/** Response headers for a response of our origin; undefined leaves others untouched. */
export function headersWithCsp(details: Pick<OnHeadersReceivedListenerDetails, 'url' | 'responseHeaders'>, appOrigin: string): Record<string, string[]> | undefined {
  if (originOf(details.url) !== originOf(appOrigin)) return undefined;
  return { ...details.responseHeaders, 'Content-Security-Policy': [CONTENT_SECURITY_POLICY] };
}

/**
 * The window's requests to its own origin carry the node's per-process key, so they pass when
 * program.api_keys is set, while the key itself never reaches the page's scripts. A request that
 * already names a key keeps it.
 */
export function headersWithLocalKey(details: Pick<OnBeforeSendHeadersListenerDetails, 'url' | 'requestHeaders'>, appOrigin: string, localKey: string): Record<string, string> | undefined {
  if (originOf(details.url) !== originOf(appOrigin)) return undefined;
  const names = Object.keys(details.requestHeaders).map((name) => name.toLowerCase());
  if (names.includes('authorization') || names.includes('x-api-key')) return undefined;
  return { ...details.requestHeaders, Authorization: `Bearer ${localKey}` };
}

type Permission = Parameters<Parameters<Session['setPermissionCheckHandler']>[0] & {}>[1];

/** The copy buttons need clipboard writes; nothing else (camera, notifications, geolocation …) is granted. */
export function isPermissionAllowed(permission: Permission, requestingUrl: string, appOrigin: string): boolean {
  return permission === 'clipboard-sanitized-write' && originOf(requestingUrl) === originOf(appOrigin);
}

type GuardedContents = Pick<WebContents, 'on' | 'setWindowOpenHandler'>;

/** Navigation, redirects and window.open are all refused; a web link goes to the user's browser instead. */
export function guardWebContents(contents: GuardedContents, options: { appOrigin: string; openExternal: (url: string) => void }): void {
  const leave = (url: string) => {
    if (originOf(url) !== originOf(options.appOrigin) && isSafeExternalUrl(url)) options.openExternal(url);
  };
  contents.on('will-navigate', (event) => {
    event.preventDefault();
    leave(event.url);
  });
  contents.on('will-redirect', (event) => {
    if (originOf(event.url) !== originOf(options.appOrigin)) event.preventDefault();
  });
  contents.on('will-attach-webview', (event) => event.preventDefault());
  contents.setWindowOpenHandler((details: HandlerDetails) => {
    leave(details.url);
    return { action: 'deny' };
  });
}

export interface SecurityDeps {
  app: Pick<App, 'on'>;
  session: Pick<Session, 'setPermissionRequestHandler' | 'setPermissionCheckHandler'> & { webRequest: Pick<Session['webRequest'], 'onHeadersReceived' | 'onBeforeSendHeaders'> };
  shell: Pick<Shell, 'openExternal'>;
  /** The origin of the window's page: the node's http://127.0.0.1:PORT. */
  appOrigin: string;
  /** The node's key for this process (LlmNode.localKey). */
  localKey?: string;
}

export function setupSecurity(deps: SecurityDeps): void {
  const { appOrigin } = deps;
  const openExternal = (url: string) => void openExternalSafely(deps.shell, url);
  deps.app.on('web-contents-created', (_event, contents) => guardWebContents(contents, { appOrigin, openExternal }));
  deps.session.setPermissionRequestHandler((_contents, permission, callback, details) => callback(isPermissionAllowed(permission, details.requestingUrl, appOrigin)));
  deps.session.setPermissionCheckHandler((_contents, permission, requestingOrigin) => isPermissionAllowed(permission, requestingOrigin, appOrigin));
  deps.session.webRequest.onHeadersReceived((details, callback) => {
    const responseHeaders = headersWithCsp(details, appOrigin);
    callback(responseHeaders ? { responseHeaders } : {});
  });
  const { localKey } = deps;
  if (localKey) {
    deps.session.webRequest.onBeforeSendHeaders((details, callback) => {
      const requestHeaders = headersWithLocalKey(details, appOrigin, localKey);
      callback(requestHeaders ? { requestHeaders } : {});
    });
  }
}
