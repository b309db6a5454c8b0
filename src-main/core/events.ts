import type { ManagerEvent } from '../../src-shared/contract.js';

type EventType = ManagerEvent['type'];
type Listener = (event: ManagerEvent) => void;

/** Fan-out of ManagerEvents to subscribers (SSE clients, the Electron window, the tray). */
export class EventHub {
  /** listener → the event types it wants (null: all). */
  private readonly listeners = new Map<Listener, ReadonlySet<EventType> | null>();

  get size(): number {
    return this.listeners.size;
  }

  /**
   * Whether anyone listens for `type`: work that only feeds events (device polling, log fan-out)
   * runs only then. The tray, which wants model states only, doesn't keep nvidia-smi polling.
   */
  wants(type: EventType): boolean {
    for (const types of this.listeners.values()) if (types === null || types.has(type)) return true;
    return false;
  }

  subscribe(listener: Listener, types?: readonly EventType[]): () => void {
    this.listeners.set(listener, types ? new Set(types) : null);
    return () => this.listeners.delete(listener);
  }

  publish(event: ManagerEvent): void {
    for (const [listener, types] of this.listeners) {
      if (types !== null && !types.has(event.type)) continue;
      try {
        listener(event);
      } catch {
        // one broken subscriber must not starve the others
      }
    }
  }
}
