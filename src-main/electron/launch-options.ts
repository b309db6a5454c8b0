// What the desktop app was started with (its own flags among Electron's argv) and where its files
// are, in development (`electron .`) and packaged (resources next to app.asar). Pure.
import path from 'node:path';
import { CONFIG_ENV_VAR, resolveConfigPath } from '../core/config/load.js';

export interface LaunchFlags {
  /** Start in the tray without showing the window (`--hidden`; login items pass it). */
  hidden: boolean;
  /** `--config PATH` / `--config=PATH`, as given. */
  configPath: string | undefined;
}

/** Our flags among argv, which also holds the executable, the app folder in development and Chromium switches. */
export function parseLaunchFlags(argv: readonly string[]): LaunchFlags {
  const flags: LaunchFlags = { hidden: false, configPath: undefined };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--hidden') flags.hidden = true;
    else if (arg === '--config' && i + 1 < argv.length) flags.configPath = argv[++i];
    else if (arg.startsWith('--config=')) flags.configPath = arg.slice('--config='.length);
  }
  return flags;
}

/**
 * The config file: `--config PATH`, else $LLM_MANAGER_CONFIG (both relative to the folder the app
 * was started from, like the CLI), else config.yaml in the app's user-data folder.
 */
export function desktopConfigPath(options: { flags: LaunchFlags; env: NodeJS.ProcessEnv; cwd: string; userDataDir: string }): string {
  const fromUser = options.flags.configPath?.trim() || options.env[CONFIG_ENV_VAR]?.trim();
  if (fromUser) return resolveConfigPath({ cliPath: options.flags.configPath, env: options.env, cwd: options.cwd });
  return path.join(options.userDataDir, 'config.yaml');
}

export interface AppFiles {
  /** Copied to the user's config on first run. */
  examplePath: string;
  /** The built window (served by the node at /). */
  webUiDir: string;
  /** Folder holding icon.png and tray/<state>.png. */
  resourceDir: string;
}

/** Packaged: extraResources sit in process.resourcesPath, the app itself in app.asar. */
export function appFiles(options: { isPackaged: boolean; appPath: string; resourcesPath: string }): AppFiles {
  const { isPackaged, appPath, resourcesPath } = options;
  return {
    examplePath: path.join(isPackaged ? resourcesPath : appPath, 'config.example.yaml'),
    webUiDir: path.join(appPath, 'dist', 'renderer'),
    resourceDir: isPackaged ? resourcesPath : path.join(appPath, 'resources'),
  };
}
