// `llm-manager service install|uninstall`: the headless node as a service that starts without the
// desktop app. Linux: a systemd user unit (written, never started: we print the systemctl line,
// the user runs it). Windows: the Task Scheduler commands to run, printed, nothing written.
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { CONFIG_ENV_VAR, DEFAULT_CONFIG_NAME, resolveConfigPath } from '../config/load.js';
import type { CliIo } from './check-config.js';

export const UNIT_NAME = 'llm-manager.service';
export const TASK_NAME = 'LLM Manager';

export const SERVICE_USAGE = `Usage: llm-manager service install|uninstall [--config PATH]

Runs the headless node (llm-manager serve) as a service of your user, without the desktop app.
  Linux:   writes (removes) the systemd user unit ~/.config/systemd/user/${UNIT_NAME}
           ($XDG_CONFIG_HOME/systemd/user when set) and prints the systemctl command to run.
  Windows: prints the PowerShell commands that register (remove) a Task Scheduler task.

Options:
  --config PATH   the config the service serves (default: $LLM_MANAGER_CONFIG, else ./config.yaml),
                  made absolute
  -h, --help      show this help`;

export interface ServiceContext extends CliIo {
  env: NodeJS.ProcessEnv;
  home: string;
  cwd: string;
  /** The node binary that runs the service. */
  execPath: string;
  /** The installed command's script (bin/llm-manager.js), absolute. */
  cliPath: string;
}

export interface ServiceLaunch {
  execPath: string;
  cliPath: string;
  configPath: string;
}

/** The user unit's folder: $XDG_CONFIG_HOME/systemd/user, else ~/.config/systemd/user. */
export function unitDir(env: NodeJS.ProcessEnv, home: string): string {
  const base = env['XDG_CONFIG_HOME'] && path.isAbsolute(env['XDG_CONFIG_HOME']) ? env['XDG_CONFIG_HOME'] : path.join(home, '.config');
  return path.join(base, 'systemd', 'user');
}

/** A systemd user unit that runs `serve` with absolute paths (a unit has no PATH or cwd of ours). */
export function systemdUnit(launch: ServiceLaunch): string {
  const exec = [launch.execPath, launch.cliPath, 'serve', '--config', launch.configPath].map(systemdQuote).join(' ');
  return [
    '# Written by `llm-manager service install`; `llm-manager service uninstall` removes it.',
    '[Unit]',
    'Description=LLM Manager: one OpenAI-compatible endpoint for local models',
    '',
    '[Service]',
    'Type=simple',
    `ExecStart=${exec}`,
    `WorkingDirectory=${path.dirname(launch.configPath).replace(/%/g, '%%')}`,
    '# On SIGTERM the node stops every engine (whole process trees) itself; only what is left after',
    '# TimeoutStopSec is killed.',
    'KillMode=mixed',
    'TimeoutStopSec=90',
    'Restart=on-failure',
    'RestartSec=5',
    '',
    '[Install]',
    'WantedBy=default.target',
    '',
  ].join('\n');
}

/** One ExecStart word: double-quoted, with systemd's escapes for `\`, `"`, `%` and `$`. */
function systemdQuote(word: string): string {
  return `"${word.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/%/g, '%%').replace(/\$/g, '$$$$')}"`;
}

/** The PowerShell lines that register (and remove) a task running `serve` at logon. */
export function windowsTask(launch: ServiceLaunch): { install: string[]; uninstall: string[] } {
  const ps = (text: string) => `'${text.replace(/'/g, "''")}'`;
  const args = `"${launch.cliPath}" serve --config "${launch.configPath}"`;
  return {
    install: [
      `$action = New-ScheduledTaskAction -Execute ${ps(launch.execPath)} -Argument ${ps(args)} -WorkingDirectory ${ps(path.win32.dirname(launch.configPath))}`,
      `$trigger = New-ScheduledTaskTrigger -AtLogOn -User $env:USERNAME`,
      `$settings = New-ScheduledTaskSettingsSet -ExecutionTimeLimit 0 -RestartCount 3 -RestartInterval (New-TimeSpan -Minutes 1) -AllowStartIfOnBatteries`,
      `Register-ScheduledTask -TaskName ${ps(TASK_NAME)} -Action $action -Trigger $trigger -Settings $settings -Force`,
      `Start-ScheduledTask -TaskName ${ps(TASK_NAME)}`,
    ],
    uninstall: [`Stop-ScheduledTask -TaskName ${ps(TASK_NAME)}`, `Unregister-ScheduledTask -TaskName ${ps(TASK_NAME)} -Confirm:$false`],
  };
}

