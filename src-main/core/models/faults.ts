// How a supervisor reacts to an engine that keeps failing or stops answering. The timings are
// one object so tests can shrink them; the crash-loop arithmetic is pure and tested without processes.

export interface FaultPolicy {
  /** This many failures within `crashLoopWindowMs` make a crash loop. */
  crashLoopFailures: number;
  crashLoopWindowMs: number;
  /** First pause of automatic restarts in a crash loop; doubles each time the loop goes on. */
  backoffInitialMs: number;
  backoffMaxMs: number;
  /** Health check of a ready engine every this often; 0 = none. */
  healthIntervalMs: number;
  /** Consecutive unanswered checks after which the engine is deemed hung and killed. */
  healthFailures: number;
  /** How long one check waits for an answer. */
  healthTimeoutMs: number;
}

export const DEFAULT_FAULT_POLICY: FaultPolicy = {
  crashLoopFailures: 3,
  crashLoopWindowMs: 60_000,
  backoffInitialMs: 10_000,
  backoffMaxMs: 5 * 60_000,
  healthIntervalMs: 5_000,
  healthFailures: 3,
  healthTimeoutMs: 2_000,
};

/**
 * Failures of one model over time → whether automatic restarts should pause, and until when.
 * A loop ends (and the pause resets) after a quiet window without failures, after an engine that
 * stayed ready for a whole window, or when a person starts the model explicitly (clear()).
 */
export class CrashLoopGuard {
  private failures: number[] = [];
  private level = 0;
  private until = 0;

  constructor(private readonly policy: () => FaultPolicy) {}

  /**
   * Records a failure at `now`. `readySince` is when the failed engine became ready (null if it
   * never did). Returns the pause it starts in ms, or 0 when restarts may go on.
   */
  recordFailure(now: number, readySince: number | null): number {
    const { crashLoopFailures, crashLoopWindowMs, backoffInitialMs, backoffMaxMs } = this.policy();
    const last = this.failures.at(-1);
    const quietSince = Math.max(last ?? -Infinity, this.until);
    if ((readySince !== null && now - readySince >= crashLoopWindowMs) || (last !== undefined && now - quietSince >= crashLoopWindowMs)) {
      this.clear();
    }
    this.failures = this.failures.filter((t) => now - t < crashLoopWindowMs);
    this.failures.push(now);
    if (this.level === 0 && this.failures.length < crashLoopFailures) return 0;
    this.level++;
    const delay = Math.min(backoffInitialMs * 2 ** (this.level - 1), backoffMaxMs);
    this.until = now + delay;
    return delay;
  }

  /** Milliseconds left of the current pause (0: none). */
  remaining(now: number): number {
    return Math.max(0, this.until - now);
  }

  /** Failures counted in the current window. */
  get recentFailures(): number {
    return this.failures.length;
  }

  clear(): void {
    this.failures = [];
    this.level = 0;
    this.until = 0;
  }
}
