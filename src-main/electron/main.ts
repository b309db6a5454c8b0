// Electron entry: hands Electron's modules to the setup functions, in order. No decisions here
// beyond the order; each concern lives in its own file with Electron passed in.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { app, BrowserWindow, clipboard, dialog, ipcMain, Menu, nativeImage, nativeTheme, Notification, powerMonitor, session, shell, Tray, type NativeImage } from 'electron';
import type { LlmNode } from '../core/node.js';
import { logsFolder, setupCoreNode, startupProblem } from './core-node.js';
import { settingsStore } from './desktop-settings.js';
import { bindManagerApi, createSenderCheck } from './ipc.js';
import { appFiles, desktopConfigPath, parseLaunchFlags } from './launch-options.js';
import { createLoginItem } from './login-item.js';
import { createQuitCoordinator } from './quit.js';
import { setupSecurity } from './security.js';
import { setupSingleInstance } from './single-instance.js';
import { setupTray, type AppTray } from './tray.js';
import type { TrayNotification, TrayState } from './tray-menu.js';
import { mainWindowOptions, setupMainWindow } from './window.js';
import { seedFixOffer } from './seed-offer.js';

const APP_ID = 'io.llmmanager.app';
const here = path.dirname(fileURLToPath(import.meta.url));

async function main(): Promise<void> {
  // A second launch only shows the first one's window.
  let showWindow: () => void = () => undefined;
  if (!setupSingleInstance(app, () => showWindow())) return;
  if (process.platform === 'win32') app.setAppUserModelId(APP_ID);
  await app.whenReady();

  const flags = parseLaunchFlags(process.argv);
  const files = appFiles({ isPackaged: app.isPackaged, appPath: app.getAppPath(), resourcesPath: process.resourcesPath });
  const userData = app.getPath('userData');
  const configPath = desktopConfigPath({ flags, env: process.env, cwd: process.cwd(), userDataDir: userData });

  let node: LlmNode;
  try {
    node = await setupCoreNode({
      configPath,
      examplePath: files.examplePath,
      webUiDir: files.webUiDir,
      execPath: process.execPath,
      appLogFile: path.join(app.getPath('logs'), 'llm-manager.log'),
      ownConfig: configPath === path.join(userData, 'config.yaml'),
      // The window's "Open log folder": only folders the node names (a model's log folder).
      openFolder: async (dir) => {
        fs.mkdirSync(dir, { recursive: true });
        const problem = await shell.openPath(dir);
        if (problem) throw new Error(problem);
      },
    });
  } catch (err) {
    // A config from LLM-Node / LLM-Manager (0.0.0.0 without keys …): offer the changes, then start again.
    if (await offerSeedFix(configPath)) {
      app.relaunch();
      app.exit(0);
      return;
    }
    await reportStartupProblem(err, configPath);
    app.exit(1);
    return;
  }
  // One that starts but can't run a model here (a .bat on Linux, bat_path): the node applies the changed file at once.
  void offerSeedFix(configPath);
  const endpoint = `${node.url}/v1`;

  let tray: AppTray | null = null;
  const quit = createQuitCoordinator({
    stopEngines: () => node.close(),
    quit: () => app.quit(),
    onStopping: () => tray?.refresh(),
    onError: (err) => process.stderr.write(`while stopping engines: ${(err as Error).message}\n`),
  });
  app.on('before-quit', (event) => quit.onBeforeQuit(event));
  // Ctrl+C in a terminal, a service manager, the OS shutting down: all quit through before-quit.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => app.quit());
  // electron.d.ts types this listener without its event, which the docs say can delay the shutdown.
  (powerMonitor as unknown as NodeJS.EventEmitter).on('shutdown', (event?: { preventDefault(): void }) => {
    event?.preventDefault();
    app.quit();
  });
  // Closing the window hides it; the app lives on in the tray.
  app.on('window-all-closed', () => undefined);

  setupSecurity({ app, session: session.defaultSession, shell, appOrigin: node.url, localKey: node.localKey });
  if (app.isPackaged && process.platform !== 'darwin') Menu.setApplicationMenu(null);

  if (!fs.existsSync(path.join(files.webUiDir, 'index.html'))) {
    dialog.showErrorBox('The window is not built', `${files.webUiDir} has no index.html: run \`npm run build\` (the endpoint ${endpoint} works regardless).`);
  }
  const mainWindow = setupMainWindow({
    createWindow: (options) => new BrowserWindow(options),
    options: mainWindowOptions({ preloadPath: path.join(here, 'preload.cjs'), iconPath: path.join(files.resourceDir, 'icon.png'), dark: nativeTheme.shouldUseDarkColors }),
    url: `${node.url}/`,
    isQuitting: () => quit.quitting,
    onLoadFailed: (message) => process.stderr.write(`the window could not load ${node.url}/: ${message}\n`),
  });
  showWindow = () => mainWindow.show();
  app.on('activate', showWindow);

  bindManagerApi(ipcMain, node.api, createSenderCheck({ isOurWebContents: (contents) => mainWindow.owns(contents), trustedOrigin: node.url }));

  const settings = settingsStore(path.join(userData, 'desktop-settings.json'));
  const loginItem = createLoginItem({
    platform: process.platform,
    isPackaged: app.isPackaged,
    execPath: process.execPath,
    appPath: app.getAppPath(),
    env: process.env,
    homeDir: os.homedir(),
    app,
  });
  const icons = new Map<TrayState, NativeImage>();
  const icon = (state: TrayState) => {
    let image = icons.get(state);
    if (!image) icons.set(state, (image = nativeImage.createFromPath(path.join(files.resourceDir, 'tray', `${state}.png`))));
    return image;
  };
  const notify = ({ title, body }: TrayNotification) => {
    if (!Notification.isSupported()) return;
    const notification = new Notification({ title, body, icon: path.join(files.resourceDir, 'icon.png') });
    notification.on('click', showWindow);
    notification.show();
  };
  // A menu click that fails (a read-only disk, a missing folder) says so instead of crashing the app.
  const attempt = (what: string, run: () => void): void => {
    try {
      run();
    } catch (err) {
      notify({ title: what, body: (err as Error).message });
    }
    tray?.refresh();
  };
  const openFolder = (dir: string) =>
    attempt(`Couldn't open ${dir}`, () => {
      fs.mkdirSync(dir, { recursive: true });
      void shell.openPath(dir);
    });
  // Re-register an enabled login item: the app may have moved (an AppImage, an update).
  if (loginItem.supported && loginItem.isEnabled()) attempt("Couldn't update Start at login", () => loginItem.setEnabled(true));

  tray = setupTray({
    createTray: (image) => new Tray(image),
    buildMenu: (template) => Menu.buildFromTemplate(template),
    icon,
    notify,
    api: node.api,
    endpoint,
    settings: () => ({
      startAtLogin: loginItem.supported ? loginItem.isEnabled() : null,
      startHidden: settings.get().startHidden,
      quitting: quit.quitting,
    }),
    actions: {
      openWindow: showWindow,
      copyEndpoint: () => clipboard.writeText(endpoint),
      openConfigFolder: () => openFolder(path.dirname(node.configPath)),
      openLogsFolder: () => openFolder(logsFolder(node)),
      setStartAtLogin: (enabled) => attempt("Couldn't change Start at login", () => loginItem.setEnabled(enabled)),
      setStartHidden: (enabled) => attempt("Couldn't save the setting", () => settings.update({ startHidden: enabled })),
      quit: () => app.quit(),
    },
  });

  if (!flags.hidden && !settings.get().startHidden) showWindow();
}

