// The OS light/dark choice, for code that needs concrete colours (charts).
import { useSyncExternalStore } from 'react';

const query = window.matchMedia('(prefers-color-scheme: dark)');

export function useDarkMode(): boolean {
  return useSyncExternalStore(
    (l) => {
      query.addEventListener('change', l);
      return () => query.removeEventListener('change', l);
    },
    () => query.matches,
  );
}

/** A CSS custom property of the document, resolved now. */
export function cssVar(name: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

/** Stable colour slot (0-7) for a model, so its segment keeps its colour across readings. */
export function colorSlot(name: string): number {
  let h = 0;
  for (let i = 0; i < name.length; i++) h = (h * 31 + name.charCodeAt(i)) >>> 0;
  return h % 8;
}
