// Short notices in the corner ("Saved: demo will restart when idle."), kept in a module store so
// any code (mutations, event handlers) can raise one.
import { useEffect, type RefObject } from 'react';
import { createStore } from './store.js';

export type ToastKind = 'info' | 'success' | 'error';

export interface Toast {
  id: number;
  kind: ToastKind;
  text: string;
}

export const toasts = createStore<readonly Toast[]>([]);
let nextId = 1;

export function showToast(text: string, kind: ToastKind = 'info'): void {
  const id = nextId++;
  toasts.set((list) => [...list.slice(-3), { id, kind, text }]);
  setTimeout(() => dismissToast(id), kind === 'error' ? 10_000 : 6_000);
}

export function dismissToast(id: number): void {
  toasts.set((list) => list.filter((t) => t.id !== id));
}

/** What a failed call says to the user: the core's own message, never a stack. */
export function errorText(err: unknown): string {
  if (err instanceof Error) return err.message.split('\n')[0] ?? 'Something went wrong.';
  return 'Something went wrong.';
}

/**
 * Keeps the toasts above `ref` (the chat composer: what the user types into sits where toasts
 * appear) for as long as the calling component is mounted, following its height as it grows.
 */
export function useToastClearance(ref: RefObject<HTMLElement | null>): void {
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    const root = document.documentElement;
    const update = () => root.style.setProperty('--toast-clearance', `${Math.ceil(window.innerHeight - el.getBoundingClientRect().top)}px`);
    update();
    const observer = new ResizeObserver(update);
    observer.observe(el);
    window.addEventListener('resize', update);
    return () => {
      observer.disconnect();
      window.removeEventListener('resize', update);
      root.style.removeProperty('--toast-clearance');
    };
  }, [ref]);
}
