// The core node, hosted in the main process: the endpoint keeps answering while the window is
// hidden, and stops only with the app. The config is created from the bundled example on first run.
import path from 'node:path';
import { ConfigError, ensureConfigFile } from '../core/config/load.js';
import { consoleLogger } from '../core/logger.js';
import { stderrAndFile } from '../core/logs/log-file.js';
import { findExecutable } from '../core/models/process.js';
import { createNode, ListenError, type LlmNode } from '../core/node.js';
import { withElectronAsNode } from './node-command.js';

export interface CoreNodeOptions {
  configPath: string;
  examplePath: string;
  webUiDir: string;
  /** The app's executable, which runs profiles whose `node` is not installed. */
  execPath: string;
  /** The node's own messages (engines log to program.log_dir), besides stderr. */
  appLogFile: string;
  /** Opens a folder in the file manager (shell.openPath). */
  openFolder: (dir: string) => Promise<void>;
  /** The config is the app's own (in its user-data folder): on first run its folder is created too. A --config path must be in a folder that exists. */
  ownConfig?: boolean;
}

export async function setupCoreNode(options: CoreNodeOptions): Promise<LlmNode> {
  let node: LlmNode | null = null;
  const logger = consoleLogger(() => node?.config.program.logLevel ?? 'info', stderrAndFile(options.appLogFile));
  const { created } = ensureConfigFile(options.configPath, options.examplePath, { createFolder: options.ownConfig === true });
  if (created) logger.info(`created ${options.configPath} from ${options.examplePath}: edit it to add your models`);
  node = await createNode({
    configPath: options.configPath,
    webUiDir: options.webUiDir,
    logger,
    openFolder: options.openFolder,
    adaptProfile: (profile) => withElectronAsNode(profile, { execPath: options.execPath, hasCommand: (command) => findExecutable(command) !== null }),
  });
  logger.info(`LLM Manager desktop: endpoint ${node.url}/v1, config ${node.configPath}`);
  return node;
}

/** The folder engines log to (program.log_dir, relative to the config file). */
export function logsFolder(node: Pick<LlmNode, 'config' | 'configPath'>): string {
  return path.resolve(path.dirname(node.configPath), node.config.program.logDir);
}

/** Why the node could not start, for a dialog: what happened and what to do, never a stack trace. */
export function startupProblem(err: unknown, configPath: string): { message: string; detail: string; configIssue: boolean } {
  if (err instanceof ConfigError) {
    return { message: "LLM Manager can't use its config file", detail: `${err.message}\n\nFix ${configPath} and start LLM Manager again.`, configIssue: true };
  }
  if (err instanceof ListenError) {
    return { message: "LLM Manager can't open its endpoint", detail: `${err.message}\n\nConfig: ${configPath}`, configIssue: true };
  }
  return { message: 'LLM Manager could not start', detail: err instanceof Error ? err.message : String(err), configIssue: false };
}