async function offerSeedFix(configPath: string): Promise<boolean> {
  const offer = seedFixOffer(configPath, process.platform);
  if (!offer) return false;
  const { response } = await dialog.showMessageBox({ type: 'question', title: 'LLM Manager', message: offer.message, detail: offer.detail, buttons: ['Change it', 'Not now'], defaultId: 0, cancelId: 1, noLink: true });
  if (response !== 0) return false;
  const result = offer.fix();
  if (!result.ok) dialog.showErrorBox("Couldn't change the config", result.message);
  return result.ok;
}

async function reportStartupProblem(err: unknown, configPath: string): Promise<void> {
  const problem = startupProblem(err, configPath);
  process.stderr.write(`${problem.message}: ${problem.detail}\n`);
  const buttons = problem.configIssue ? ['Open config file', 'Open config folder', 'Quit'] : ['Quit'];
  const { response } = await dialog.showMessageBox({
    type: 'error',
    title: 'LLM Manager',
    message: problem.message,
    detail: problem.detail,
    buttons,
    defaultId: buttons.length - 1,
    cancelId: buttons.length - 1,
    noLink: true,
  });
  if (buttons[response] === 'Open config file') await shell.openPath(configPath);
  else if (buttons[response] === 'Open config folder') shell.showItemInFolder(configPath);
}

main().catch((err: unknown) => {
  process.stderr.write(`LLM Manager: ${(err as Error)?.stack ?? String(err)}\n`);
  app.exit(1);
});
