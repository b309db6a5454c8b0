// The usage ledger on a real SQLite file: batched writes, migration from an older schema,
// retention by days and by size, kill -9 in the middle of writing, a damaged or locked file moved
// aside, usage off, and engine runs from the supervisor's state events.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { UsageSettings } from '../../src-shared/config.js';
import type { ModelInfo } from '../../src-shared/contract.js';
import type { Logger } from '../../src-main/core/logger.js';
import { UsageLedger } from '../../src-main/core/usage/ledger.js';
import type { UsageRecord } from '../../src-main/core/usage/record.js';
import { SCHEMA_VERSION } from '../../src-main/core/usage/store.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
/** A Node without node:sqlite (20), where this machine has one: NODE20_PATH, else the system's node if it is one. */
const NODE_WITHOUT_SQLITE = [process.env['NODE20_PATH'], '/usr/bin/node', '/usr/local/bin/node'].find((p) => {
  if (!p || !fs.existsSync(p)) return false;
  const major = Number(/^v(\d+)/.exec(spawnSync(p, ['--version'], { encoding: 'utf8' }).stdout ?? '')?.[1]);
  return major > 0 && major < 22;
});
const dirs: string[] = [];
const ledgers: UsageLedger[] = [];

afterEach(async () => {
  for (const l of ledgers.splice(0)) await l.close();
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function tempFile(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'llm-manager-usage-'));
  dirs.push(dir);
  return path.join(dir, 'usage.sqlite');
}

function rec(over: Partial<UsageRecord> = {}): UsageRecord {
  return { startedAt: Date.now(), model: 'qwen', requested: 'qwen', endpoint: '/v1/chat/completions', status: 200, errorCode: null, client: 'app', promptTokens: 10, completionTokens: 20, cachedTokens: null, ttftMs: 5, totalMs: 50, tokensPerSecond: 40, streamed: false, ...over };
}

function logs() {
  const lines: string[] = [];
  const logger: Logger = { debug() {}, info: (m) => lines.push(m), warn: (m) => lines.push(m), error: (m) => lines.push(m) };
  return { lines, logger };
}

function ledgerFor(file: string, settings: UsageSettings | null = { keepDays: 365, maxMb: 200, currency: 'USD' }, more: { flushMs?: number; now?: () => number } = {}) {
  const { lines, logger } = logs();
  const ledger = new UsageLedger({ file, settings: () => settings, prices: () => ({}), logger, ...more });
  ledgers.push(ledger);
  return { ledger, lines };
}

