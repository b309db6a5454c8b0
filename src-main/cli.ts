#!/usr/bin/env node
// Headless entry: `llm-manager serve [--config PATH] [--host H] [--port N]`, and the commands
// around it: check-config (seed configs), service (systemd unit / Windows task).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError, ensureConfigFile, resolveConfigPath } from './core/config/load.js';
import { createNode, ListenError, type LlmNode } from './core/node.js';
import { appRoot, appVersion } from './core/version.js';
import { checkConfigCommand } from './core/cli/check-config.js';
import { serviceCommand } from './core/cli/service.js';
import { apiKeysFromEnv } from './core/security/env-keys.js';
import { homedir } from 'node:os';

const USAGE = `Usage: llm-manager serve [--config PATH] [--host HOST] [--port N]

Serves one OpenAI-compatible endpoint (http://HOST:PORT/v1) for every model in config.yaml,
starting each model's engine on demand and stopping it when idle.

Options:
  --config PATH   config file (default: $LLM_MANAGER_CONFIG, else ./config.yaml;
                  created from config.example.yaml when missing, in a folder
                  that exists)
  --host HOST     listen address (default: program.host, 127.0.0.1)
  --port N        listen port (default: program.port, 8080)
  -h, --help      show this help
  -v, --version   print the version

Environment:
  LLM_MANAGER_API_KEYS   API keys (comma-separated) accepted besides program.api_keys

Other commands (each has --help):
  llm-manager check-config [--fix] FILE        a LLM-Node / LLM-Manager config: what to change
  llm-manager service install|uninstall        run serve as a systemd user service (Linux)`;

export async function main(argv: string[]): Promise<number> {
  const io = { out: (t: string) => void process.stdout.write(t), err: (t: string) => void process.stderr.write(t), platform: process.platform };
  if (argv[0] === 'check-config') return checkConfigCommand(argv.slice(1), io);
  if (argv[0] === 'service') {
    const cliPath = join(appRoot(), 'bin', 'llm-manager.js');
    return serviceCommand(argv.slice(1), { ...io, env: process.env, home: homedir(), cwd: process.cwd(), execPath: process.execPath, cliPath });
  }
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        config: { type: 'string' },
        host: { type: 'string' },
        port: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
      },
    });
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n\n${USAGE}\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (values.version) {
    process.stdout.write(`${appVersion()}\n`);
    return 0;
  }
  const command = positionals[0] ?? 'serve';
  if (command !== 'serve' || positionals.length > 1) {
    process.stderr.write(`unknown command: ${positionals.join(' ')}\n\n${USAGE}\n`);
    return 2;
  }
  let port: number | undefined;
  if (values.port !== undefined) {
    port = Number(values.port);
    if (!/^\d+$/.test(values.port) || port < 0 || port > 65535) {
      process.stderr.write(`--port expects a number 0-65535, got "${values.port}"\n\n${USAGE}\n`);
      return 2;
    }
  }

  const envKeys = apiKeysFromEnv(process.env);
  if (envKeys.problem) {
    process.stderr.write(`${envKeys.problem}\n`);
    return 1;
  }
  const configPath = resolveConfigPath({ cliPath: values.config, env: process.env, cwd: process.cwd() });
  // The handlers go in before anything starts: a SIGTERM (docker stop, systemd, a test that saw the
  // banner) that arrives while the node is starting or right after the banner must still stop the
  // engines and exit 0, not end the process by the signal's default action.
  let node: LlmNode | null = null;
  let stopRequested: string | null = null;
  let stopped!: () => void;
  const done = new Promise<void>((resolve) => (stopped = resolve));
  const stop = (): void => {
    process.stderr.write(`\n${stopRequested}: stopping every engine...\n`);
    node!.close().then(stopped, stopped);
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopRequested) {
      process.stderr.write('Still stopping engines; press Ctrl+C again in a moment to force.\n');
      process.once(signal, () => process.exit(130));
      return;
    }
    stopRequested = signal;
    if (node) stop(); // else: stopped as soon as the node is up
  };
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  for (const signal of signals) process.on(signal, onSignal);
  try {
    const { created } = ensureConfigFile(configPath, join(appRoot(), 'config.example.yaml'));
    if (created) process.stderr.write(`No config found: created ${configPath} from config.example.yaml — edit it to add your models.\n`);
    node = await createNode({ configPath, host: values.host, port, extraApiKeys: envKeys.keys });
  } catch (err) {
    for (const signal of signals) process.off(signal, onSignal);
    if (err instanceof ConfigError || err instanceof ListenError) {
      process.stderr.write(`${err.message}\n`);
      return 1;
    }
    throw err;
  }

  if (stopRequested) stop();
  else printBanner(node);
  await done;
  process.stderr.write('All engines stopped. Bye.\n');
  return 0;
}

function printBanner(node: LlmNode): void {
  const lines = [
    `LLM Manager ${appVersion()} — OpenAI-compatible endpoint: ${node.url}/v1`,
    ...(existsSync(join(appRoot(), 'dist', 'renderer', 'index.html')) ? [`window (web UI): ${node.url}/`] : []),
    `config: ${node.configPath}`,
    node.config.models.length === 0 ? 'No models configured yet: add them under Local-Models in the config.' : 'models:',
    ...node.config.models.map((m) => {
      const aliases = m.aliases.length > 0 ? ` (aliases: ${m.aliases.join(', ')})` : '';
      return `  ${m.name}${aliases} — ${m.mode}, port ${m.port ?? 'auto'}${m.autoStart ? ', auto start' : ''}`;
    }),
    'Press Ctrl+C to stop.',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    // Whatever a stray handle still holds, a finished CLI exits (unref: never delays a clean exit).
    setTimeout(() => process.exit(code), 2000).unref();
  },
  (err: unknown) => {
    process.stderr.write(`llm-manager: ${(err as Error)?.message ?? String(err)}\n`);
    process.exitCode = 1;
  },
);
