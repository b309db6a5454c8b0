// usage.sqlite: the requests and engine runs, through node:sqlite (built into Node 22.5+ and
// Electron's Node, so no native module to rebuild per platform). Loaded only when usage is on; the
// ledger owns the one connection and calls this synchronously from its timer, off the request path.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import type { EngineRunRecord, UsageRecord } from './record.js';

/** The newest schema; migrations[i] takes a database from version i to i + 1. */
export const SCHEMA_VERSION = 2;

const MIGRATIONS: readonly string[] = [
  // 1: every /v1 request.
  `CREATE TABLE requests (
     id INTEGER PRIMARY KEY,
     started_at INTEGER NOT NULL,
     model TEXT NOT NULL,
     requested TEXT NOT NULL,
     endpoint TEXT NOT NULL,
     status INTEGER NOT NULL,
     error_code TEXT,
     client TEXT NOT NULL,
     prompt_tokens INTEGER,
     completion_tokens INTEGER,
     cached_tokens INTEGER,
     ttft_ms REAL,
     total_ms REAL NOT NULL,
     tokens_per_second REAL,
     streamed INTEGER NOT NULL
   );
   CREATE INDEX requests_started_at ON requests (started_at);`,
  // 2: engine runs (hourly billing), and per-model lookups for token tiers.
  `CREATE TABLE engine_runs (
     id INTEGER PRIMARY KEY,
     model TEXT NOT NULL,
     started_at INTEGER NOT NULL,
     ready_at INTEGER,
     stopped_at INTEGER,
     seen_at INTEGER
   );
   CREATE INDEX engine_runs_started_at ON engine_runs (started_at);
   CREATE INDEX requests_model_started_at ON requests (model, started_at);`,
];

/** Why the file couldn't be used as it is (it is moved aside and a fresh one made). */
export class UnusableDatabaseError extends Error {
  constructor(
    message: string,
    readonly kind: 'corrupt' | 'locked' | 'newer',
  ) {
    super(message);
  }
}

type Sqlite = typeof import('node:sqlite');
let sqlite: Sqlite | null | undefined;

/** node:sqlite, or null where this Node has none (Node 20). Loaded on first use only. */
export function loadSqlite(): Sqlite | null {
  if (sqlite === undefined) {
    try {
      sqlite = createRequire(import.meta.url)('node:sqlite') as Sqlite;
    } catch {
      sqlite = null;
    }
  }
  return sqlite;
}

export interface RequestRow extends UsageRecord {
  id: number;
}

export interface RunRow extends EngineRunRecord {
  id: number;
}

/** One 15-minute slice of one model and client: what every report is summed from. */
export interface SliceRow {
  slice: number;
  model: string;
  client: string;
  requests: number;
  failed: number;
  promptTokens: number;
  completionTokens: number;
  cachedTokens: number;
  /** Completion tokens of requests that have a speed, and the seconds they took to generate. */
  genTokens: number;
  genSeconds: number;
  totalMs: number;
  ttftMs: number;
  ttftCount: number;
}

export const SLICE_MS = 15 * 60_000;

export interface RowFilter {
  from: number;
  to: number;
  model?: string | undefined;
  client?: string | undefined;
  failed?: boolean | undefined;
}

const FAILED = '(status = 0 OR status >= 400)';

export class UsageStore {
  private readonly insertRequest: StatementSync;
  private readonly insertRun: StatementSync;
  private readonly updateRun: StatementSync;