export function serviceCommand(argv: string[], ctx: ServiceContext): number {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, options: { config: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
  } catch (err) {
    ctx.err(`${(err as Error).message}\n\n${SERVICE_USAGE}\n`);
    return 2;
  }
  if (parsed.values.help) {
    ctx.out(`${SERVICE_USAGE}\n`);
    return 0;
  }
  const action = parsed.positionals[0];
  if (parsed.positionals.length !== 1 || (action !== 'install' && action !== 'uninstall')) {
    ctx.err(`service needs install or uninstall\n\n${SERVICE_USAGE}\n`);
    return 2;
  }
  const launch: ServiceLaunch = {
    execPath: ctx.execPath,
    cliPath: ctx.cliPath,
    // The task's paths are Windows paths, whichever machine prints them (the tests run on Linux).
    configPath:
      ctx.platform === 'win32'
        ? path.win32.resolve(ctx.cwd, parsed.values.config || ctx.env[CONFIG_ENV_VAR] || DEFAULT_CONFIG_NAME)
        : resolveConfigPath({ cliPath: parsed.values.config, env: ctx.env, cwd: ctx.cwd }),
  };

  if (ctx.platform === 'win32') {
    const task = windowsTask(launch);
    ctx.out(
      action === 'install'
        ? `Nothing is written on Windows. In PowerShell, this registers a task that runs LLM Manager (headless) when you log on:\n\n${task.install.join('\n')}\n\n(The desktop app's tray menu has "Start at login" too; don't use both. See docs/server.md.)\n`
        : `Nothing is removed on Windows. In PowerShell, this removes the task:\n\n${task.uninstall.join('\n')}\n`,
    );
    return 0;
  }
  if (ctx.platform !== 'linux') {
    ctx.err(`service ${action} writes a systemd user unit, which exists on Linux only; on ${ctx.platform}, run \`llm-manager serve --config ${launch.configPath}\` from your system's service manager (see docs/server.md).\n`);
    return 1;
  }

  const dir = unitDir(ctx.env, ctx.home);
  const unit = path.join(dir, UNIT_NAME);
  if (action === 'install') {
    if (!fs.existsSync(launch.configPath)) ctx.err(`note: ${launch.configPath} does not exist yet; the service creates it from config.example.yaml on its first start.\n`);
    const existed = fs.existsSync(unit);
    fs.mkdirSync(dir, { recursive: true });
    const tmp = `${unit}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, systemdUnit(launch), { mode: 0o644 });
    fs.renameSync(tmp, unit);
    ctx.out(
      [
        `${existed ? 'Replaced' : 'Wrote'} ${unit}: it runs`,
        `  ${launch.execPath} ${launch.cliPath} serve --config ${launch.configPath}`,
        '',
        'Start it now and at every login:',
        `  systemctl --user daemon-reload && systemctl --user enable --now ${UNIT_NAME}`,
        'Start it at boot, before anyone logs in:',
        '  loginctl enable-linger "$USER"',
        `Its messages: journalctl --user -u ${UNIT_NAME} -f (and llm-manager+node.log in program.log_dir)`,
        '',
      ].join('\n'),
    );
    return 0;
  }
  const wants = path.join(dir, 'default.target.wants', UNIT_NAME);
  const removed = [unit, wants].filter((file) => {
    if (!fs.lstatSync(file, { throwIfNoEntry: false })) return false;
    fs.rmSync(file, { force: true });
    return true;
  });
  if (removed.length === 0) {
    ctx.out(`No ${UNIT_NAME} in ${dir}: nothing to remove.\n`);
    return 0;
  }
  ctx.out(`Removed ${removed.join(' and ')}.\nStop the running service and forget it:\n  systemctl --user stop ${UNIT_NAME}; systemctl --user daemon-reload\n`);
  return 0;
}
