// One app per user: a second launch hands its arguments to the first (which shows its window) and exits.
import type { App } from 'electron';

/** False when another instance holds the lock: this one has been told to quit and must start nothing. */
export function setupSingleInstance(app: Pick<App, 'requestSingleInstanceLock' | 'quit' | 'on'>, onSecondInstance: (argv: string[]) => void): boolean {
  if (!app.requestSingleInstanceLock()) {
    app.quit();
    return false;
  }
  app.on('second-instance', (_event, argv) => onSecondInstance(argv));
  return true;
}
