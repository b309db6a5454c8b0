// Engine output in a Windows console code page (recorded bytes, not re-encoded here) reads as the
// engine meant it, in the ring buffer and in the log file; UTF-8 output is untouched.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeLine, engineFallbackEncoding, LineSplitter, parseChcp } from '../../src-main/core/logs/engine-text.js';
import { ModelLog } from '../../src-main/core/logs/model-log.js';
import { codePageEncoding, encodingName } from '../../src-shared/encodings.js';
import { parseConfigText } from '../../src-shared/config.js';

// '模型加载' (model loading) in GBK / CP936, as a Chinese Windows console prints it.
const GBK_MODEL_LOADING = Buffer.from('c4a3d0cdbcd3d4d8', 'hex');
// cmd.exe's "系统找不到指定的路径。" (the system cannot find the path specified) in CP936.
const GBK_PATH_NOT_FOUND = Buffer.from('cfb5cdb3d5d2b2bbb5bdd6b8b6a8b5c4c2b7beb6a1a3', 'hex');
// 'D:\模型\qwen.gguf' in CP936: ASCII bytes stay ASCII.
const GBK_PATH = Buffer.from('443a5cc4a3d0cd5c7177656e2e67677566', 'hex');
// 'モデル' in Shift_JIS (CP932).
const SJIS_MODEL = Buffer.from('83828366838b', 'hex');

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const lines = (...chunks: Buffer[]) => Buffer.concat(chunks);
const nl = Buffer.from('\r\n');

describe('decoding engine output', () => {
  it('reads GBK bytes with the console code page, and UTF-8 as UTF-8 on the same stream', () => {
    const log = new ModelLog('m', null, { fallbackEncoding: () => 'gbk' });
    log.write('stderr', lines(Buffer.from('loading '), GBK_PATH, nl, GBK_MODEL_LOADING, nl, Buffer.from('模型加载 done\n', 'utf8'), GBK_PATH_NOT_FOUND, nl));
    expect(log.tailText(10)).toEqual(['loading D:\\模型\\qwen.gguf', '模型加载', '模型加载 done', '系统找不到指定的路径。']);
  });

  it('joins a multi-byte character cut between two chunks, in GBK and in UTF-8', () => {
    const log = new ModelLog('m', null, { fallbackEncoding: () => 'gbk' });
    // 模 = C4 A3: the first chunk ends after C4.
    log.write('stdout', GBK_MODEL_LOADING.subarray(0, 1));
    log.write('stdout', lines(GBK_MODEL_LOADING.subarray(1), nl));
    const utf8 = Buffer.from('模型加载\n', 'utf8'); // 模 = E6 A8 A1
    for (const cut of [1, 2]) {
      log.write('stdout', utf8.subarray(0, cut));
      log.write('stdout', utf8.subarray(cut));
    }
    expect(log.tailText(10)).toEqual(['模型加载', '模型加载', '模型加载']);
    expect(log.tailText(10).join('')).not.toContain('\uFFFD');
  });

  it('writes the decoded text to the log file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'llm-enc-'));
    dirs.push(dir);
    const log = ModelLog.inDir('qwen', dir, { fallbackEncoding: () => 'gbk' });
    log.write('stderr', lines(GBK_PATH_NOT_FOUND, nl));
    log.close();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(readFileSync(log.filePath!, 'utf8')).toContain('stderr 系统找不到指定的路径。');
  });

  it('without a fallback (Linux, macOS) invalid bytes become U+FFFD, and valid UTF-8 is never re-read', () => {
    const log = new ModelLog('m', null, 10);
    log.write('stdout', lines(GBK_MODEL_LOADING, Buffer.from('\nünïcödé ✓\n')));
    expect(log.tailText(10)[0]).toContain('\uFFFD');
    expect(log.tailText(10)[1]).toBe('ünïcödé ✓');
    expect(decodeLine(Buffer.from('ünïcödé', 'utf8'), 'windows-1252')).toBe('ünïcödé');
  });

  it('decodes other code pages by name', () => {
    expect(decodeLine(SJIS_MODEL, 'shift_jis')).toBe('モデル');
    expect(decodeLine(Buffer.from([0x63, 0x61, 0x66, 0xe9]), 'windows-1252')).toBe('café');
  });

  it('an unterminated last line is decoded when the process exits; a runaway line is cut without growing', () => {
    const splitter = new LineSplitter(() => 'gbk', 8);
    expect(splitter.push(GBK_MODEL_LOADING.subarray(0, 3))).toEqual([]);
    expect(splitter.push(GBK_MODEL_LOADING.subarray(3))).toEqual([]);
    expect(splitter.end()).toBe('模型加载');
    expect(splitter.end()).toBeNull();
    expect(splitter.push(Buffer.from('x'.repeat(20)))).toEqual(['x'.repeat(8), 'x'.repeat(8)]);
  });
});

describe('which encoding', () => {
  it('parses chcp in any language', () => {
    expect(parseChcp('Active code page: 936\r\n')).toBe(936);
    expect(parseChcp('活动代码页: 936')).toBe(936);
    expect(parseChcp('Page de codes active : 850.')).toBe(850);
    expect(parseChcp('nothing')).toBeNull();
  });

  it('maps code pages to TextDecoder names, and refuses the ones it would decode wrong', () => {
    expect(codePageEncoding(936)).toBe('gbk');
    expect(codePageEncoding(932)).toBe('shift_jis');
    expect(codePageEncoding(437)).toBeNull();
    expect(encodingName('cp936')).toBe('gbk');
    expect(encodingName('936')).toBe('gbk');
    expect(encodingName('GB2312')).toBe('gbk');
    expect(encodingName('windows-1251')).toBe('windows-1251');
    expect(encodingName('klingon')).toBeNull();
  });

  it('on Windows asks chcp once; program.engine_encoding wins; elsewhere nothing', async () => {
    let asked = 0;
    let setting: string | undefined;
    const fallback = engineFallbackEncoding({ setting: () => setting, platform: 'win32', chcp: async () => (asked++, 'Active code page: 936') });
    await new Promise((resolve) => setImmediate(resolve));
    expect(fallback()).toBe('gbk');
    expect(fallback()).toBe('gbk');
    expect(asked).toBe(1);
    setting = 'shift_jis';
    expect(fallback()).toBe('shift_jis');

    const utf8Console = engineFallbackEncoding({ setting: () => undefined, platform: 'win32', chcp: async () => 'Active code page: 65001' });
    await new Promise((resolve) => setImmediate(resolve));
    expect(utf8Console()).toBeNull();

    const linux = engineFallbackEncoding({ setting: () => undefined, platform: 'linux', chcp: async () => { throw new Error('not on Linux'); } });
    expect(linux()).toBeNull();
    expect(engineFallbackEncoding({ setting: () => 'cp936', platform: 'linux' })()).toBe('gbk');
  });

  it('program.engine_encoding is checked like any key', () => {
    const parse = (value: string) => parseConfigText(`program:\n  engine_encoding: "${value}"\nLocal-Models: {}\n`);
    const ok = parse('cp936');
    expect(ok.ok && ok.config.program.engineEncoding).toBe('gbk');
    const auto = parse('auto');
    expect(auto.ok && auto.config.program.engineEncoding).toBeUndefined();
    const bad = parse('klingon');
    expect(bad.ok).toBe(false);
    expect(!bad.ok && bad.errors[0]!.path).toBe('program.engine_encoding');
  });
});
