// The desktop app's small decisions, with Electron's app faked: launch flags and file locations,
// settings, login items, quitting (engines first), the single-instance lock, startup problems,
// and the `npm start` check for Electron's binary.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { App } from 'electron';
import { describe, expect, it, vi } from 'vitest';
import { ConfigError } from '../../src-main/core/config/load.js';
import { ListenError } from '../../src-main/core/node.js';
import { startupProblem } from '../../src-main/electron/core-node.js';
import { parseSettings, settingsStore } from '../../src-main/electron/desktop-settings.js';
import { appFiles, desktopConfigPath, parseLaunchFlags } from '../../src-main/electron/launch-options.js';
import { autostartEntry, autostartPath, createLoginItem, loginCommand, quoteExecArg, type AutostartFiles } from '../../src-main/electron/login-item.js';
import { createQuitCoordinator } from '../../src-main/electron/quit.js';
import { setupSingleInstance } from '../../src-main/electron/single-instance.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

describe('launch flags and files', () => {
  it('finds our flags among Electron and Chromium arguments', () => {
    expect(parseLaunchFlags(['/opt/LLM Manager/llm-manager', '--no-sandbox', '--hidden'])).toEqual({ hidden: true, configPath: undefined });
    expect(parseLaunchFlags(['electron', '.', '--config', 'my.yaml'])).toEqual({ hidden: false, configPath: 'my.yaml' });
    expect(parseLaunchFlags(['electron', '.', '--config=/x/c.yaml', '--hidden'])).toEqual({ hidden: true, configPath: '/x/c.yaml' });
    expect(parseLaunchFlags(['electron', '--config'])).toEqual({ hidden: false, configPath: undefined });
  });

  it('keeps the config in user data unless --config or LLM_MANAGER_CONFIG says otherwise', () => {
    const base = { env: {}, cwd: '/work', userDataDir: '/home/me/.config/LLM Manager' };
    expect(desktopConfigPath({ ...base, flags: { hidden: false, configPath: undefined } })).toBe('/home/me/.config/LLM Manager/config.yaml');
    expect(desktopConfigPath({ ...base, flags: { hidden: false, configPath: 'c.yaml' } })).toBe('/work/c.yaml');
    expect(desktopConfigPath({ ...base, env: { LLM_MANAGER_CONFIG: '/etc/llm.yaml' }, flags: { hidden: false, configPath: undefined } })).toBe('/etc/llm.yaml');
    expect(desktopConfigPath({ ...base, env: { LLM_MANAGER_CONFIG: '  ' }, flags: { hidden: false, configPath: undefined } })).toBe('/home/me/.config/LLM Manager/config.yaml');
  });

  it('finds the bundled files next to app.asar when packaged, in the repository otherwise', () => {
    expect(appFiles({ isPackaged: true, appPath: '/opt/app/resources/app.asar', resourcesPath: '/opt/app/resources' })).toEqual({
      examplePath: '/opt/app/resources/config.example.yaml',
      webUiDir: '/opt/app/resources/app.asar/dist/renderer',
      resourceDir: '/opt/app/resources',
    });
    const dev = appFiles({ isPackaged: false, appPath: root, resourcesPath: '/ignored' });
    for (const file of [dev.examplePath, path.join(dev.resourceDir, 'icon.png'), path.join(dev.resourceDir, 'tray', 'idle.png'), path.join(dev.resourceDir, 'tray', 'error@2x.png')]) {
      expect(fs.existsSync(file), file).toBe(true);
    }
  });
});

