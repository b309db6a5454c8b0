// A tiny module-level store: state that must outlive a page (config draft, toasts, chart history).
import { useSyncExternalStore } from 'react';
import type { Store } from './create-store.js';

export { createStore, type Store } from './create-store.js';

export function useStore<T>(store: Store<T>): T {
  return useSyncExternalStore(store.subscribe, store.get, store.get);
}
