// Requests refused for a missing or wrong API key, told to the operator without flooding the log:
// the first refusal at once, then at most one summary line a minute while refusals go on.

export interface RefusalLogOptions {
  log: (line: string) => void;
  now?: () => number;
  /** How long a summary collects refusals (default 60 s). */
  windowMs?: number;
}

export class RefusalLog {
  private readonly now: () => number;
  private readonly windowMs: number;
  private counts = new Map<string, number>();
  private peers = new Set<string>();
  private total = 0;
  private windowStart: number | null = null;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly options: RefusalLogOptions) {
    this.now = options.now ?? Date.now;
    this.windowMs = options.windowMs ?? 60_000;
  }

  /** A request refused with `code` (missing_api_key, invalid_api_key) from `peer`. */
  refused(code: string, peer: string | undefined): void {
    const who = peer ?? 'unknown address';
    if (this.windowStart === null) {
      // Quiet until now: say it at once, then collect for a window.
      this.options.log(`refused a request without a valid API key (${code}) from ${who}`);
      this.windowStart = this.now();
      this.timer = setTimeout(() => this.flush(), this.windowMs);
      this.timer.unref();
      return;
    }
    this.total++;
    this.counts.set(code, (this.counts.get(code) ?? 0) + 1);
    if (this.peers.size < 5) this.peers.add(who);
  }

  /** Writes the summary of the window (if anything was refused in it) and starts a new one only if needed. */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.total === 0) {
      this.windowStart = null;
      return;
    }
    const codes = [...this.counts].map(([code, n]) => `${code} ${n}`).join(', ');
    const seconds = Math.max(1, Math.round((this.now() - (this.windowStart ?? this.now())) / 1000));
    this.options.log(`refused ${this.total} more request${this.total === 1 ? '' : 's'} without a valid API key in the last ${seconds} s (${codes}) from ${[...this.peers].join(', ')}`);
    this.total = 0;
    this.counts = new Map();
    this.peers = new Set();
    this.windowStart = this.now();
    this.timer = setTimeout(() => this.flush(), this.windowMs);
    this.timer.unref();
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