  private constructor(
    private readonly db: DatabaseSync,
    readonly file: string,
  ) {
    this.insertRequest = db.prepare(
      `INSERT INTO requests (started_at, model, requested, endpoint, status, error_code, client, prompt_tokens, completion_tokens, cached_tokens, ttft_ms, total_ms, tokens_per_second, streamed)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.insertRun = db.prepare('INSERT INTO engine_runs (model, started_at, ready_at, stopped_at, seen_at) VALUES (?, ?, ?, ?, ?)');
    this.updateRun = db.prepare('UPDATE engine_runs SET ready_at = ?, stopped_at = ?, seen_at = ? WHERE id = ?');
  }

  /**
   * Opens (or creates) the database and brings its schema up to date. Throws UnusableDatabaseError
   * for a file that is corrupt, locked by another process, or from a newer LLM Manager.
   */
  static open(file: string, now = Date.now()): UsageStore {
    const lib = loadSqlite();
    if (!lib) throw new Error('node:sqlite is not available in this Node');
    let db: DatabaseSync | null = null;
    try {
      const fresh = !fs.existsSync(file) || fs.statSync(file).size === 0;
      db = new lib.DatabaseSync(file, { timeout: 1000 });
      // Before the first table: lets pruning give space back to the file system.
      if (fresh) db.exec('PRAGMA auto_vacuum = INCREMENTAL');
      const mode = db.prepare('PRAGMA journal_mode = WAL').get() as { journal_mode?: string } | undefined;
      if (mode?.journal_mode !== 'wal') throw new UnusableDatabaseError(`couldn't switch ${file} to WAL mode (got ${String(mode?.journal_mode)})`, 'locked');
      // WAL + NORMAL: a crash of this process loses nothing committed; a power cut at most the last batches.
      db.exec('PRAGMA synchronous = NORMAL');
      const check = db.prepare('PRAGMA quick_check(1)').get() as { quick_check?: string } | undefined;
      if (check?.quick_check !== 'ok') throw new UnusableDatabaseError(`${file} is damaged: ${String(check?.quick_check)}`, 'corrupt');
      migrate(db, file);
      const store = new UsageStore(db, file);
      store.closeOpenRuns(now);
      return store;
    } catch (err) {
      try {
        db?.close();
      } catch {
        // already unusable
      }
      throw classify(err, file);
    }
  }

  insert(records: readonly UsageRecord[]): void {
    this.transaction(() => {
      for (const r of records) {
        this.insertRequest.run(
          r.startedAt, r.model, r.requested, r.endpoint, r.status, r.errorCode, r.client,
          r.promptTokens, r.completionTokens, r.cachedTokens, r.ttftMs, r.totalMs, r.tokensPerSecond, r.streamed ? 1 : 0,
        );
      }
    });
  }

  /** Writes runs (id null: new, given an id here), and marks the open ones seen at `now`. */
  writeRuns(runs: readonly { id: number | null; run: EngineRunRecord }[], now: number): number[] {
    const ids: number[] = [];
    this.transaction(() => {
      for (const { id, run } of runs) {
        const seen = run.stoppedAt === null ? now : null;
        if (id === null) ids.push(Number(this.insertRun.run(run.model, run.startedAt, run.readyAt, run.stoppedAt, seen).lastInsertRowid));
        else {
          this.updateRun.run(run.readyAt, run.stoppedAt, seen, id);
          ids.push(id);
        }
      }
    });
    return ids;
  }

  /** Runs a previous process left open (it was killed) end when it was last seen alive. */
  private closeOpenRuns(now: number): void {
    this.db.prepare('UPDATE engine_runs SET stopped_at = MIN(?, COALESCE(seen_at, ready_at, started_at)) WHERE stopped_at IS NULL').run(now);
  }

  /** Whole 15-minute slices per model and client, for [from, to). */
  slices(filter: RowFilter): SliceRow[] {
    const { where, params } = whereOf(filter);
    return this.db
      .prepare(
        `SELECT started_at / ${SLICE_MS} AS slice, model, client, COUNT(*) AS requests,
           SUM(CASE WHEN ${FAILED} THEN 1 ELSE 0 END) AS failed,
           TOTAL(prompt_tokens) AS promptTokens, TOTAL(completion_tokens) AS completionTokens, TOTAL(cached_tokens) AS cachedTokens,
           TOTAL(CASE WHEN tokens_per_second > 0 AND completion_tokens > 0 THEN completion_tokens END) AS genTokens,
           TOTAL(CASE WHEN tokens_per_second > 0 AND completion_tokens > 0 THEN completion_tokens / tokens_per_second END) AS genSeconds,
           TOTAL(total_ms) AS totalMs, TOTAL(ttft_ms) AS ttftMs, COUNT(ttft_ms) AS ttftCount
         FROM requests WHERE ${where} GROUP BY slice, model, client ORDER BY slice`,
      )
      .all(...params) as unknown as SliceRow[];
  }

  /** Every request's tokens of `models` in [from, to), oldest first: what token tiers are applied to. */
  *tokens(models: readonly string[], from: number, to: number): Generator<{ at: number; model: string; client: string; prompt: number; completion: number }> {
    if (models.length === 0) return;
    const statement = this.db.prepare(
      `SELECT started_at AS at, model, client, COALESCE(prompt_tokens, 0) AS prompt, COALESCE(completion_tokens, 0) AS completion FROM requests
       WHERE model IN (${models.map(() => '?').join(', ')}) AND started_at >= ? AND started_at < ? AND (prompt_tokens > 0 OR completion_tokens > 0)
       ORDER BY started_at, id`,
    );
    yield* statement.iterate(...models, from, to) as Iterable<{ at: number; model: string; client: string; prompt: number; completion: number }>;
  }