describe('desktop settings', () => {
  it('falls back to the defaults for a missing or broken file', () => {
    expect(parseSettings(null)).toEqual({ startHidden: false });
    expect(parseSettings('{oops')).toEqual({ startHidden: false });
    expect(parseSettings('{"startHidden":"yes"}')).toEqual({ startHidden: false });
    expect(parseSettings('{"startHidden":true}')).toEqual({ startHidden: true });
  });

  it('saves and reads back', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'llm-desktop-'));
    try {
      const file = path.join(dir, 'sub', 'desktop-settings.json');
      settingsStore(file).update({ startHidden: true });
      expect(settingsStore(file).get()).toEqual({ startHidden: true });
      expect(fs.readdirSync(path.dirname(file))).toEqual(['desktop-settings.json']);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('start at login', () => {
  const host = { platform: 'linux' as NodeJS.Platform, isPackaged: true, execPath: '/opt/LLM Manager/llm-manager', appPath: '/opt/LLM Manager/resources/app.asar', env: {} };

  it('starts the app hidden: the packaged executable, the AppImage file, or Electron plus the app folder', () => {
    expect(loginCommand(host)).toEqual(['/opt/LLM Manager/llm-manager', '--hidden']);
    expect(loginCommand({ ...host, env: { APPIMAGE: '/home/me/Apps/LLM.AppImage' } })).toEqual(['/home/me/Apps/LLM.AppImage', '--hidden']);
    expect(loginCommand({ ...host, isPackaged: false, execPath: '/r/node_modules/electron/dist/electron', appPath: '/r' })).toEqual(['/r/node_modules/electron/dist/electron', '/r', '--hidden']);
  });

  it('writes an XDG autostart entry with each argument quoted as the spec asks', () => {
    expect(autostartPath({}, '/home/me')).toBe('/home/me/.config/autostart/llm-manager.desktop');
    expect(autostartPath({ XDG_CONFIG_HOME: '/cfg' }, '/home/me')).toBe('/cfg/autostart/llm-manager.desktop');
    expect(quoteExecArg('/opt/LLM Manager/llm-manager')).toBe('"/opt/LLM Manager/llm-manager"');
    expect(quoteExecArg('a"b$c`d')).toBe('"a\\\\"b\\\\$c\\\\`d"');
    expect(quoteExecArg('50%')).toBe('"50%%"');
    const entry = autostartEntry(['/opt/LLM Manager/llm-manager', '--hidden']);
    expect(entry).toContain('[Desktop Entry]\nType=Application\nName=LLM Manager\n');
    expect(entry).toContain('Exec="/opt/LLM Manager/llm-manager" "--hidden"\n');
  });

  it('on Linux, turns the autostart file on and off', () => {
    const files = new Map<string, string>();
    const fake: AutostartFiles = { exists: (f) => files.has(f), write: (f, t) => void files.set(f, t), remove: (f) => void files.delete(f) };
    const item = createLoginItem({ ...host, homeDir: '/home/me', app: {} as App, files: fake });
    expect(item.supported).toBe(true);
    expect(item.isEnabled()).toBe(false);
    item.setEnabled(true);
    expect([...files.keys()]).toEqual(['/home/me/.config/autostart/llm-manager.desktop']);
    expect(item.isEnabled()).toBe(true);
    item.setEnabled(false);
    expect(files.size).toBe(0);
  });

  it("on Windows, uses Electron's login item with the same path and arguments to read and write", () => {
    const settings = { openAtLogin: false };
    const app = {
      getLoginItemSettings: vi.fn(() => settings),
      setLoginItemSettings: vi.fn((s: { openAtLogin: boolean }) => void (settings.openAtLogin = s.openAtLogin)),
    } as unknown as App;
    const item = createLoginItem({ ...host, platform: 'win32', execPath: 'C:\\Users\\me\\AppData\\Local\\Programs\\llm-manager\\LLM Manager.exe', homeDir: 'C:\\Users\\me', app });
    item.setEnabled(true);
    expect(item.isEnabled()).toBe(true);
    const where = { path: 'C:\\Users\\me\\AppData\\Local\\Programs\\llm-manager\\LLM Manager.exe', args: ['--hidden'] };
    expect(app.setLoginItemSettings).toHaveBeenCalledWith({ openAtLogin: true, ...where });
    expect(app.getLoginItemSettings).toHaveBeenCalledWith(where);
  });

  it('has no login item where the platform offers none', () => {
    const item = createLoginItem({ ...host, platform: 'freebsd', homeDir: '/home/me', app: {} as App });
    expect(item.supported).toBe(false);
    expect(item.isEnabled()).toBe(false);
  });
});

describe('quitting', () => {
  it('holds the first quit until every engine stopped, then quits for real', async () => {
    let finish!: () => void;
    const stopEngines = vi.fn(() => new Promise<void>((resolve) => (finish = resolve)));
    const quit = vi.fn();
    const onStopping = vi.fn();
    const coordinator = createQuitCoordinator({ stopEngines, quit, onStopping });
    expect(coordinator.quitting).toBe(false);

    const first = { preventDefault: vi.fn() };
    coordinator.onBeforeQuit(first);
    expect(first.preventDefault).toHaveBeenCalled();
    expect(coordinator.quitting).toBe(true);
    expect(onStopping).toHaveBeenCalledTimes(1);

    const again = { preventDefault: vi.fn() };
    coordinator.onBeforeQuit(again); // Quit clicked twice, or the OS asks too
    expect(again.preventDefault).toHaveBeenCalled();
    expect(stopEngines).toHaveBeenCalledTimes(1);
    expect(quit).not.toHaveBeenCalled();

    finish();
    await vi.waitFor(() => expect(quit).toHaveBeenCalledTimes(1));
    const last = { preventDefault: vi.fn() };
    coordinator.onBeforeQuit(last);
    expect(last.preventDefault).not.toHaveBeenCalled();
  });

  it('quits anyway when stopping fails or never ends', async () => {
    const onError = vi.fn();
    const failing = createQuitCoordinator({ stopEngines: () => Promise.reject(new Error('EPERM')), quit: vi.fn(), onError });
    failing.onBeforeQuit({ preventDefault() {} });
    await vi.waitFor(() => expect(onError).toHaveBeenCalled());

    const quit = vi.fn();
    const stuck = createQuitCoordinator({ stopEngines: () => new Promise<void>(() => undefined), quit, timeoutMs: 10 });
    stuck.onBeforeQuit({ preventDefault() {} });
    await vi.waitFor(() => expect(quit).toHaveBeenCalledTimes(1));
  });
});

describe('single instance', () => {
  it('a second launch quits at once; the first one hears of it', () => {
    const second = { requestSingleInstanceLock: () => false, quit: vi.fn(), on: vi.fn() };
    expect(setupSingleInstance(second as unknown as App, vi.fn())).toBe(false);
    expect(second.quit).toHaveBeenCalled();
    expect(second.on).not.toHaveBeenCalled();

    let handler: ((event: unknown, argv: string[]) => void) | undefined;
    const first = { requestSingleInstanceLock: () => true, quit: vi.fn(), on: (_: string, h: typeof handler) => void (handler = h) };
    const onSecond = vi.fn();
    expect(setupSingleInstance(first as unknown as App, onSecond)).toBe(true);
    handler!({}, ['llm-manager', '--hidden']);
    expect(onSecond).toHaveBeenCalledWith(['llm-manager', '--hidden']);
    expect(first.quit).not.toHaveBeenCalled();
  });
});

describe('startup problems', () => {
  it('explain a config or port problem and where to fix it, and never show a stack', () => {
    const config = startupProblem(new ConfigError('/u/config.yaml', [], { message: 'config.yaml:3:7: expected a number' }), '/u/config.yaml');
    expect(config).toMatchObject({ message: "LLM Manager can't use its config file", configIssue: true });
    expect(config.detail).toContain('config.yaml:3:7: expected a number');
    expect(config.detail).toContain('/u/config.yaml');
    const port = startupProblem(new ListenError('port 8080 on 127.0.0.1 is already in use'), '/u/config.yaml');
    expect(port).toMatchObject({ message: "LLM Manager can't open its endpoint", configIssue: true });
    const other = startupProblem(new Error('boom'), '/u/config.yaml');
    expect(other).toEqual({ message: 'LLM Manager could not start', detail: 'boom', configIssue: false });
  });
});

describe('scripts/check-electron.mjs', () => {
  const run = (env: Record<string, string>) =>
    spawnSync(process.execPath, [path.join(root, 'scripts', 'check-electron.mjs')], { cwd: root, env: { ...process.env, ELECTRON_OVERRIDE_DIST_PATH: '', ...env }, encoding: 'utf8' });

  it('passes when the binary is there', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fake-electron-'));
    try {
      const name = process.platform === 'win32' ? 'electron.exe' : process.platform === 'darwin' ? 'Electron.app/Contents/MacOS/Electron' : 'electron';
      fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
      fs.writeFileSync(path.join(dir, name), '');
      const result = run({ ELECTRON_OVERRIDE_DIST_PATH: dir });
      expect(result.status, result.stderr).toBe(0);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('says clearly what to do when the binary is missing and may not be downloaded', () => {
    const result = run({ ELECTRON_OVERRIDE_DIST_PATH: path.join(os.tmpdir(), 'no-such-electron-dir'), ELECTRON_SKIP_BINARY_DOWNLOAD: '1' });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("binary is not installed, and ELECTRON_SKIP_BINARY_DOWNLOAD is set");
    expect(result.stderr).toContain('install.js');
    expect(result.stderr).toContain('npm run serve');
  });
});
