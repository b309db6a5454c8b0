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

export { colorSlot } from './color-slot.js';