  /** Each of `models`' prompt + completion tokens in [from, to), summed in SQLite (the tier position before a range). */
  tokenSums(models: readonly string[], from: number, to: number): { model: string; tokens: number }[] {
    if (models.length === 0 || from >= to) return [];
    return this.db
      .prepare(
        `SELECT model, SUM(COALESCE(prompt_tokens, 0) + COALESCE(completion_tokens, 0)) AS tokens FROM requests
         WHERE model IN (${models.map(() => '?').join(', ')}) AND started_at >= ? AND started_at < ? GROUP BY model`,
      )
      .all(...models, from, to) as unknown as { model: string; tokens: number }[];
  }

  /** Engine runs that overlap [from, to). */
  runs(from: number, to: number): RunRow[] {
    return (this.db
      .prepare('SELECT id, model, started_at AS startedAt, ready_at AS readyAt, stopped_at AS stoppedAt FROM engine_runs WHERE started_at < ? AND (stopped_at IS NULL OR stopped_at > ?) ORDER BY started_at')
      .all(to, from) as unknown as RunRow[]);
  }

  /** Requests newest first (by start), `limit` of them, after the one with id `before`. */
  requests(filter: RowFilter, limit: number, before?: number): RequestRow[] {
    const { where, params } = whereOf(filter);
    // After the cursor's row in (started_at, id) order, newest first.
    const page = before === undefined ? '' : ' AND (started_at, id) < ((SELECT started_at FROM requests WHERE id = ?), ?)';
    return (this.db
      .prepare(`SELECT * FROM requests WHERE ${where}${page} ORDER BY started_at DESC, id DESC LIMIT ?`)
      .all(...params, ...(before === undefined ? [] : [before, before]), limit) as unknown as DbRequest[]).map(fromDb);
  }

  /** Every matching request, oldest first (the CSV export). */
  *eachRequest(filter: RowFilter): Generator<RequestRow> {
    const { where, params } = whereOf(filter);
    for (const row of this.db.prepare(`SELECT * FROM requests WHERE ${where} ORDER BY started_at, id`).iterate(...params)) yield fromDb(row as unknown as DbRequest);
  }

  /** Deletes requests that started in [from, to), and runs that started then. */
  deleteRange(from: number, to: number): { requests: number; runs: number } {
    let requests = 0;
    let runs = 0;
    this.transaction(() => {
      requests = Number(this.db.prepare('DELETE FROM requests WHERE started_at >= ? AND started_at < ?').run(from, to).changes);
      runs = Number(this.db.prepare('DELETE FROM engine_runs WHERE started_at >= ? AND started_at < ? AND stopped_at IS NOT NULL').run(from, to).changes);
    });
    this.db.exec('PRAGMA incremental_vacuum');
    return { requests, runs };
  }

  /** Bytes the data takes (pages in use; free pages are reused before the file grows). */
  usedBytes(): number {
    const pages = (this.db.prepare('PRAGMA page_count').get() as { page_count: number }).page_count;
    const free = (this.db.prepare('PRAGMA freelist_count').get() as { freelist_count: number }).freelist_count;
    const size = (this.db.prepare('PRAGMA page_size').get() as { page_size: number }).page_size;
    return (pages - free) * size;
  }

  oldest(): number | null {
    const row = this.db.prepare('SELECT MIN(started_at) AS at FROM requests').get() as { at: number | null };
    return row.at;
  }

  count(): number {
    return Number((this.db.prepare('SELECT COUNT(*) AS n FROM requests').get() as { n: number }).n);
  }

  /**
   * Retention: requests and finished runs older than keepDays go; then, while the data is over
   * maxMb, the oldest requests (a share sized from the average row) until it is under 90 % of it.
   */
  prune(keepDays: number, maxMb: number, now: number): number {
    const cutoff = now - keepDays * 86_400_000;
    let deleted = this.deleteRange(Number.MIN_SAFE_INTEGER, cutoff).requests;
    const limit = maxMb * 1024 * 1024;
    for (let round = 0; round < 8; round++) {
      const used = this.usedBytes();
      if (used <= limit) break;
      const rows = this.count();
      if (rows === 0) break;
      const excess = used - limit * 0.9;
      const n = Math.max(1, Math.min(rows, Math.ceil((excess / used) * rows)));
      deleted += Number(this.db.prepare('DELETE FROM requests WHERE id IN (SELECT id FROM requests ORDER BY started_at, id LIMIT ?)').run(n).changes);
      this.db.exec('PRAGMA incremental_vacuum');
    }
    return deleted;
  }

