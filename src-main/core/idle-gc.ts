// An idle node gives memory back: V8 alone rarely runs a full collection when nothing allocates,
// so start-up garbage (modules, the parsed config) and what a burst left behind stay resident.
// `gc` is V8's own collector: exposed by `node --expose-gc`, or else switched on here at run time
// (the bin/ entry and Electron's main process start without the flag).
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

type GcFunction = (options?: { type?: 'major' | 'minor'; execution?: 'sync' | 'async'; flavor?: 'regular' | 'last-resort' }) => void;

export interface IdleGcOptions {
  /** True while requests are in flight or arrived since the last check. */
  busy: () => boolean;
  firstCheckMs?: number;
  intervalMs?: number;
  /** Collect again only after RSS grew this much since the last collection. */
  minGrowthBytes?: number;
  gc?: GcFunction | null;
}

let found: GcFunction | null | undefined;

/**
 * The process's `gc()`: the global one when node runs with --expose-gc, else one taken from a fresh
 * context after turning the flag on (V8 reads it when a context is made); null if neither works.
 * Looked up once per process: every node a process creates shares it.
 */
export function exposedGc(): GcFunction | null {
  if (found !== undefined) return found;
  const global = (globalThis as { gc?: GcFunction }).gc;
  if (typeof global === 'function') return (found = global);
  try {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as unknown;
    found = typeof gc === 'function' ? (gc as GcFunction) : null;
  } catch {
    found = null;
  }
  return found;
}

export function startIdleGc(options: IdleGcOptions): { stop(): void } {
  const gc = options.gc === undefined ? exposedGc() : options.gc;
  if (!gc) return { stop() {} };
  const minGrowth = options.minGrowthBytes ?? 2 * 1024 * 1024;
  let rssAfterLast = 0;
  const check = () => {
    if (options.busy()) return;
    const rss = process.memoryUsage.rss();
    if (rssAfterLast > 0 && rss - rssAfterLast < minGrowth) return;
    // A compacting collection: the point is returning pages to the OS, not throughput.
    gc({ type: 'major', execution: 'sync', flavor: 'last-resort' });
    rssAfterLast = process.memoryUsage.rss();
  };
  const first = setTimeout(check, options.firstCheckMs ?? 5_000);
  const every = setInterval(check, options.intervalMs ?? 30_000);
  first.unref();
  every.unref();
  return {
    stop() {
      clearTimeout(first);
      clearInterval(every);
    },
  };
}
