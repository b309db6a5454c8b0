// This machine may be shared (other people's tests, builds). Each measurement waits briefly for
// the other processes to calm down, records how much CPU they took while it ran, and is repeated
// (up to twice) when they took more than QUIET_LIMIT % of the machine.
import os from 'node:os';
import { foreignPercent, foreignTicks, sleep } from './procs.js';

export const QUIET_LIMIT = 10;
/** Repeats and waits are bounded for the whole run, so a machine that never calms down still finishes. */
let retriesLeft = Number(process.env['BENCH_QUIET_RETRIES'] ?? (process.env['BENCH_QUICK'] ? 6 : 24));
let waitLeftMs = (process.env['BENCH_QUICK'] ? 15 : 60) * 1000;
export const quietStats = { retries: 0, waitedMs: 0 };
const CPUS = os.cpus().length;

export interface Quiet<T> {
  result: T;
  /** Other processes' CPU during the kept attempt, % of the machine. */
  foreignPct: number;
  attempts: number;
}

/** Resolves once other processes used < QUIET_LIMIT % over 250 ms, or after maxWaitMs. */
export async function awaitQuiet(maxWaitMs = 2000): Promise<number> {
  const began = Date.now();
  const deadline = began + Math.min(maxWaitMs, waitLeftMs);
  for (;;) {
    const a = foreignTicks();
    const t = Date.now();
    await sleep(100);
    const pct = foreignPercent(a, foreignTicks(), (Date.now() - t) / 1000, CPUS);
    if (pct < QUIET_LIMIT || Date.now() > deadline) {
      const waited = Math.max(0, Date.now() - began - 100);
      waitLeftMs -= waited;
      quietStats.waitedMs += waited;
      return pct;
    }
  }
}

export async function quietly<T>(measure: () => Promise<T>, maxAttempts = 3): Promise<Quiet<T>> {
  let best: { result: T; foreignPct: number } | null = null;
  let attempts = 0;
  while (attempts < maxAttempts) {
    attempts++;
    await awaitQuiet();
    const a = foreignTicks();
    const t = Date.now();
    const result = await measure();
    const foreignPct = foreignPercent(a, foreignTicks(), (Date.now() - t) / 1000, CPUS);
    // Keep the least disturbed attempt.
    if (!best || foreignPct < best.foreignPct) best = { result, foreignPct };
    if (foreignPct < QUIET_LIMIT || retriesLeft <= 0) break;
    if (attempts < maxAttempts) {
      retriesLeft--;
      quietStats.retries++;
    }
  }
  return { ...best!, attempts };
}
