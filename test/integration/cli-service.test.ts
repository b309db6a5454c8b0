// `llm-manager service install|uninstall`: a systemd user unit written where systemd reads it
// ($XDG_CONFIG_HOME here, so the test never touches the real one, and never runs systemctl), and
// on Windows the Task Scheduler commands printed instead of anything written.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { serviceCommand, systemdUnit, unitDir, windowsTask } from '../../src-main/core/cli/service.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CLI = ['--import', 'tsx', path.join(REPO, 'src-main/cli.ts')];
const dirs: string[] = [];

afterEach(() => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'llm-svc-'));
  dirs.push(dir);
  return dir;
}

function run(args: string[], env: NodeJS.ProcessEnv) {
  return spawnSync(process.execPath, [...CLI, 'service', ...args], { cwd: REPO, encoding: 'utf8', timeout: 20_000, env: { ...process.env, ...env } });
}

describe('llm-manager service (Linux)', () => {
  it.runIf(process.platform === 'linux')('install writes a user unit running serve with absolute paths and prints the systemctl command; uninstall removes it', () => {
    const dir = tempDir();
    const xdg = path.join(dir, 'xdg');
    const configPath = path.join(dir, 'my config', 'config.yaml');
    fs.mkdirSync(path.dirname(configPath));
    fs.writeFileSync(configPath, 'Local-Models: {}\n');

    const install = run(['install', '--config', configPath], { XDG_CONFIG_HOME: xdg });
    expect(install.status, install.stderr).toBe(0);
    const unit = path.join(xdg, 'systemd', 'user', 'llm-manager.service');
    expect(install.stdout).toContain(`Wrote ${unit}`);
    expect(install.stdout).toContain('systemctl --user daemon-reload && systemctl --user enable --now llm-manager.service');
    expect(install.stdout).toContain('loginctl enable-linger');
    const text = fs.readFileSync(unit, 'utf8');
    expect(text).toContain(`ExecStart="${process.execPath}" "${path.join(REPO, 'bin', 'llm-manager.js')}" "serve" "--config" "${configPath}"`);
    expect(text).toContain(`WorkingDirectory=${path.dirname(configPath)}`);
    expect(text).toMatch(/^\[Service\]$/m);
    expect(text).toMatch(/^KillMode=mixed$/m);
    expect(text).toMatch(/^WantedBy=default\.target$/m);
    expect(fs.existsSync(path.join(REPO, 'bin', 'llm-manager.js'))).toBe(true);

    // Again: replaced, not duplicated.
    expect(run(['install', '--config', configPath], { XDG_CONFIG_HOME: xdg }).stdout).toContain(`Replaced ${unit}`);
    // What `systemctl enable` leaves: a link in default.target.wants; uninstall removes both.
    fs.mkdirSync(path.join(xdg, 'systemd', 'user', 'default.target.wants'));
    fs.symlinkSync(unit, path.join(xdg, 'systemd', 'user', 'default.target.wants', 'llm-manager.service'));
    const uninstall = run(['uninstall'], { XDG_CONFIG_HOME: xdg });
    expect(uninstall.status).toBe(0);
    expect(uninstall.stdout).toContain('systemctl --user stop llm-manager.service; systemctl --user daemon-reload');
    expect(fs.existsSync(unit)).toBe(false);
    expect(fs.readdirSync(path.join(xdg, 'systemd', 'user', 'default.target.wants'))).toEqual([]);
    expect(run(['uninstall'], { XDG_CONFIG_HOME: xdg }).stdout).toContain('nothing to remove');
  });

  it('bad usage is exit 2 with the usage', () => {
    for (const args of [[], ['start'], ['install', '--bogus']]) {
      const result = run(args, { XDG_CONFIG_HOME: tempDir() });
      expect(result.status, args.join(' ')).toBe(2);
      expect(result.stderr).toContain('Usage: llm-manager service install|uninstall');
    }
  });
});

describe('the unit and the task', () => {
  const launch = { execPath: '/opt/node 24/bin/node', cliPath: '/opt/llm-manager/bin/llm-manager.js', configPath: '/home/me/100%$HOME"/config.yaml' };

  it("quotes ExecStart for systemd: spaces, quotes, % specifiers and $ variables stay literal", () => {
    const text = systemdUnit(launch);
    expect(text).toContain('ExecStart="/opt/node 24/bin/node" "/opt/llm-manager/bin/llm-manager.js" "serve" "--config" "/home/me/100%%$$HOME\\"/config.yaml"');
    expect(text).toContain('WorkingDirectory=/home/me/100%%$HOME"');
  });

  it('the unit folder follows $XDG_CONFIG_HOME when it is absolute', () => {
    expect(unitDir({ XDG_CONFIG_HOME: '/x/cfg' }, '/home/me')).toBe('/x/cfg/systemd/user');
    expect(unitDir({ XDG_CONFIG_HOME: 'relative' }, '/home/me')).toBe('/home/me/.config/systemd/user');
    expect(unitDir({}, '/home/me')).toBe('/home/me/.config/systemd/user');
  });

  it('on Windows prints the Task Scheduler commands and writes nothing', () => {
    const home = tempDir();
    const out: string[] = [];
    const ctx = {
      out: (t: string) => void out.push(t),
      err: (t: string) => void out.push(t),
      platform: 'win32' as const,
      env: { XDG_CONFIG_HOME: home },
      home,
      cwd: 'C:\\Users\\me',
      execPath: 'C:\\Program Files\\nodejs\\node.exe',
      cliPath: "C:\\Users\\me\\O'Brien\\llm-manager\\bin\\llm-manager.js",
    };
    expect(serviceCommand(['install', '--config', 'C:\\Users\\me\\config.yaml'], ctx)).toBe(0);
    const text = out.join('');
    expect(text).toContain("$action = New-ScheduledTaskAction -Execute 'C:\\Program Files\\nodejs\\node.exe' -Argument '\"C:\\Users\\me\\O''Brien\\llm-manager\\bin\\llm-manager.js\" serve --config \"C:\\Users\\me\\config.yaml\"'");
    expect(text).toContain("Register-ScheduledTask -TaskName 'LLM Manager'");
    expect(text).toContain('-AtLogOn');
    expect(fs.readdirSync(home)).toEqual([]);
    out.length = 0;
    expect(serviceCommand(['uninstall'], ctx)).toBe(0);
    expect(out.join('')).toContain("Unregister-ScheduledTask -TaskName 'LLM Manager' -Confirm:$false");
    expect(windowsTask(launch).uninstall).toHaveLength(2);
  });
});
