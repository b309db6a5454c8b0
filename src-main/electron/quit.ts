// Quitting stops every engine first: the first before-quit is held back until node.close() has
// stopped them (each supervisor kills what ignores its stop_timeout), then the app quits for real.
export interface QuitDeps {
  /** Stops every engine and the server (node.close()). */
  stopEngines: () => Promise<void>;
  /** Quits again once the engines are down (app.quit()). */
  quit: () => void;
  /** Told once when stopping starts (the tray shows it) and about a failure. */
  onStopping?: () => void;
  onError?: (err: unknown) => void;
  /** Last resort against a stop that never settles. */
  timeoutMs?: number;
}

export interface QuitCoordinator {
  /** True from the first quit request on: windows then really close instead of hiding. */
  readonly quitting: boolean;
  /** app.on('before-quit', coordinator.onBeforeQuit) */
  onBeforeQuit(event: { preventDefault(): void }): void;
}

const DEFAULT_TIMEOUT_MS = 120_000;

export function createQuitCoordinator(deps: QuitDeps): QuitCoordinator {
  let phase: 'running' | 'stopping' | 'stopped' = 'running';
  return {
    get quitting() {
      return phase !== 'running';
    },
    onBeforeQuit(event) {
      if (phase === 'stopped') return;
      event.preventDefault();
      if (phase === 'stopping') return;
      phase = 'stopping';
      deps.onStopping?.();
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<void>((_, reject) => {
        timer = setTimeout(() => reject(new Error('engines did not stop in time')), deps.timeoutMs ?? DEFAULT_TIMEOUT_MS);
      });
      void Promise.race([deps.stopEngines(), timeout])
        .catch((err: unknown) => deps.onError?.(err))
        .finally(() => {
          clearTimeout(timer);
          phase = 'stopped';
          deps.quit();
        });
    },
  };
}
