// A large config text is parsed in a worker thread with a time limit, so a save or an edit on disk
// never stalls the router's streams; a small one (every real config is a few KB) is parsed in place.
// This file is both: imported, it starts workers running itself; run as one, it parses and answers.
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { parseConfigText, type ConfigIssue, type ConfigParseResult } from '../../../src-shared/config.js';

/** Texts longer than this (characters) go to a worker. */
export const OFF_THREAD_ABOVE = 16 * 1024;
/** How long a worker may parse before it is terminated and the text refused. */
export const PARSE_TIME_LIMIT_MS = 5_000;
/** How long a worker may take to start (load its modules) before the text is parsed in place instead. */
const START_LIMIT_MS = 20_000;
const TAG = 'llm-manager:parse-config';

export interface ParseOptions {
  fileName?: string;
  /** Defaults: OFF_THREAD_ABOVE and PARSE_TIME_LIMIT_MS; tests lower them. */
  offThreadAbove?: number;
  timeLimitMs?: number;
}

export interface ParsedText {
  result: ConfigParseResult;
  /** Where it was parsed: in place, or in a worker (in place too when a worker could not start). */
  where: 'inline' | 'worker';
}

type WorkerMessage = { type: 'started' } | { type: 'result'; result: ConfigParseResult } | { type: 'failed'; message: string };

/** parseConfigText, off the event loop when the text is large. Never rejects. */
export async function parseConfigOffThread(text: string, options: ParseOptions = {}): Promise<ParsedText> {
  const fileName = options.fileName ?? 'config.yaml';
  if (text.length <= (options.offThreadAbove ?? OFF_THREAD_ABOVE)) return { result: parseConfigText(text, fileName), where: 'inline' };
  const limitMs = options.timeLimitMs ?? PARSE_TIME_LIMIT_MS;
  let worker: Worker;
  try {
    worker = startWorker(text, fileName);
  } catch {
    return { result: parseConfigText(text, fileName), where: 'inline' };
  }
  return new Promise<ParsedText>((resolve) => {
    let started = false;
    let done = false;
    const finish = (outcome: ParsedText | 'inline') => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      void worker.terminate();
      resolve(outcome === 'inline' ? { result: parseConfigText(text, fileName), where: 'inline' } : outcome);
    };
    // Until it has started, a worker that can't (a packaged app whose files a worker can't load) is no reason to refuse the text.
    let timer = setTimeout(() => finish('inline'), START_LIMIT_MS);
    worker.on('message', (message: WorkerMessage) => {
      if (message.type === 'started') {
        started = true;
        clearTimeout(timer);
        timer = setTimeout(() => finish({ result: refused(`the config took too long to parse (over ${formatSeconds(limitMs)}); it was not read`, 'time'), where: 'worker' }), limitMs);
      } else if (message.type === 'result') {
        finish({ result: message.result, where: 'worker' });
      } else {
        finish({ result: refused(`the config could not be parsed: ${message.message}`), where: 'worker' });
      }
    });
    worker.on('error', (err) => {
      finish(started ? { result: refused(`the config could not be parsed: ${err.message}`), where: 'worker' } : 'inline');
    });
    worker.on('exit', () => finish(started ? { result: refused('the config could not be parsed: its parser stopped'), where: 'worker' } : 'inline'));
  });
}

function startWorker(text: string, fileName: string): Worker {
  const self = new URL(import.meta.url);
  // Under tests this file is TypeScript: the worker needs tsx to load it and its .ts imports.
  const typescript = self.pathname.endsWith('.ts');
  const execArgv = typescript ? ['--import', pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href] : [];
  return new Worker(self, {
    workerData: { tag: TAG, text, fileName },
    execArgv,
    // A hostile text must not take the node's memory with it.
    resourceLimits: { maxOldGenerationSizeMb: 256 },
    stdout: false,
    stderr: false,
  });
}

function refused(message: string, limit?: ConfigIssue['limit']): ConfigParseResult {
  const issue: ConfigIssue = { severity: 'error', path: '', message, line: 1, col: 1, from: 0, to: 0 };
  return { ok: false, errors: [limit ? { ...issue, limit } : issue], warnings: [] };
}

function formatSeconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}

// ---- in the worker -----------------------------------------------------------------------------

const job = workerData as { tag?: unknown; text?: unknown; fileName?: unknown } | null;
if (!isMainThread && parentPort && job?.tag === TAG && typeof job.text === 'string') {
  const port = parentPort;
  port.postMessage({ type: 'started' } satisfies WorkerMessage);
  try {
    port.postMessage({ type: 'result', result: parseConfigText(job.text, String(job.fileName)) } satisfies WorkerMessage);
  } catch (err) {
    port.postMessage({ type: 'failed', message: err instanceof Error ? err.message : String(err) } satisfies WorkerMessage);
  }
}
