// The API key a browser sends when the node has program.api_keys (the desktop window needs none:
// Electron adds the app's own key). Kept for this tab (sessionStorage), or on this browser
// (localStorage) when the user asks; a 401 from any call opens the key dialog (KeyGate).
import { ApiError } from '../../src-shared/errors.js';
import { createStore } from '../lib/store.js';

const STORAGE_KEY = 'llm-manager.api-key';

export interface KeyRequest {
  /** Why the dialog opens: no key was sent, or the one sent was refused. */
  reason: 'missing' | 'invalid';
}

/** Set while a request was refused for want of a (valid) key; the dialog shows while it is. */
export const keyRequest = createStore<KeyRequest | null>(null);
/** The key in use, or null. */
export const apiKey = createStore<string | null>(readStored());
const waiting = new Set<() => void>();

function readStored(): string | null {
  try {
    return sessionStorage.getItem(STORAGE_KEY) ?? localStorage.getItem(STORAGE_KEY);
  } catch {
    return null; // storage disabled: the key lives in memory only
  }
}

export function authHeaders(): Record<string, string> {
  const key = apiKey.get();
  return key ? { authorization: `Bearer ${key}` } : {};
}

/** A call answered 401: ask for a key. `retry` runs once a key has been entered. */
export function noteUnauthorized(err: ApiError, retry?: () => void): void {
  if (retry) waiting.add(retry);
  keyRequest.set((prev) => prev ?? { reason: err.code === 'invalid_api_key' ? 'invalid' : 'missing' });
}

export function isUnauthorized(err: unknown): err is ApiError {
  return err instanceof ApiError && err.status === 401;
}

/** Uses `key` from now on (remembered on this browser when `remember`), and retries what waited for it. */
export function enterKey(key: string, remember: boolean): void {
  try {
    sessionStorage.setItem(STORAGE_KEY, key);
    if (remember) localStorage.setItem(STORAGE_KEY, key);
    else localStorage.removeItem(STORAGE_KEY);
  } catch {
    // storage disabled: memory only
  }
  apiKey.set(key);
  keyRequest.set(null);
  const retries = [...waiting];
  waiting.clear();
  for (const retry of retries) retry();
}

/** Forgets the key on this browser; the next call asks again. */
export function forgetKey(): void {
  try {
    sessionStorage.removeItem(STORAGE_KEY);
    localStorage.removeItem(STORAGE_KEY);
  } catch {
    // nothing stored
  }
  apiKey.set(null);
}

/** Asks the node whether `key` opens it, without using it yet. */
export async function checkKey(base: string, key: string): Promise<'ok' | 'refused' | 'unreachable'> {
  try {
    const res = await fetch(`${base}/api/health`, { headers: { accept: 'application/json', authorization: `Bearer ${key}` }, cache: 'no-store' });
    if (res.status === 401) return 'refused';
    return res.ok ? 'ok' : 'unreachable';
  } catch {
    return 'unreachable';
  }
}