  close(): void {
    try {
      this.db.close();
    } catch {
      // closed already
    }
  }

  private transaction(run: () => void): void {
    this.db.exec('BEGIN IMMEDIATE');
    try {
      run();
      this.db.exec('COMMIT');
    } catch (err) {
      try {
        this.db.exec('ROLLBACK');
      } catch {
        // no transaction left to roll back
      }
      throw err;
    }
  }
}

function migrate(db: DatabaseSync, file: string): void {
  db.exec('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)');
  const row = db.prepare('SELECT MAX(version) AS version FROM schema_version').get() as { version: number | null };
  const version = row.version ?? 0;
  if (version > SCHEMA_VERSION) {
    throw new UnusableDatabaseError(`${file} was written by a newer LLM Manager (schema ${version}; this one knows ${SCHEMA_VERSION})`, 'newer');
  }
  for (let v = version; v < SCHEMA_VERSION; v++) {
    db.exec('BEGIN IMMEDIATE');
    try {
      db.exec(MIGRATIONS[v]!);
      db.prepare('DELETE FROM schema_version').run();
      db.prepare('INSERT INTO schema_version (version) VALUES (?)').run(v + 1);
      db.exec('COMMIT');
    } catch (err) {
      db.exec('ROLLBACK');
      throw err;
    }
  }
}

/** SQLITE_BUSY, SQLITE_LOCKED; SQLITE_CORRUPT, SQLITE_NOTADB (primary result codes). */
const LOCKED_CODES = new Set([5, 6]);
const CORRUPT_CODES = new Set([11, 26]);

/** The SQLite result code of a node:sqlite error, if it is one. */
export function sqliteCode(err: unknown): number | null {
  const code = (err as { errcode?: unknown } | null)?.errcode;
  return typeof code === 'number' ? code & 0xff : null;
}

function classify(err: unknown, file: string): Error {
  if (err instanceof UnusableDatabaseError) return err;
  const code = sqliteCode(err);
  const message = (err as Error)?.message ?? String(err);
  if (code !== null && CORRUPT_CODES.has(code)) return new UnusableDatabaseError(`${file} is damaged (${message})`, 'corrupt');
  if (code !== null && LOCKED_CODES.has(code)) return new UnusableDatabaseError(`${file} is locked by another process (${message})`, 'locked');
  return err instanceof Error ? err : new Error(message);
}

/** Whether an error met while using an open database means the file is unusable (moved aside then). */
export function isUnusable(err: unknown): boolean {
  const code = sqliteCode(err);
  return code !== null && CORRUPT_CODES.has(code);
}

interface DbRequest {
  id: number;
  started_at: number;
  model: string;
  requested: string;
  endpoint: string;
  status: number;
  error_code: string | null;
  client: string;
  prompt_tokens: number | null;
  completion_tokens: number | null;
  cached_tokens: number | null;
  ttft_ms: number | null;
  total_ms: number;
  tokens_per_second: number | null;
  streamed: number;
}

function fromDb(r: DbRequest): RequestRow {
  return {
    id: r.id,
    startedAt: r.started_at,
    model: r.model,
    requested: r.requested,
    endpoint: r.endpoint,
    status: r.status,
    errorCode: r.error_code,
    client: r.client,
    promptTokens: r.prompt_tokens,
    completionTokens: r.completion_tokens,
    cachedTokens: r.cached_tokens,
    ttftMs: r.ttft_ms,
    totalMs: r.total_ms,
    tokensPerSecond: r.tokens_per_second,
    streamed: r.streamed === 1,
  };
}

function whereOf(filter: RowFilter): { where: string; params: (string | number)[] } {
  const parts = ['started_at >= ?', 'started_at < ?'];
  const params: (string | number)[] = [filter.from, filter.to];
  if (filter.model !== undefined) {
    parts.push('model = ?');
    params.push(filter.model);
  }
  if (filter.client !== undefined) {
    parts.push('client = ?');
    params.push(filter.client);
  }
  if (filter.failed === true) parts.push(FAILED);
  return { where: parts.join(' AND '), params };
}
