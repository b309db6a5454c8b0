// The GGUF header reader on small GGUF files written here (no real weights): typed key/values,
// big arrays skipped by their lengths, tensor infos summed for the parameter count, the
// quantisation's name, the model's kind, and files that are cut short, corrupt or not GGUF at all.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FILE_TYPES, GgufError, parseSizeLabel, quantFromFileName, readGgufHeader, summarizeGguf, summaryKeysRead } from '../../src-main/core/library/gguf.js';
import { ggufBytes, ggufHeaderOnly, modelKv, qwen7bTensors, qwenSizedKv, writeGguf, type GgufKv, type GgufSpec } from '../helpers/gguf-writer.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'llm-manager-gguf-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
let n = 0;
function file(spec: GgufSpec, name = `m${n++}.gguf`): string {
  const p = path.join(dir, name);
  writeGguf(p, spec);
  return p;
}
async function summary(spec: GgufSpec, name?: string) {
  const p = file(spec, name);
  return summarizeGguf(await readGgufHeader(p), path.basename(p), fs.statSync(p).size);
}

describe('readGgufHeader', () => {
  it('reads every value type, keeps small arrays and stubs big ones', async () => {
    const p = file({
      kv: [
        { key: 'general.architecture', type: 'string', value: 'llama' },
        { key: 'a.u8', type: 'u8', value: 200 },
        { key: 'a.i8', type: 'i8', value: -5 },
        { key: 'a.u16', type: 'u16', value: 60000 },
        { key: 'a.i16', type: 'i16', value: -300 },
        { key: 'a.u32', type: 'u32', value: 4_000_000_000 },
        { key: 'a.i32', type: 'i32', value: -70000 },
        { key: 'a.f32', type: 'f32', value: 0.5 },
        { key: 'a.bool', type: 'bool', value: true },
        { key: 'a.u64', type: 'u64', value: 2 ** 40 },
        { key: 'a.i64', type: 'i64', value: -(2 ** 40) },
        { key: 'a.f64', type: 'f64', value: 1.25 },
        { key: 'a.small', type: 'array', itemType: 'u32', values: [1, 2, 3] },
        { key: 'a.words', type: 'array', itemType: 'string', values: ['x', 'yz'] },
        { key: 'tokenizer.ggml.tokens', type: 'array', itemType: 'string', values: Array.from({ length: 50_000 }, (_, i) => `token-${i}`) },
        { key: 'tokenizer.ggml.scores', type: 'array', itemType: 'f32', values: Array.from({ length: 50_000 }, () => 0) },
        { key: 'general.name', type: 'string', value: 'after the arrays' },
      ],
      tensors: [{ name: 'token_embd.weight', dims: [8, 4] }, { name: 'output.weight', dims: [4, 2] }],
    });
    const h = await readGgufHeader(p);
    expect(h.version).toBe(3);
    expect(h.littleEndian).toBe(true);
    expect(h.tensorCount).toBe(2);
    expect(h.kvCount).toBe(17);
    expect(Object.fromEntries([...h.metadata].filter(([k]) => k.startsWith('a.')))).toEqual({
      'a.u8': 200, 'a.i8': -5, 'a.u16': 60000, 'a.i16': -300, 'a.u32': 4_000_000_000, 'a.i32': -70000, 'a.f32': 0.5, 'a.bool': true,
      'a.u64': 2 ** 40, 'a.i64': -(2 ** 40), 'a.f64': 1.25, 'a.small': [1, 2, 3], 'a.words': ['x', 'yz'],
    });
    expect(h.metadata.get('tokenizer.ggml.tokens')).toEqual({ arrayOf: 'string', length: 50_000 });
    expect(h.metadata.get('tokenizer.ggml.scores')).toEqual({ arrayOf: 'float32', length: 50_000 });
    expect(h.metadata.get('general.name')).toBe('after the arrays');
    expect(h.tensorElements).toBe(40);
  });

  it('reads v2 and big-endian files', async () => {
    for (const spec of [{ version: 2 as const }, { bigEndian: true }]) {
      const h = await readGgufHeader(file({ ...spec, kv: modelKv({ fileType: 15, context: 8192 }), tensors: [{ name: 't', dims: [3, 5] }] }));
      expect(h.version).toBe(spec.version ?? 3);
      expect(h.littleEndian).toBe(!spec.bigEndian);
      expect(h.metadata.get('llama.context_length')).toBe(8192);
      expect(h.metadata.get('general.file_type')).toBe(15);
      expect(h.tensorElements).toBe(15);
    }
  });

  it('never reads the weights: the bytes read stay near the header size on a file of 64 MB', async () => {
    const p = path.join(dir, 'big.gguf');
    const header = ggufBytes({ kv: modelKv({ fileType: 7, vocab: 20_000 }), tensors: [{ name: 't', dims: [4] }] });
    fs.writeFileSync(p, header);
    fs.truncateSync(p, 64 * 1024 * 1024); // sparse: 64 MB of "weights"
    const h = await readGgufHeader(p);
    expect(h.metadata.get('general.file_type')).toBe(7);
    expect(h.bytesRead).toBeLessThan(header.length + 1024 * 1024 + 1);
    expect(h.bytesRead).toBeLessThan(2 * 1024 * 1024);
  });

  it('stops at maxBytes with a clear error', async () => {
    const p = file({ kv: modelKv({ vocab: 20_000 }) });
    await expect(readGgufHeader(p, { maxBytes: 64 * 1024 })).rejects.toThrow(/header is larger than 65536 bytes/);
  });

  it('refuses what is not GGUF, too old, cut short or corrupt, with a GgufError that says so', async () => {
    const good = ggufBytes({ kv: modelKv({ fileType: 15, vocab: 500 }), tensors: [{ name: 't', dims: [4, 4] }] });
    const cases: [string, Buffer, RegExp][] = [
      ['empty', Buffer.alloc(0), /not a GGUF file \(0 bytes\)/],
      ['text', Buffer.from('hello world, not a model'), /not a GGUF file \(it starts with "hell"/],
      ['v1', Buffer.concat([Buffer.from('GGUF'), Buffer.from([1, 0, 0, 0]), Buffer.alloc(16)]), /version 1 .* too old/],
      ['v9', Buffer.concat([Buffer.from('GGUF'), Buffer.from([9, 0, 0, 0]), Buffer.alloc(16)]), /unsupported GGUF version 9/],
      ['magic only', Buffer.from('GGUF'), /truncated/],
      ['cut in the tokens', good.subarray(0, 900), /truncated/],
      ['cut in the tensor infos', good.subarray(0, good.length - 120), /truncated/],
      ['cut in the weights', good.subarray(0, good.length - 60), /cut short: its weights end at byte \d+, the file at \d+/],
    ];
    // A string length that claims more bytes than the file has.
    const corrupt = Buffer.from(good);
    corrupt.writeBigUInt64LE(2n ** 50n, 24); // the first key's length
    cases.push(['huge key length', corrupt, /corrupt|truncated/]);
    const badType = ggufBytes({ kv: [{ key: 'x', type: 'u32', value: 1 }] });
    badType.writeUInt32LE(77, 24 + 8 + 1); // the value type after key "x"
    cases.push(['unknown value type', badType, /unknown value type 77/]);
    for (const [name, bytes, message] of cases) {
      const p = path.join(dir, `bad-${name.replace(/\W/g, '_')}.gguf`);
      fs.writeFileSync(p, bytes);
      const err = await readGgufHeader(p).then(() => null, (e: unknown) => e);
      expect(err, name).toBeInstanceOf(GgufError);
      expect((err as Error).message, name).toMatch(message);
    }
  });

  it("a real model's header (Qwen2.5 7B Q4_K_M: 151k tokens, 151k merges, 339 tensors) on a sparse 4.7 GB file: read to its end, no further", async () => {
    const { header, dataBytes } = ggufHeaderOnly({ kv: qwenSizedKv(), tensors: qwen7bTensors() });
    const p = path.join(dir, 'qwen2.5-7b-instruct-q4_k_m.gguf');
    fs.writeFileSync(p, header);
    fs.truncateSync(p, header.length + dataBytes);
    const buffers: Buffer[] = [];
    const h = await readGgufHeader(p, { buffers });
    expect(h.metadata.get('tokenizer.ggml.tokens')).toEqual({ arrayOf: 'string', length: 151_936 });
    expect(h.metadata.get('tokenizer.ggml.merges')).toEqual({ arrayOf: 'string', length: 151_387 });
    expect(h.metadata.get('general.file_type')).toBe(15);
    expect(h.stoppedBefore).toBeNull();
    expect(h.bytesRead).toBeLessThan(header.length + 256 * 1024);
    expect(buffers).toHaveLength(1); // the read buffer, given back for the next file
    expect(summarizeGguf(h, path.basename(p), header.length + dataBytes)).toMatchObject({ parameters: 7_615_616_512, parametersSource: 'tensors', quantization: 'Q4_K_M', contextLength: 32_768 });
    fs.truncateSync(p, header.length + dataBytes - 1);
    await expect(readGgufHeader(p)).rejects.toThrow(/cut short/);
  });

  it('big-endian string arrays across many reads; a string length of 4 GB or more is corrupt', async () => {
    const words = Array.from({ length: 60_000 }, (_, i) => `piece-${i}`.repeat(1 + (i % 3)));
    const h = await readGgufHeader(file({ bigEndian: true, kv: [{ key: 'w', type: 'array', itemType: 'string', values: words }, { key: 'after', type: 'u32', value: 7 }] }));
    expect(h.metadata.get('w')).toEqual({ arrayOf: 'string', length: 60_000 });
    expect(h.metadata.get('after')).toBe(7);
    const bytes = ggufBytes({ kv: [{ key: 'w', type: 'array', itemType: 'string', values: words }] });
    // Item 3's length: after the header (24), the key (8 + 1), the types and count (4 + 4 + 8) and items 0-2.
    const item3 = 24 + 9 + 16 + words.slice(0, 3).reduce((sum, w) => sum + 8 + w.length, 0);
    bytes.writeUInt32LE(1, item3 + 4);
    const p = path.join(dir, 'long-string.gguf');
    fs.writeFileSync(p, bytes);
    await expect(readGgufHeader(p)).rejects.toThrow(/w: item 3 is a string of \d+ bytes: corrupt/);
  });

  it('stopBefore: the read ends before the key it says, the tokenizer unread', async () => {
    const kv = modelKv({ vocab: 20_000 });
    kv.splice(4, 0, { key: 'general.file_type', type: 'u32', value: 15 }, { key: 'general.parameter_count', type: 'u64', value: 1_500_000_000 });
    const p = file({ kv, tensors: [{ name: 't', dims: [4] }] });
    const h = await readGgufHeader(p, { stopBefore: summaryKeysRead });
    expect(h.stoppedBefore).toBe('tokenizer.ggml.model');
    expect([...h.metadata.keys()]).toEqual(['general.architecture', 'general.name', 'llama.context_length', 'llama.block_count', 'general.file_type', 'general.parameter_count']);
    expect(h.tensorElements).toBeNull();
    expect(h.bytesRead).toBeLessThanOrEqual(64 * 1024); // the first read only: the tokenizer is ~400 KB
    expect(summarizeGguf(h, 'x.gguf', fs.statSync(p).size)).toMatchObject({ architecture: 'llama', parameters: 1.5e9, parametersSource: 'metadata', quantization: 'Q4_K_M', contextLength: 4096 });
  });

  it('summaryKeysRead: only at the tokenizer, and only once architecture, file type, context length and parameter count are in', () => {
    const md = new Map<string, number | string>([['general.architecture', 'qwen2'], ['general.file_type', 15], ['qwen2.context_length', 32768]]);
    expect(summaryKeysRead('tokenizer.ggml.model', md)).toBe(false); // the parameter count is missing: the tensor infos are needed
    md.set('general.parameter_count', 7e9);
    expect(summaryKeysRead('qwen2.pooling_type', md)).toBe(false); // still before the tokenizer: read on
    expect(summaryKeysRead('tokenizer.ggml.model', md)).toBe(true);
    md.delete('qwen2.context_length');
    expect(summaryKeysRead('tokenizer.ggml.model', md)).toBe(false);
    const late: GgufKv[] = modelKv({ fileType: 15, extra: [{ key: 'general.parameter_count', type: 'u64', value: 1 }] });
    expect(late.findIndex((k) => k.key === 'general.file_type')).toBeGreaterThan(late.findIndex((k) => k.key === 'tokenizer.ggml.tokens'));
  });
});

describe('summarizeGguf', () => {
  it('architecture, name, quantisation from general.file_type, context and parameters from the tensors', async () => {
    const s = await summary({ kv: modelKv({ arch: 'qwen2', name: 'Qwen2.5 7B Instruct', fileType: 15, context: 32768 }), tensors: [{ name: 'a', dims: [10, 10] }, { name: 'b', dims: [5] }] });
    expect(s).toEqual({
      architecture: 'qwen2', modelName: 'Qwen2.5 7B Instruct', parameters: 105, parametersSource: 'tensors',
      quantization: 'Q4_K_M', quantizationSource: 'header', contextLength: 32768, kind: 'chat', split: null,
    });
  });

  it('parameters: general.parameter_count, else the tensors, else general.size_label, else an estimate from size and quantisation', async () => {
    const count = { key: 'general.parameter_count', type: 'u64' as const, value: 7_000_000_000 };
    expect(await summary({ kv: modelKv({ extra: [count] }), tensors: [{ name: 'a', dims: [2] }] })).toMatchObject({ parameters: 7e9, parametersSource: 'metadata' });
    expect(await summary({ kv: modelKv({ extra: [{ key: 'general.size_label', type: 'string', value: '8x7B' }] }) })).toMatchObject({ parameters: 56e9, parametersSource: 'size_label' });
    const p = file({ kv: modelKv({ fileType: 7 }) });
    const s = summarizeGguf(await readGgufHeader(p), 'x.gguf', 8.5e9 / 8); // Q8_0 is ~8.5 bits per weight
    expect(s).toMatchObject({ parameters: 1e9, parametersSource: 'estimate', quantization: 'Q8_0' });
    expect(parseSizeLabel('1.5B')).toBe(1.5e9);
    expect(parseSizeLabel('135M')).toBe(135e6);
    expect(parseSizeLabel('large')).toBeNull();
  });

  it('quantisation names follow llama.cpp (llama_ftype), else the file name says it', async () => {
    expect([0, 1, 2, 7, 10, 15, 18, 30, 32, 36, 38].map((t) => FILE_TYPES[t])).toEqual(['F32', 'F16', 'Q4_0', 'Q8_0', 'Q2_K', 'Q4_K_M', 'Q6_K', 'IQ4_XS', 'BF16', 'TQ1_0', 'MXFP4_MOE']);
    expect(await summary({ kv: modelKv() }, 'Meta-Llama-3-8B-Instruct.IQ3_XXS.gguf')).toMatchObject({ quantization: 'IQ3_XXS', quantizationSource: 'file_name' });
    expect(await summary({ kv: modelKv({ fileType: 999 }) })).toMatchObject({ quantization: 'file type 999', quantizationSource: 'header' });
    expect(quantFromFileName('qwen2.5-7b-instruct-q4_k_m-00001-of-00003.gguf')).toBe('Q4_K_M');
    expect(quantFromFileName('gemma-3-4b-it-bf16.gguf')).toBe('BF16');
    expect(quantFromFileName('model.gguf')).toBeNull();
  });

  it('kind: embedding (pooling, encoder architectures, the name), reranker (rank pooling, the name), mmproj (general.type, clip)', async () => {
    const pooling = (arch: string, value: number) => ({ key: `${arch}.pooling_type`, type: 'u32' as const, value });
    expect((await summary({ kv: modelKv({ arch: 'nomic-bert', name: 'nomic-embed-text-v1.5' }) })).kind).toBe('embedding');
    expect((await summary({ kv: modelKv({ arch: 'bert', name: 'all-MiniLM' }) })).kind).toBe('embedding');
    expect((await summary({ kv: modelKv({ arch: 'qwen3', name: 'Qwen3 0.6B', extra: [pooling('qwen3', 3)] }) })).kind).toBe('embedding');
    expect((await summary({ kv: modelKv({ arch: 'bert', name: 'bge', extra: [pooling('bert', 4)] }) })).kind).toBe('reranker');
    expect((await summary({ kv: modelKv({ arch: 'qwen3', name: 'Qwen3-Reranker-0.6B' }) })).kind).toBe('reranker');
    expect((await summary({ kv: modelKv({ arch: 'qwen3', name: 'Qwen3 4B', extra: [pooling('qwen3', 0)] }) })).kind).toBe('chat');
    expect((await summary({ kv: modelKv({ arch: 'clip', name: 'proj' }) })).kind).toBe('mmproj');
    expect((await summary({ kv: [{ key: 'general.type', type: 'string', value: 'mmproj' }, { key: 'general.architecture', type: 'string', value: 'clip' }] })).kind).toBe('mmproj');
  });

  it('split parts say which part of how many', async () => {
    const s = await summary({ kv: [...modelKv(), { key: 'split.no', type: 'u16', value: 1 }, { key: 'split.count', type: 'u16', value: 3 }] });
    expect(s.split).toEqual({ no: 1, count: 3 });
  });
});
