// The desktop app's own settings (not the node's: those live in config.yaml), in
// <userData>/desktop-settings.json. A missing or broken file means the defaults.
import fs from 'node:fs';
import path from 'node:path';

export interface DesktopSettings {
  /** Start in the tray without showing the window, like `--hidden`. */
  startHidden: boolean;
}

export const DEFAULT_SETTINGS: DesktopSettings = { startHidden: false };

export function parseSettings(text: string | null): DesktopSettings {
  if (text === null) return { ...DEFAULT_SETTINGS };
  try {
    const raw = JSON.parse(text) as Partial<Record<keyof DesktopSettings, unknown>> | null;
    return { startHidden: typeof raw?.startHidden === 'boolean' ? raw.startHidden : DEFAULT_SETTINGS.startHidden };
  } catch {
    return { ...DEFAULT_SETTINGS };
  }
}

export function settingsStore(file: string) {
  let current = parseSettings(readOrNull(file));
  return {
    get: (): DesktopSettings => ({ ...current }),
    update(change: Partial<DesktopSettings>): DesktopSettings {
      current = { ...current, ...change };
      // Written whole through a temp file, so a crash never leaves half a file.
      fs.mkdirSync(path.dirname(file), { recursive: true });
      const temp = `${file}.${process.pid}.tmp`;
      fs.writeFileSync(temp, `${JSON.stringify(current, null, 2)}\n`);
      fs.renameSync(temp, file);
      return { ...current };
    },
  };
}

function readOrNull(file: string): string | null {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}
