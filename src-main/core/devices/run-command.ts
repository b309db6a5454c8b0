// Runs a short-lived probe command (nvidia-smi, rocm-smi, ps) with a hard time limit. A probe
// must never block the router: on timeout the child is killed and its pipes are dropped at once,
// even when a grandchild still holds them open.
import { spawn } from 'node:child_process';

export interface CommandResult {
  stdout: string;
  stderr: string;
  code: number | null;
}

/** Why a command gave no usable answer; `message` is short enough for a device's offlineReason. */
export class CommandError extends Error {
  constructor(
    message: string,
    readonly kind: 'not-found' | 'timeout' | 'failed',
  ) {
    super(message);
    this.name = 'CommandError';
  }
}

const MAX_OUTPUT_BYTES = 4 * 1024 * 1024;
const EXIT_DRAIN_MS = 200;

export type RunCommand = (file: string, args: string[], timeoutMs: number) => Promise<CommandResult>;

/** Resolves with the output of a command that exited 0; rejects with a CommandError otherwise. */
export const runCommand: RunCommand = (file, args, timeoutMs) =>
  new Promise((resolve, reject) => {
    const name = file.split(/[\\/]/).pop() ?? file;
    let child;
    try {
      child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'], windowsHide: true });
    } catch (err) {
      reject(new CommandError(`${name}: ${(err as Error).message}`, 'failed'));
      return;
    }
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let size = 0;
    let settled = false;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.stdout?.destroy();
      child.stderr?.destroy();
      fn();
    };
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      settle(() => reject(new CommandError(`${name} did not answer within ${formatSeconds(timeoutMs)}`, 'timeout')));
    }, timeoutMs);
    const collect = (into: Buffer[]) => (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_OUTPUT_BYTES) {
        child.kill('SIGKILL');
        settle(() => reject(new CommandError(`${name} printed more than ${MAX_OUTPUT_BYTES} bytes`, 'failed')));
        return;
      }
      into.push(chunk);
    };
    child.stdout?.on('data', collect(out));
    child.stderr?.on('data', collect(err));
    child.once('error', (e: NodeJS.ErrnoException) => {
      const message = e.code === 'ENOENT' ? `${name} not found` : e.code === 'EACCES' ? `${name}: permission denied` : `${name}: ${e.message}`;
      settle(() => reject(new CommandError(message, e.code === 'ENOENT' ? 'not-found' : 'failed')));
    });
    const finish = (code: number | null, signal: NodeJS.Signals | null) => {
      const stdout = Buffer.concat(out).toString('utf8');
      const stderr = Buffer.concat(err).toString('utf8');
      if (code === 0) return settle(() => resolve({ stdout, stderr, code }));
      const detail = firstLine(stderr) || firstLine(stdout);
      const how = code !== null ? `exit code ${code}` : `signal ${signal}`;
      settle(() => reject(new CommandError(`${name} failed (${how})${detail ? `: ${detail}` : ''}`, 'failed')));
    };
    child.once('close', finish);
    // 'close' waits for the pipes, which a leftover grandchild may hold open: after the exit,
    // give the output a moment to drain, then answer with what was read.
    child.once('exit', (code, signal) => {
      setTimeout(() => finish(code, signal), EXIT_DRAIN_MS).unref();
    });
  });

function firstLine(text: string): string {
  const line = text.split(/\r?\n/).find((l) => l.trim() !== '') ?? '';
  return line.trim().slice(0, 200);
}

export function formatSeconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`;
}
