import type { ManagerEvent } from '../../src-shared/contract.js';

/** Fan-out of ManagerEvents to subscribers (SSE clients, the Electron window, the tray). */
export class EventHub {
  private readonly listeners = new Set<(event: ManagerEvent) => void>();

  get size(): number {
    return this.listeners.size;
  }

  subscribe(listener: (event: ManagerEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  publish(event: ManagerEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch {
        // one broken subscriber must not starve the others
      }
    }
  }
}
