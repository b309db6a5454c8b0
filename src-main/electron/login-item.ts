// "Start at login": Electron's login items on Windows and macOS; on Linux (where Electron has
// none) an XDG autostart entry. A login start passes --hidden, so the app comes up in the tray.
import fs from 'node:fs';
import path from 'node:path';
import type { App } from 'electron';

export interface LoginItemHost {
  platform: NodeJS.Platform;
  isPackaged: boolean;
  execPath: string;
  appPath: string;
  env: NodeJS.ProcessEnv;
  homeDir: string;
  app: Pick<App, 'getLoginItemSettings' | 'setLoginItemSettings'>;
  files?: AutostartFiles;
}

export interface AutostartFiles {
  exists(file: string): boolean;
  write(file: string, text: string): void;
  remove(file: string): void;
}

export interface LoginItem {
  /** False where the app cannot register itself (the tray then leaves the item out). */
  readonly supported: boolean;
  isEnabled(): boolean;
  setEnabled(enabled: boolean): void;
}

/** What a login runs: the app (in development Electron plus the app folder) with --hidden. */
export function loginCommand(host: Pick<LoginItemHost, 'platform' | 'isPackaged' | 'execPath' | 'appPath' | 'env'>): string[] {
  // Inside an AppImage execPath is a temporary mount; $APPIMAGE is the file the user keeps.
  const exe = host.platform === 'linux' && host.env['APPIMAGE'] ? host.env['APPIMAGE'] : host.execPath;
  return host.isPackaged ? [exe, '--hidden'] : [exe, host.appPath, '--hidden'];
}

export function autostartPath(env: NodeJS.ProcessEnv, homeDir: string): string {
  const configHome = env['XDG_CONFIG_HOME']?.trim() || path.join(homeDir, '.config');
  return path.join(configHome, 'autostart', 'llm-manager.desktop');
}

/** One Exec argument, quoted per the Desktop Entry spec (then escaped as a string value). */
export function quoteExecArg(arg: string): string {
  const quoted = `"${arg.replace(/["`$\\]/g, '\\$&')}"`;
  return quoted.replace(/\\/g, '\\\\').replace(/%/g, '%%');
}

export function autostartEntry(command: readonly string[]): string {
  return [
    '[Desktop Entry]',
    'Type=Application',
    'Name=LLM Manager',
    'Comment=One OpenAI-compatible endpoint for your local models',
    `Exec=${command.map(quoteExecArg).join(' ')}`,
    'Terminal=false',
    'X-GNOME-Autostart-enabled=true',
    '',
  ].join('\n');
}

const nodeFiles: AutostartFiles = {
  exists: (file) => fs.existsSync(file),
  write(file, text) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, text);
  },
  remove: (file) => fs.rmSync(file, { force: true }),
};

export function createLoginItem(host: LoginItemHost): LoginItem {
  const command = loginCommand(host);
  if (host.platform === 'win32' || host.platform === 'darwin') {
    const [exe, ...args] = command as [string, ...string[]];
    return {
      supported: true,
      isEnabled: () => host.app.getLoginItemSettings({ path: exe, args }).openAtLogin,
      setEnabled: (enabled) => host.app.setLoginItemSettings({ openAtLogin: enabled, path: exe, args }),
    };
  }
  if (host.platform === 'linux') {
    const files = host.files ?? nodeFiles;
    const file = autostartPath(host.env, host.homeDir);
    return {
      supported: true,
      isEnabled: () => files.exists(file),
      setEnabled: (enabled) => (enabled ? files.write(file, autostartEntry(command)) : files.remove(file)),
    };
  }
  return { supported: false, isEnabled: () => false, setEnabled: () => undefined };
}
