// The usage ledger: the UsageSink the router hands every /v1 request to, and the one owner of
// usage.sqlite. record() only pushes into an array; a timer writes the batch in one transaction at
// most FLUSH_MS later. SQLite (node:sqlite, ~4 MB once loaded and open) is loaded on the first
// write or read, so an idle node doesn't carry it. A database that can't be used is reported and
// moved aside, never a crash.
import fs from 'node:fs';
import { isBuiltin } from 'node:module';
import type { ModelPricing, UsageSettings } from '../../../src-shared/config.js';
import { DEFAULT_USAGE } from '../../../src-shared/config.js';
import type { ManagerEvent, ModelInfo } from '../../../src-shared/contract.js';
import type { UsageDeleteResult, UsageQuery, UsageReport, UsageRequestsPage, UsageRequestsQuery, UsageStatus } from '../../../src-shared/usage.js';
import { checkUsageQuery } from '../../../src-shared/usage.js';
import { ApiError } from '../../../src-shared/errors.js';
import type { Logger } from '../logger.js';
import type { EngineRunRecord, UsageRecord, UsageSink } from './record.js';
import { UsageMetrics } from './metrics.js';
import type { UsageStore } from './store.js';

export const USAGE_FILE = 'usage.sqlite';
const FLUSH_MS = 1000;
const MAINTAIN_MS = 60_000;
/** Records kept while the database isn't open yet (or is busy); beyond, the oldest are dropped. */
const MAX_PENDING = 20_000;

type StoreModule = typeof import('./store.js');

export interface UsageLedgerOptions {
  file: string;
  /** program.usage now (null: off). */
  settings: () => UsageSettings | null | undefined;
  /** Each model's prices now. */
  prices: () => Readonly<Record<string, ModelPricing | null | undefined>>;
  logger: Logger;
  now?: () => number;
  flushMs?: number;
}

interface OpenRun {
  id: number | null;
  run: EngineRunRecord;
  dirty: boolean;
}

export class UsageLedger implements UsageSink {
  readonly metrics = new UsageMetrics();
  private pending: UsageRecord[] = [];
  private timer: NodeJS.Timeout | null = null;
  private maintainTimer: NodeJS.Timeout | null = null;
  private store: UsageStore | null = null;
  private storeModule: StoreModule | null = null;
  /** Loading the store module and opening the file, once (null: not begun). */
  private loading: Promise<void> | null = null;
  private state: UsageStatus['state'] | 'opening' = 'opening';
  private message: string | null = null;
  private movedAside: string | null = null;
  private readonly runs = new Map<string, OpenRun>();
  private closed = false;
  private lastWriteError: string | null = null;
  private readonly now: () => number;

  constructor(private readonly options: UsageLedgerOptions) {
    this.now = options.now ?? Date.now;
  }

  private get on(): boolean {
    return this.options.settings() !== null;
  }

  wantsUsage(): boolean {
    return this.on && (this.state === 'on' || this.state === 'opening');
  }

  record(rec: UsageRecord): void {
    this.metrics.observe(rec);
    if (this.state !== 'on' && this.state !== 'opening') return;
    this.pending.push(rec);
    if (this.pending.length > MAX_PENDING) this.pending.splice(0, this.pending.length - MAX_PENDING);
    this.schedule();
  }

  /** The supervisor's state events: each spawn begins a run, readiness and exit complete it. */
  onEvent(event: ManagerEvent): void {
    if (event.type !== 'model') return;
    this.observeModel(event.model);
  }

  private observeModel(info: ModelInfo): void {
    const open = this.runs.get(info.name);
    const startedAt = info.startedAt === null ? null : Date.parse(info.startedAt);
    if (info.state === 'starting' && startedAt !== null && open?.run.startedAt !== startedAt) {
      if (open) this.endRun(open, startedAt);
      this.runs.set(info.name, { id: null, run: { model: info.name, startedAt, readyAt: null, stoppedAt: null }, dirty: true });
      this.schedule();
      return;
    }
    if (!open) return;
    if (info.readyAt !== null && open.run.readyAt === null) {
      open.run.readyAt = Date.parse(info.readyAt);
      open.dirty = true;
      this.schedule();
    }
    if (info.state === 'stopped' || info.state === 'failed') {
      this.endRun(open, this.now());
      this.schedule();
    }
  }

