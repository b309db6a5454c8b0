// The last saved versions of config.yaml, next to it: `config.yaml.bak` is the newest (what README
// has always promised), then `config.yaml.bak.1` … `.bak.9`. Fixed names in the config's own
// folder: a user finds them beside the file, and ten of them bound the disk they take.
import fs from 'node:fs';
import { ApiError } from '../../../src-shared/errors.js';

export const BACKUP_COUNT = 10;

/** Backup `index` of `file` (the real file, symlinks resolved): 0 is the newest, `.bak`. */
export function backupPath(file: string, index: number): string {
  return index === 0 ? `${file}.bak` : `${file}.bak.${index}`;
}

/**
 * Keeps the version now in `file` as the newest backup, shifting the older ones down by one and
 * dropping the oldest. Nothing happens when the file holds `next` already, or what the newest
 * backup holds (saving the same text twice keeps ten different versions, not ten copies). Touches
 * only backup files: whatever fails here, `file` itself is as it was.
 */
export function keepBackup(file: string, next: string): void {
  const current = fs.readFileSync(file);
  if (current.equals(Buffer.from(next, 'utf8')) || sameBytes(backupPath(file, 0), current)) return;
  // Before moving anything: a folder in the way would be shifted along instead of refusing.
  for (let i = 0; i < BACKUP_COUNT; i++) {
    const p = backupPath(file, i);
    if (fs.lstatSync(p, { throwIfNoEntry: false })?.isDirectory()) {
      throw Object.assign(new Error(`${p} is a folder`), { code: 'EISDIR' });
    }
  }
  fs.rmSync(backupPath(file, BACKUP_COUNT - 1), { force: true });
  for (let i = BACKUP_COUNT - 2; i >= 0; i--) {
    try {
      fs.renameSync(backupPath(file, i), backupPath(file, i + 1));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  const stat = fs.statSync(file);
  const bak = backupPath(file, 0);
  fs.writeFileSync(bak, current, { mode: stat.mode & 0o777 });
  // The backup carries the time its version was saved, not the time it was replaced.
  fs.utimesSync(bak, stat.atime, stat.mtime);
}

function sameBytes(file: string, bytes: Buffer): boolean {
  try {
    const stat = fs.statSync(file);
    return stat.size === bytes.length && fs.readFileSync(file).equals(bytes);
  } catch {
    return false;
  }
}

export interface BackupFile {
  /** "0" (the newest, `.bak`) to "9". */
  id: string;
  path: string;
  savedAt: Date;
  sizeBytes: number;
}

/** The backups that exist, newest first. */
export function listBackupFiles(file: string): BackupFile[] {
  const out: BackupFile[] = [];
  for (let i = 0; i < BACKUP_COUNT; i++) {
    const p = backupPath(file, i);
    try {
      const stat = fs.statSync(p);
      if (stat.isFile()) out.push({ id: String(i), path: p, savedAt: stat.mtime, sizeBytes: stat.size });
    } catch {
      // not there (yet)
    }
  }
  return out;
}

/** A backup id as a client sent it: one digit, nothing else (so no path can be smuggled in). */
export function backupIndex(id: unknown): number {
  if (typeof id !== 'string' || !/^[0-9]$/.test(id) || Number(id) >= BACKUP_COUNT) {
    throw new ApiError(400, 'invalid_backup_id', `a backup id is a number 0-${BACKUP_COUNT - 1}, as GET /api/config/backups lists them`);
  }
  return Number(id);
}
