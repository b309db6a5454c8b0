// Short notices in one corner ("Saved: demo will restart when idle."), kept in a module store so
// any code (mutations, event handlers) can raise one. At most three; successes and news fade by
// themselves, warnings and errors stay until dismissed or until what they report is over (clearToast).
import { createStore } from './create-store.js';

/** warning: it worked, but with a catch the user must see ("Saved: … — but … so it will fail"). */
export type ToastKind = 'info' | 'success' | 'warning' | 'error';

export interface Toast {
  id: number;
  kind: ToastKind;
  text: string;
  /** What the toast is about ("config-errors", "start:demo"): a newer toast with it replaces this one. */
  key: string | null;
}

export const MAX_TOASTS = 3;
/** How long a toast stays by itself; null: until dismissed or cleared. */
export const TOAST_MS: Record<ToastKind, number | null> = { success: 4_000, info: 6_000, warning: null, error: null };

export const toasts = createStore<readonly Toast[]>([]);
let nextId = 1;

export interface ToastOptions {
  /** Names what the toast reports, so a newer one replaces it and clearToast(key) takes it away. */
  key?: string;
}

export function showToast(text: string, kind: ToastKind = 'info', options: ToastOptions = {}): void {
  const id = nextId++;
  const key = options.key ?? null;
  // The same news again, or news about the same thing, replaces the old toast rather than stacking.
  const same = (t: Toast) => (key !== null ? t.key === key : t.key === null && t.text === text);
  toasts.set((list) => [...list.filter((t) => !same(t)), { id, kind, text, key }].slice(-MAX_TOASTS));
  const ms = TOAST_MS[kind];
  if (ms !== null) setTimeout(() => dismissToast(id), ms);
}

export function dismissToast(id: number): void {
  toasts.set((list) => (list.some((t) => t.id === id) ? list.filter((t) => t.id !== id) : list));
}

/** The condition a toast reported no longer holds (the errors were fixed, the model started). */
export function clearToast(key: string): void {
  toasts.set((list) => (list.some((t) => t.key === key) ? list.filter((t) => t.key !== key) : list));
}

/**
 * What a failed call says to the user: the core's own message (its first line), never a stack, as
 * a sentence ending with a full stop that more text can follow.
 */
export function errorText(err: unknown): string {
  if (err instanceof Error) return sentence(err.message.split('\n')[0] ?? '') || 'Something went wrong.';
  return 'Something went wrong.';
}

/** `text` trimmed, ending with a full stop unless it already ends a sentence ("!", "?", "…", a closing quote after one). */
export function sentence(text: string): string {
  const t = text.trim().replace(/[,;:]+$/, '');
  if (t === '') return '';
  return /[.!?…]["'”’)\]]*$/.test(t) ? t : `${t}.`;
}