function count(file: string, table = 'requests'): number {
  const db = new DatabaseSync(file, { readOnly: true });
  try {
    return Number((db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n);
  } finally {
    db.close();
  }
}

async function until<T>(what: string, check: () => T | null | undefined | false, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('usage ledger', () => {
  it('record() only queues; one batch reaches the file within about a second', async () => {
    const file = tempFile();
    const { ledger } = ledgerFor(file);
    await ledger.open();
    await ledger.ready();
    for (let i = 0; i < 3; i++) ledger.record(rec({ startedAt: 1000 + i }));
    expect(count(file)).toBe(0);
    const queuedAt = Date.now();
    await until('the batch', () => count(file) === 3);
    expect(Date.now() - queuedAt).toBeLessThan(2000);
    const db = new DatabaseSync(file, { readOnly: true });
    expect((db.prepare('PRAGMA journal_mode').get() as { journal_mode: string }).journal_mode).toBe('wal');
    expect((db.prepare('SELECT version FROM schema_version').get() as { version: number }).version).toBe(SCHEMA_VERSION);
    db.close();
  });

  it('SQLite is loaded and the file made only on the first write', async () => {
    const file = tempFile();
    const { ledger } = ledgerFor(file);
    await ledger.open();
    expect(ledger.status().state).toBe('on');
    expect(fs.existsSync(file)).toBe(false);
    ledger.record(rec());
    await until('the first write', () => fs.existsSync(file) && count(file) === 1);
  });

  it('migrates a database of schema 1 and keeps its requests', async () => {
    const file = tempFile();
    const at = Date.now() - 60_000;
    const old = new DatabaseSync(file);
    old.exec(`CREATE TABLE schema_version (version INTEGER NOT NULL); INSERT INTO schema_version VALUES (1);
      CREATE TABLE requests (id INTEGER PRIMARY KEY, started_at INTEGER NOT NULL, model TEXT NOT NULL, requested TEXT NOT NULL, endpoint TEXT NOT NULL, status INTEGER NOT NULL, error_code TEXT, client TEXT NOT NULL, prompt_tokens INTEGER, completion_tokens INTEGER, cached_tokens INTEGER, ttft_ms REAL, total_ms REAL NOT NULL, tokens_per_second REAL, streamed INTEGER NOT NULL);
      CREATE INDEX requests_started_at ON requests (started_at);
      INSERT INTO requests (started_at, model, requested, endpoint, status, client, prompt_tokens, completion_tokens, total_ms, streamed) VALUES (${at}, 'old', 'old', '/v1/completions', 200, 'x', 1, 2, 30, 0);`);
    old.close();
    const { ledger } = ledgerFor(file);
    await ledger.open();
    await ledger.ready();
    expect(ledger.status().state).toBe('on');
    const page = await ledger.requests({ from: at, to: at + 1 });
    expect(page.requests.map((r) => [r.model, r.promptTokens, r.completionTokens])).toEqual([['old', 1, 2]]);
    const db = new DatabaseSync(file, { readOnly: true });
    expect((db.prepare('SELECT version FROM schema_version').get() as { version: number }).version).toBe(2);
    expect(db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'engine_runs'").get()).toBeTruthy();
    db.close();
  });

  it('a file from a newer version is moved aside, not altered', async () => {
    const file = tempFile();
    const newer = new DatabaseSync(file);
    newer.exec('CREATE TABLE schema_version (version INTEGER NOT NULL); INSERT INTO schema_version VALUES (99);');
    newer.close();
    const { ledger, lines } = ledgerFor(file);
    await ledger.open();
    await ledger.ready();
    const status = ledger.status();
    expect(status.state).toBe('on');
    expect(status.movedAside).toMatch(/usage\.sqlite\.newer-/);
    expect(lines.join('\n')).toContain('written by a newer LLM Manager');
  });

  it('retention: keep_days deletes older requests; max_mb deletes the oldest until the data fits', async () => {
    const file = tempFile();
    const now = Date.UTC(2025, 5, 1);
    const { ledger } = ledgerFor(file, { keepDays: 10, maxMb: 1, currency: 'USD' }, { now: () => now });
    await ledger.open();
    await ledger.ready();
    ledger.record(rec({ startedAt: now - 11 * 86_400_000, model: 'too-old' }));
    for (let i = 0; i < 12_000; i++) ledger.record(rec({ startedAt: now - 9 * 86_400_000 + i * 1000, requested: `a-fairly-long-alias-name-to-fill-pages-${i}` }));
    ledger.flush();
    expect(count(file)).toBe(12_001);
    // The hourly maintenance, run now.
    (ledger as unknown as { maintain(): void }).maintain();
    const db = new DatabaseSync(file, { readOnly: true });
    const left = db.prepare("SELECT COUNT(*) AS n, MIN(started_at) AS oldest, SUM(model = 'too-old') AS old FROM requests").get() as { n: number; oldest: number; old: number };
    const used = ((db.prepare('PRAGMA page_count').get() as { page_count: number }).page_count - (db.prepare('PRAGMA freelist_count').get() as { freelist_count: number }).freelist_count) * (db.prepare('PRAGMA page_size').get() as { page_size: number }).page_size;
    db.close();
    expect(left.old).toBe(0);
    expect(left.n).toBeGreaterThan(1000);
    expect(left.n).toBeLessThan(12_000);
    expect(used).toBeLessThanOrEqual(1024 * 1024);
    // The newest were kept.
    expect(left.oldest).toBeGreaterThan(now - 9 * 86_400_000);
    const newest = await ledger.requests({ from: 0, to: now + 1, limit: 1 });
    expect(newest.requests[0]!.requested).toBe('a-fairly-long-alias-name-to-fill-pages-11999');
  });

  it('kill -9 while writing: the file opens and holds every batch the writer reported committed', async () => {
    const file = tempFile();
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(REPO, 'test/fixtures/usage-writer.ts'), file], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    const exited = new Promise((resolve) => child.once('exit', resolve));
    try {
      await until(`20 batches (stderr: ${err})`, () => (out.match(/committed (\d+)/g)?.length ?? 0) >= 20, 20_000);
    } finally {
      child.kill('SIGKILL');
      await exited;
    }
    const reported = Math.max(...[...out.matchAll(/committed (\d+)/g)].map((m) => Number(m[1])));
    const { ledger } = ledgerFor(file);
    await ledger.open();
    await ledger.ready();
    expect(ledger.status()).toMatchObject({ state: 'on', movedAside: null });
    const n = count(file);
    expect(n).toBeGreaterThanOrEqual(reported);
    expect(n % 50).toBe(0); // whole batches only
  });

  it('a damaged file is reported and moved aside; a fresh database takes over', async () => {
    const file = tempFile();
    fs.writeFileSync(file, Buffer.alloc(8192, 'not a database '));
    const { ledger, lines } = ledgerFor(file);
    await ledger.open();
    await ledger.ready();
    const status = ledger.status();
    expect(status.state).toBe('on');
    expect(status.movedAside).toMatch(/usage\.sqlite\.corrupt-\d{4}-/);
    expect(status.message).toContain('moved to');
    expect(fs.readFileSync(status.movedAside!).subarray(0, 15).toString()).toBe('not a database ');
    expect(lines.some((l) => l.includes('damaged') && l.includes('moved to'))).toBe(true);
    ledger.record(rec());
    ledger.flush();
    expect(count(file)).toBe(1);
  });

  it('a file another process holds locked is reported and moved aside', async () => {
    const file = tempFile();
    const holder = new DatabaseSync(file);
    holder.exec('PRAGMA locking_mode = EXCLUSIVE; CREATE TABLE t (x); BEGIN EXCLUSIVE; INSERT INTO t VALUES (1);');
    try {
      const { ledger } = ledgerFor(file);
      await ledger.open();
    await ledger.ready();
      const status = ledger.status();
      expect(status.state).toBe('on');
      expect(status.movedAside).toMatch(/usage\.sqlite\.locked-/);
      expect(status.message).toContain('locked by another process');
    } finally {
      holder.close();
    }
  });

  it('usage off: no file, nothing kept, the metrics still count', async () => {
    const file = tempFile();
    const { ledger } = ledgerFor(file, null);
    await ledger.open();
    await ledger.ready();
    ledger.record(rec());
    ledger.flush();
    expect(fs.existsSync(file)).toBe(false);
    expect(ledger.status()).toMatchObject({ state: 'off', path: null });
    expect((await ledger.report()).totals.requests).toBe(0);
    expect(ledger.metrics.render()).toContain('llm_manager_completion_tokens_total{model="qwen"} 20');
  });

  it('engine runs from model events: spawn to exit, ready time kept', async () => {
    const file = tempFile();
    const { ledger } = ledgerFor(file);
    await ledger.open();
    await ledger.ready();
    const info = (state: ModelInfo['state'], startedAt: number | null, readyAt: number | null) =>
      ({ name: 'qwen', state, startedAt: startedAt === null ? null : new Date(startedAt).toISOString(), readyAt: readyAt === null ? null : new Date(readyAt).toISOString() }) as ModelInfo;
    const t0 = Date.now() - 10_000;
    ledger.onEvent({ type: 'model', model: info('starting', t0, null) });
    ledger.onEvent({ type: 'model', model: info('ready', t0, t0 + 2000) });
    ledger.onEvent({ type: 'model', model: info('ready', t0, t0 + 2000) });
    ledger.flush();
    const db = () => new DatabaseSync(file, { readOnly: true });
    let d = db();
    expect(d.prepare('SELECT model, started_at, ready_at, stopped_at FROM engine_runs').all().map((r) => ({ ...r }))).toEqual([{ model: 'qwen', started_at: t0, ready_at: t0 + 2000, stopped_at: null }]);
    d.close();
    ledger.onEvent({ type: 'model', model: info('stopping', t0, t0 + 2000) });
    ledger.onEvent({ type: 'model', model: info('stopped', t0, null) });
    ledger.flush();
    d = db();
    const run = d.prepare('SELECT started_at, stopped_at FROM engine_runs').get() as { started_at: number; stopped_at: number };
    d.close();
    expect(run.stopped_at).toBeGreaterThanOrEqual(t0 + 10_000);
    expect(count(file, 'engine_runs')).toBe(1);
  });

  it.skipIf(!NODE_WITHOUT_SQLITE)('on a Node without node:sqlite (20) usage is off with one clear line, never a crash', () => {
    const file = tempFile();
    const run = spawnSync(NODE_WITHOUT_SQLITE!, ['--import', 'tsx', path.join(REPO, 'test/fixtures/usage-without-sqlite.ts'), file], { cwd: REPO, encoding: 'utf8', timeout: 30_000 });
    expect(run.status, run.stderr).toBe(0);
    const out = JSON.parse(run.stdout.trim()) as { version: string; status: { state: string; message: string }; lines: string[]; requests: number };
    expect(out.version).toMatch(/^v(1\d|2[01])\./);
    expect(out.status.state).toBe('unavailable');
    expect(out.lines).toEqual([out.status.message]);
    expect(out.lines[0]).toMatch(/^usage recording is off: this Node \(v\d+[^)]*\) has no built-in SQLite/);
    expect(out.requests).toBe(0);
    expect(fs.existsSync(file)).toBe(false);
  });
});