  private endRun(open: OpenRun, at: number): void {
    open.run.stoppedAt = Math.max(at, open.run.startedAt);
    open.dirty = true;
  }

  /**
   * Starts recording (call after the node listens). SQLite itself is loaded and the file opened on
   * the first write or read; a file that isn't SQLite at all is found now from its header. Never throws.
   */
  async open(): Promise<void> {
    const settings = this.options.settings();
    if (settings === null) return this.turnOff('program.usage is off: requests are not recorded');
    if (!isBuiltin('node:sqlite')) {
      return this.unavailable(`usage recording is off: this Node (${process.version}) has no built-in SQLite (node:sqlite, Node 22.5 or later); requests are not recorded`);
    }
    this.state = 'on';
    this.message = null;
    if (!looksLikeSqlite(this.options.file)) await this.ready();
    else this.flush();
  }

  /** The database open (loading SQLite on first use); resolves when it is, or when that failed. */
  ready(): Promise<void> {
    if (this.store || this.state !== 'on' || this.closed) return Promise.resolve();
    this.loading ??= (async () => {
      let mod: StoreModule;
      try {
        mod = this.storeModule ??= await import('./store.js');
      } catch (err) {
        return this.unavailable(`usage recording is off: its database module could not load (${(err as Error).message})`);
      }
      if (this.closed || this.state !== 'on') return;
      if (!mod.loadSqlite()) {
        return this.unavailable(`usage recording is off: this Node (${process.version}) has no built-in SQLite (node:sqlite, Node 22.5 or later); requests are not recorded`);
      }
      this.store = this.openStore(mod);
      if (!this.store) return;
      this.maintain();
      this.maintainTimer = setInterval(() => this.maintain(), MAINTAIN_MS);
      this.maintainTimer.unref();
    })().finally(() => {
      this.loading = null;
    });
    return this.loading;
  }

  private openStore(mod: StoreModule): UsageStore | null {
    const file = this.options.file;
    try {
      return mod.UsageStore.open(file, this.now());
    } catch (err) {
      if (!(err instanceof mod.UnusableDatabaseError)) return this.fail(`usage recording is off: couldn't open ${file}: ${(err as Error).message}`);
      const aside = this.moveAside(err.kind);
      if (aside === null) return this.fail(`usage recording is off: ${err.message}, and it couldn't be moved aside`);
      this.movedAside = aside;
      this.message = `${err.message}; it was moved to ${aside} and a new, empty usage database was started`;
      this.options.logger.error(this.message);
      try {
        return mod.UsageStore.open(file, this.now());
      } catch (again) {
        return this.fail(`usage recording is off: couldn't start a new ${file}: ${(again as Error).message}`);
      }
    }
  }

  /** Renames the file (and its -wal / -shm) to `usage.sqlite.<kind>-<time>`; null when it can't. */
  private moveAside(kind: string): string | null {
    const file = this.options.file;
    const stamp = new Date(this.now()).toISOString().replace(/[:.]/g, '-');
    const target = `${file}.${kind}-${stamp}`;
    try {
      fs.renameSync(file, target);
    } catch {
      return null;
    }
    for (const suffix of ['-wal', '-shm']) {
      try {
        fs.renameSync(file + suffix, target + suffix);
      } catch {
        // not there
      }
    }
    return target;
  }

  private fail(message: string): null {
    this.state = 'error';
    this.message = message;
    this.pending = [];
    this.options.logger.error(message);
    return null;
  }

  private unavailable(message: string): void {
    this.state = 'unavailable';
    this.message = message;
    this.pending = [];
    this.options.logger.warn(message);
  }

  private turnOff(message: string): void {
    this.state = 'off';
    this.message = message;
    this.pending = [];
  }

  /** A saved config may turn usage on or off. */
  async configure(): Promise<void> {
    if (this.closed) return;
    if (!this.on && this.state !== 'off') {
      this.flush();
      this.closeStore();
      this.turnOff('program.usage is off: requests are not recorded');
      this.options.logger.info('usage recording turned off (program.usage: off)');
    } else if (this.on && this.state === 'off') {
      this.state = 'opening';
      this.message = null;
      await this.open();
      if ((this.state as string) === 'on') this.options.logger.info(`usage recording turned on: ${this.options.file}`);
    }
  }

