// Hash routes (#/logs/demo): they work both from the router's / and from file:// in Electron.
import { useSyncExternalStore } from 'react';

export type PageId = 'models' | 'deploy' | 'usage' | 'devices' | 'logs' | 'config' | 'chat';
export const PAGES: readonly PageId[] = ['models', 'deploy', 'usage', 'devices', 'logs', 'config', 'chat'];

export interface Route {
  page: PageId;
  /** Second segment, e.g. the model of #/logs/demo. */
  param: string | null;
}

function parse(hash: string): Route {
  const [first, second] = hash.replace(/^#\/?/, '').split('/');
  const page = (PAGES as readonly string[]).includes(first ?? '') ? (first as PageId) : 'models';
  return { page, param: second ? decodeURIComponent(second) : null };
}

let current = parse(window.location.hash);
const listeners = new Set<() => void>();
window.addEventListener('hashchange', () => {
  current = parse(window.location.hash);
  for (const l of listeners) l();
});

export function useRoute(): Route {
  return useSyncExternalStore(
    (l) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    () => current,
  );
}

export function hrefFor(page: PageId, param?: string | null): string {
  return `#/${page}${param ? `/${encodeURIComponent(param)}` : ''}`;
}

export function navigate(page: PageId, param?: string | null): void {
  window.location.hash = hrefFor(page, param);
}
