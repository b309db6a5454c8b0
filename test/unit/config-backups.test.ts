// Saved versions of config.yaml (issue #12, item 3): each save keeps the version it replaces as
// config.yaml.bak, the older ones shift to .bak.1 … .bak.9, and a failed rotation loses nothing.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { saveConfigText, ConfigError } from '../../src-main/core/config/load.js';
import { BACKUP_COUNT, backupIndex, backupPath, listBackupFiles } from '../../src-main/core/config/backups.js';
import { ApiError } from '../../src-shared/errors.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

function configFile(text: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'llm-manager-backups-'));
  dirs.push(dir);
  const file = path.join(dir, 'config.yaml');
  fs.writeFileSync(file, text);
  return file;
}

/** Version n of a valid config: its port tells the versions apart. */
const version = (n: number) => `Local-Models:\n  m:\n    port: ${10_000 + n}\n    P:\n      command: node\n`;

describe('config backups', () => {
  it(`keeps the last ${BACKUP_COUNT} saved versions, newest as config.yaml.bak`, () => {
    const file = configFile(version(0));
    for (let n = 1; n <= 14; n++) saveConfigText(file, version(n));
    expect(fs.readFileSync(file, 'utf8')).toBe(version(14));
    const names = fs.readdirSync(path.dirname(file)).sort();
    expect(names).toEqual(['config.yaml', 'config.yaml.bak', ...Array.from({ length: 9 }, (_, i) => `config.yaml.bak.${i + 1}`)].sort());
    // .bak holds version 13 (the one replaced last), .bak.9 version 4; 0-3 are gone.
    for (let i = 0; i < BACKUP_COUNT; i++) expect(fs.readFileSync(backupPath(file, i), 'utf8'), `backup ${i}`).toBe(version(13 - i));
    expect(listBackupFiles(file).map((b) => b.id)).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
  });

  it('dates each backup by when its version was saved, not when it was replaced', () => {
    const file = configFile(version(0));
    const savedAt = new Date('2024-03-01T12:00:00Z');
    fs.utimesSync(file, savedAt, savedAt);
    saveConfigText(file, version(1));
    expect(listBackupFiles(file)).toEqual([{ id: '0', path: `${file}.bak`, savedAt, sizeBytes: Buffer.byteLength(version(0)) }]);
  });

  it('saving the same text again adds no copy, nor does a file copied back from its newest backup', () => {
    const file = configFile(version(0));
    saveConfigText(file, version(1));
    saveConfigText(file, version(1));
    expect(listBackupFiles(file).map((b) => fs.readFileSync(b.path, 'utf8'))).toEqual([version(0)]);
    fs.copyFileSync(`${file}.bak`, file); // put back by hand
    saveConfigText(file, version(2));
    expect(listBackupFiles(file).map((b) => fs.readFileSync(b.path, 'utf8'))).toEqual([version(0)]);
    saveConfigText(file, version(3));
    expect(listBackupFiles(file).map((b) => fs.readFileSync(b.path, 'utf8'))).toEqual([version(2), version(0)]);
  });

  it('a rotation that fails writes nothing and loses no version', () => {
    const file = configFile(version(0));
    for (let n = 1; n <= 4; n++) saveConfigText(file, version(n));
    fs.mkdirSync(backupPath(file, 5)); // something in the way of the shift
    const before = listBackupFiles(file).map((b) => fs.readFileSync(b.path, 'utf8'));
    let error: unknown;
    try {
      saveConfigText(file, version(5));
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toMatch(/could not keep the previous version as config\.yaml\.bak: is a folder \(EISDIR\)$/);
    expect(fs.readFileSync(file, 'utf8')).toBe(version(4));
    expect(listBackupFiles(file).map((b) => fs.readFileSync(b.path, 'utf8'))).toEqual(before);
    expect(fs.readdirSync(path.dirname(file)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('takes a backup id of one digit only: no path can be smuggled in', () => {
    expect(backupIndex('0')).toBe(0);
    expect(backupIndex('9')).toBe(9);
    for (const id of ['10', '-1', '1.0', '../config.yaml', '..%2F..%2Fetc%2Fpasswd', '/etc/passwd', '0/../../x', ' 1', '', 'bak', 7]) {
      expect(() => backupIndex(id), String(id)).toThrow(ApiError);
    }
  });
});