  private schedule(): void {
    if (this.timer || this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.flush();
    }, this.options.flushMs ?? FLUSH_MS);
    this.timer.unref();
  }

  /** Writes what is pending in one transaction (the first time, once SQLite is loaded). */
  flush(): void {
    const store = this.store;
    if (this.state !== 'on') return;
    const batch = this.pending;
    const runs = [...this.runs.values()].filter((r) => r.dirty);
    if (batch.length === 0 && runs.length === 0) return;
    if (!store) return void this.ready().then(() => this.store && this.flush());
    this.pending = [];
    try {
      if (batch.length > 0) store.insert(batch);
      if (runs.length > 0) this.writeRuns(store, runs);
      this.lastWriteError = null;
    } catch (err) {
      this.writeFailed(err, batch);
    }
  }

  private writeRuns(store: UsageStore, runs: OpenRun[]): void {
    const ids = store.writeRuns(runs.map((r) => ({ id: r.id, run: r.run })), this.now());
    runs.forEach((r, i) => {
      r.id = ids[i]!;
      r.dirty = false;
      if (r.run.stoppedAt !== null && this.runs.get(r.run.model) === r) this.runs.delete(r.run.model);
    });
  }

  private writeFailed(err: unknown, batch: UsageRecord[]): void {
    const mod = this.storeModule!;
    const message = (err as Error).message;
    if (mod.isUnusable(err)) {
      // Damaged under us: keep the batch, move the file aside and carry on in a fresh one.
      this.closeStore();
      this.pending = [...batch, ...this.pending];
      const aside = this.moveAside('corrupt');
      this.movedAside = aside;
      this.message = `${this.options.file} turned out damaged (${message}); it was moved to ${aside ?? '(could not be moved)'} and a new usage database was started`;
      this.options.logger.error(this.message);
      for (const r of this.runs.values()) {
        r.id = null;
        r.dirty = true;
      }
      this.store = aside === null ? null : this.openStore(mod);
      if (!this.store) return void this.fail(this.message);
      this.flush();
      return;
    }
    // Busy (another process), disk full: keep the batch for the next try, and say so once.
    this.pending = [...batch, ...this.pending].slice(-MAX_PENDING);
    this.schedule();
    if (message !== this.lastWriteError) {
      this.lastWriteError = message;
      this.options.logger.error(`usage: couldn't write ${batch.length} request(s) to ${this.options.file}: ${message} (will retry)`);
    }
  }

  /** Retention, and the open runs' "still alive" time (so a kill -9 ends them near when it happened). */
  private maintain(): void {
    const store = this.store;
    const settings = this.options.settings() ?? DEFAULT_USAGE;
    if (!store) return;
    try {
      for (const r of this.runs.values()) if (r.run.stoppedAt === null) r.dirty = true;
      this.flush();
      const deleted = store.prune(settings.keepDays, settings.maxMb, this.now());
      if (deleted > 0) this.options.logger.info(`usage: ${deleted} request(s) past program.usage's keep_days / max_mb deleted`);
    } catch (err) {
      this.options.logger.error(`usage: retention failed: ${(err as Error).message}`);
    }
  }

  status(): UsageStatus {
    const settings = this.options.settings();
    const store = this.store;
    let sizeBytes: number | null = null;
    let oldest: number | null = null;
    if (this.state === 'on') {
      try {
        sizeBytes = fs.statSync(this.options.file).size;
        oldest = store?.oldest() ?? null;
      } catch {
        // not made yet, or reported by the next write
      }
    }
    return {
      state: this.state === 'opening' ? (settings === null ? 'off' : 'on') : this.state,
      message: this.message ?? (this.lastWriteError ? `the last write failed: ${this.lastWriteError}` : null),
      path: settings === null ? null : this.options.file,
      movedAside: this.movedAside,
      sizeBytes,
      oldest,
      keepDays: settings?.keepDays ?? null,
      maxMb: settings?.maxMb ?? null,
    };
  }

  private checked(query: unknown) {
    const q = checkUsageQuery(query, this.now(), Intl.DateTimeFormat().resolvedOptions().timeZone);
    if (typeof q === 'string') throw new ApiError(400, 'invalid_usage_query', q);
    return q;
  }

  /** The store with everything recorded so far written, for a read. */
  private async readable(): Promise<UsageStore | null> {
    await this.ready();
    this.flush();
    return this.state === 'on' ? this.store : null;
  }

  async report(query?: UsageQuery): Promise<UsageReport> {
    const q = this.checked(query);
    const { buildReport } = await import('./report.js');
    const store = await this.readable();
    const currency = this.options.settings()?.currency ?? DEFAULT_USAGE.currency;
    if (!store) return emptyReport(q, this.status(), currency);
    return buildReport({ store, query: q, status: this.status(), currency, prices: this.options.prices(), now: this.now() });
  }

  async requests(query?: UsageRequestsQuery): Promise<UsageRequestsPage> {
    const q = this.checked(query);
    const store = await this.readable();
    if (!store) return { requests: [], next: null };
    const rows = store.requests({ from: q.from, to: q.to, model: q.model, client: q.client, failed: q.failed }, q.limit + 1, q.before);
    const page = rows.slice(0, q.limit);
    return { requests: page, next: rows.length > q.limit ? page[page.length - 1]!.id : null };
  }

  async csv(query?: UsageQuery): Promise<string> {
    const q = this.checked(query);
    const store = await this.readable();
    const { requestsCsv } = await import('./csv.js');
    return requestsCsv(store ? store.eachRequest({ from: q.from, to: q.to, model: q.model, client: q.client }) : []);
  }

  async delete(range?: { from?: number | string; to?: number | string }): Promise<UsageDeleteResult> {
    const given = range ?? {};
    if (given.from === undefined && given.to === undefined) {
      throw new ApiError(400, 'invalid_usage_range', 'say which history to delete: from and/or to (epoch ms or ISO time); from=0 deletes everything before to');
    }
    const q = this.checked({ from: given.from ?? 0, to: given.to ?? this.now() + 1 });
    const store = await this.readable();
    if (!store) return { requests: 0, runs: 0 };
    const deleted = store.deleteRange(q.from, q.to);
    this.options.logger.info(`usage: history from ${new Date(q.from).toISOString()} to ${new Date(q.to).toISOString()} deleted (${deleted.requests} request(s))`);
    return deleted;
  }

  private closeStore(): void {
    if (this.maintainTimer) clearInterval(this.maintainTimer);
    this.maintainTimer = null;
    this.store?.close();
    this.store = null;
  }

  /** Writes what is pending (runs still open end now) and closes the database. */
  async close(): Promise<void> {
    if (this.closed) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    for (const r of this.runs.values()) if (r.run.stoppedAt === null) this.endRun(r, this.now());
    if (this.pending.length > 0 || [...this.runs.values()].some((r) => r.dirty)) await this.ready();
    this.flush();
    this.closed = true;
    this.closeStore();
  }
}

function emptyReport(q: ReturnType<typeof checkUsageQuery> & object, status: UsageStatus, currency: string): UsageReport {
  const none = { requests: 0, failed: 0, promptTokens: 0, completionTokens: 0, cachedTokens: 0, tokensPerSecond: null, avgTotalMs: null, avgTtftMs: null, cost: null };
  return {
    status,
    from: q.from,
    to: q.to,
    group: q.group,
    tz: q.tz,
    currency,
    priced: false,
    totals: none,
    series: { at: [], requests: [], failed: [], promptTokens: [], completionTokens: [], cost: [], tokensPerSecond: [] },
    models: [],
    clients: [],
    months: [],
    modelNames: [],
    clientNames: [],
  };
}

/** Whether the file is absent, empty or starts with SQLite's header (read without loading SQLite). */
function looksLikeSqlite(file: string): boolean {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    return true; // not there yet: made on first write
  }
  try {
    const head = Buffer.alloc(16);
    const n = fs.readSync(fd, head, 0, 16, 0);
    return n === 0 || head.toString('latin1') === 'SQLite format 3\u0000';
  } finally {
    fs.closeSync(fd);
  }
}
