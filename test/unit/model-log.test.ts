import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ModelLog } from '../../src-main/core/logs/model-log.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('ModelLog', () => {
  it('splits chunks into lines, keeping a partial line until its newline arrives', () => {
    const log = new ModelLog('m', null, 10);
    log.write('stdout', 'hello wo');
    expect(log.tail()).toEqual([]);
    log.write('stdout', 'rld\r\nsecond\nthi');
    expect(log.tailText(10)).toEqual(['hello world', 'second']);
    log.flush();
    expect(log.tailText(10)).toEqual(['hello world', 'second', 'thi']);
  });

  it('keeps stdout and stderr partial lines apart', () => {
    const log = new ModelLog('m', null, 10);
    log.write('stdout', 'out-');
    log.write('stderr', 'err line\n');
    log.write('stdout', 'line\n');
    expect(log.tail().map((l) => [l.stream, l.text])).toEqual([
      ['stderr', 'err line'],
      ['stdout', 'out-line'],
    ]);
  });

  it('is a ring: keeps the last `capacity` lines with increasing sequence numbers', () => {
    const log = new ModelLog('m', null, 3);
    for (let i = 1; i <= 7; i++) log.system(`line ${i}`);
    expect(log.tail().map((l) => [l.seq, l.text])).toEqual([
      [5, 'line 5'],
      [6, 'line 6'],
      [7, 'line 7'],
    ]);
    expect(log.tailText(2)).toEqual(['line 6', 'line 7']);
    expect(log.tail(0)).toEqual([]);
  });

  it('tells listeners about every line and mirrors lines to its file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'llm-log-'));
    dirs.push(dir);
    const log = ModelLog.inDir('Qwen/14B: chat', dir);
    expect(log.filePath).toBe(join(dir, 'Qwen_14B_chat.log'));
    const seen: string[] = [];
    log.onLine((line) => seen.push(line.text));
    log.write('stderr', 'a\nb\n');
    log.system('ready');
    log.close();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(seen).toEqual(['a', 'b', 'ready']);
    const file = readFileSync(log.filePath!, 'utf8').trim().split('\n');
    expect(file).toHaveLength(3);
    expect(file[2]).toMatch(/^\d{4}-\d\d-\d\dT.* system ready$/);
  });

  it('never turns a model name into a path outside the log folder', () => {
    expect(ModelLog.fileNameFor('../../etc/passwd')).toBe('__.._etc_passwd.log');
    expect(ModelLog.fileNameFor('..')).toBe('_.log');
    expect(ModelLog.fileNameFor('')).toBe('model.log');
  });

  it('cuts a runaway line without a newline instead of growing forever', () => {
    const log = new ModelLog('m', null, 10);
    log.write('stdout', 'x'.repeat(40_000));
    const [line] = log.tail();
    expect(line!.text.length).toBeLessThanOrEqual(16 * 1024 + 1);
  });
});
