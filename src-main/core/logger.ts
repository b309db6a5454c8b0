import type { LogLevel } from '../../src-shared/config.js';

export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** The node's own messages (not engine output): one line each, to stderr, filtered by level. */
export function consoleLogger(level: () => LogLevel, write: (line: string) => void = (line) => process.stderr.write(`${line}\n`)): Logger {
  const at = (lvl: LogLevel) => (message: string) => {
    if (ORDER[lvl] >= ORDER[level()]) write(`${new Date().toISOString()} ${lvl.toUpperCase().padEnd(5)} ${message}`);
  };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
