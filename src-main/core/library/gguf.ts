// A GGUF header reader that never reads weights: the magic, version, tensor and key/value counts,
// the typed key/values and the tensor infos (names, shapes, types), read in chunks with fs.read at
// offsets (into one buffer per file) and bounded in bytes. Large arrays (tokenizer.ggml.tokens,
// merges, scores) are skipped by their lengths, never materialised: a numeric array is one seek, a
// string array a tight walk over the lengths in the buffer (a Qwen2.5 tokenizer's 300k strings take
// ~2 ms). A caller may stop before a key (`stopBefore`) once it has what it needs. GGUF v2 and v3
// (64-bit counts), little- or big-endian (v3 allows either).
// Spec: https://github.com/ggml-org/ggml/blob/master/docs/gguf.md
import type { LibraryEntry, LibraryKind } from '../../../src-shared/contract.js';
import fs from 'node:fs/promises';

/** A metadata value. Arrays longer than `ARRAY_KEEP` come back as `{ arrayOf, length }` only. */
export type GgufValue = number | boolean | string | GgufValue[] | GgufArrayStub;
export interface GgufArrayStub {
  arrayOf: string;
  length: number;
}

export interface GgufHeader {
  version: number;
  littleEndian: boolean;
  tensorCount: number;
  kvCount: number;
  metadata: Map<string, GgufValue>;
  /** Sum of every tensor's element count (this file's tensors only); null when the tensor infos weren't read. */
  tensorElements: number | null;
  /** How many bytes were read from the file, all told. */
  bytesRead: number;
  /** The key the read stopped before (`stopBefore`): it and everything after it, tensor infos included, were not read. */
  stoppedBefore: string | null;
}

export class GgufError extends Error {}

export interface ReadGgufOptions {
  /** Read at most this many bytes of the file (default 16 MiB: the largest tokenizers known take about 8). */
  maxBytes?: number;
  /** Skip the tensor infos (the parameter count then comes from metadata or an estimate). */
  skipTensors?: boolean;
  /**
   * Asked before each key's value is read, with the keys read so far: true stops the read there (the
   * rest of the key/values and the tensor infos unread, `tensorElements` null, no check that the
   * weights fit in the file).
   */
  stopBefore?: (key: string, metadata: ReadonlyMap<string, GgufValue>) => boolean;
  /**
   * Read buffers to reuse (a scan passes one list to all its reads): one is taken for the header and
   * put back after: a fresh buffer per read or per file costs page faults and GC (most of a scan's GC time).
   */
  buffers?: Buffer[];
}

export const GGUF_MAX_HEADER_BYTES = 16 * 1024 * 1024;
/** Arrays up to this many items are kept in `metadata`; longer ones become stubs. */
const ARRAY_KEEP = 64;
/** Strings longer than this (a chat template is ~10 KB) are skipped, not decoded. */
const STRING_KEEP = 256 * 1024;
const FIRST_CHUNK = 64 * 1024;
/** The one buffer a header is read into (a Qwen2.5 tokenizer is 26 reads; a bigger one was no faster, and held more memory). */
const CHUNK = 256 * 1024;

const TYPE_NAMES = ['uint8', 'int8', 'uint16', 'int16', 'uint32', 'int32', 'float32', 'bool', 'string', 'array', 'uint64', 'int64', 'float64'];
/** Byte sizes of the fixed-size value types (string and array: 0). */
const TYPE_SIZES = [1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8];
/** ggml tensor types whose size is certain: [elements per block, bytes per block]. Others are not checked. */
const TENSOR_BYTES: Record<number, [number, number]> = {
  0: [1, 4], 1: [1, 2], 2: [32, 18], 8: [32, 34], 12: [256, 144], 13: [256, 176], 14: [256, 210], 30: [1, 2],
};
const T_STRING = 8;
const T_ARRAY = 9;

class ChunkReader {
  private buf: Buffer = Buffer.alloc(0);
  /** Every chunk is read into this one buffer (taken from the pool): fresh ones cost GC and page faults. */
  spare: Buffer | null = null;
  private bufStart = 0;
  pos = 0;
  bytesRead = 0;
  le = true;
  constructor(
    private readonly fd: fs.FileHandle,
    readonly fileSize: number,
    private readonly maxBytes: number,
    private readonly pool: Buffer[],
  ) {}

  /** Whether `n` bytes at pos are in the buffer. */
  has(n: number): boolean {
    return this.pos >= this.bufStart && this.pos + n <= this.bufStart + this.buf.length;
  }

  /** Makes `n` bytes at pos available, reading a chunk from the file. */
  async fill(n: number): Promise<void> {
    if (this.has(n)) return;
    if (this.pos + n > this.fileSize) throw new GgufError(`the file ends inside its header (at byte ${this.fileSize}; ${this.pos + n} needed): truncated`);
    if (this.bytesRead + n > this.maxBytes) throw new GgufError(`the header is larger than ${this.maxBytes >= 1024 * 1024 ? `${Math.round(this.maxBytes / 1024 / 1024)} MB` : `${this.maxBytes} bytes`}; not read further`);
    const chunk = this.bytesRead === 0 ? FIRST_CHUNK : CHUNK;
    const size = Math.min(Math.max(n, chunk), this.fileSize - this.pos, this.maxBytes - this.bytesRead);
    const buf = size > CHUNK ? Buffer.allocUnsafe(size) : (this.spare ??= this.pool.pop() ?? Buffer.allocUnsafe(CHUNK));
    let got = 0;
    while (got < size) {
      const { bytesRead } = await this.fd.read(buf, got, size - got, this.pos + got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    this.bytesRead += got;
    if (got < n) throw new GgufError(`the file ends inside its header (at byte ${this.pos + got}): truncated`);
    this.buf = buf.subarray(0, got);
    this.bufStart = this.pos;
  }

  private at(): number {
    return this.pos - this.bufStart;
  }
  u8(): number {
    const v = this.buf.readUInt8(this.at());
    this.pos += 1;
    return v;
  }
  u32(): number {
    const v = this.le ? this.buf.readUInt32LE(this.at()) : this.buf.readUInt32BE(this.at());
    this.pos += 4;
    return v;
  }
  u64(): number {
    // Two 32-bit halves: much faster than a BigInt in the loop over a tokenizer's strings.
    const o = this.at();
    const v = this.le ? this.buf.readUInt32LE(o) + this.buf.readUInt32LE(o + 4) * 0x1_0000_0000 : this.buf.readUInt32BE(o) * 0x1_0000_0000 + this.buf.readUInt32BE(o + 4);
    this.pos += 8;
    return v;
  }
  /** A fixed-size scalar of GGUF type `type` (the bytes must be in the buffer). */
  scalar(type: number): number | boolean {
    const o = this.at();
    const b = this.buf;
    const le = this.le;
    let v: number | boolean;
    switch (type) {
      case 0: v = b.readUInt8(o); break;
      case 1: v = b.readInt8(o); break;
      case 2: v = le ? b.readUInt16LE(o) : b.readUInt16BE(o); break;
      case 3: v = le ? b.readInt16LE(o) : b.readInt16BE(o); break;
      case 4: v = le ? b.readUInt32LE(o) : b.readUInt32BE(o); break;
      case 5: v = le ? b.readInt32LE(o) : b.readInt32BE(o); break;
      case 6: v = le ? b.readFloatLE(o) : b.readFloatBE(o); break;
      case 7: v = b.readUInt8(o) !== 0; break;
      case 10: v = Number(le ? b.readBigUInt64LE(o) : b.readBigUInt64BE(o)); break;
      case 11: v = Number(le ? b.readBigInt64LE(o) : b.readBigInt64BE(o)); break;
      case 12: v = le ? b.readDoubleLE(o) : b.readDoubleBE(o); break;
      default: throw new GgufError(`unknown value type ${type}`);
    }
    this.pos += TYPE_SIZES[type]!;
    return v;
  }
  text(n: number): string {
    const s = this.buf.toString('utf8', this.at(), this.at() + n);
    this.pos += n;
    return s;
  }
  /**
   * Walks strings `from`..`count` of an array by their lengths as far as the buffer holds them and
   * returns the index of the first one not walked. Lengths are 64-bit: the low word is read, the high
   * one must be 0 (a string of 4 GB is no tokenizer's).
   */
  skipStringsHere(from: number, count: number, what: string): number {
    // A DataView: about 4 times faster here than Buffer's readUInt32LE or assembling bytes (Node 24).
    const v = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.length);
    const end = this.buf.length - 8;
    let o = this.pos - this.bufStart;
    let i = from;
    if (this.le) {
      while (i < count && o <= end) {
        if (v.getUint32(o + 4, true) !== 0) this.tooLong(o, i, what);
        o += 8 + v.getUint32(o, true);
        i++;
      }
    } else {
      while (i < count && o <= end) {
        if (v.getUint32(o, false) !== 0) this.tooLong(o, i, what);
        o += 8 + v.getUint32(o + 4, false);
        i++;
      }
    }
    this.pos = this.bufStart + o;
    if (this.pos > this.fileSize) throw new GgufError(`the file ends inside its header (at byte ${this.fileSize}; ${this.pos} needed): truncated`);
    return i;
  }
  private tooLong(o: number, i: number, what: string): never {
    this.pos = this.bufStart + o;
    throw new GgufError(`${what}: item ${i} is a string of ${this.u64()} bytes: corrupt`);
  }
  /** Moves past `n` bytes without reading them. */
  skip(n: number): void {
    if (this.pos + n > this.fileSize) throw new GgufError(`the file ends inside its header (at byte ${this.fileSize}; ${this.pos + n} needed): truncated`);
    this.pos += n;
  }
}

async function readString(r: ChunkReader, what: string, keepUpTo: number): Promise<string | null> {
  if (!r.has(8)) await r.fill(8);
  const len = r.u64();
  if (len > r.fileSize) throw new GgufError(`${what}: a string of ${len} bytes, longer than the file: corrupt`);
  if (len > keepUpTo) {
    r.skip(len);
    return null;
  }
  if (!r.has(len)) await r.fill(len);
  return r.text(len);
}

async function readValue(r: ChunkReader, type: number, key: string, depth: number): Promise<GgufValue> {
  if (type === T_STRING) return (await readString(r, key, STRING_KEEP)) ?? { arrayOf: 'string', length: 0 };
  if (type === T_ARRAY) {
    if (depth > 4) throw new GgufError(`${key}: arrays nested too deep: corrupt`);
    if (!r.has(12)) await r.fill(12);
    const itemType = r.u32();
    const length = r.u64();
    if (itemType >= TYPE_NAMES.length) throw new GgufError(`${key}: unknown array item type ${itemType}: corrupt`);
    const size = TYPE_SIZES[itemType]!;
    const least = length * (size || 8);
    if (least > r.fileSize - r.pos) throw new GgufError(`the file ends inside its header (${key}: ${length} items need at least ${least} bytes, ${r.fileSize - r.pos} are left): truncated or corrupt`);
    if (length > ARRAY_KEEP) {
      if (size > 0) r.skip(length * size);
      else if (itemType === T_STRING) await skipStrings(r, length, key);
      else for (let i = 0; i < length; i++) await readValue(r, itemType, key, depth + 1);
      return { arrayOf: TYPE_NAMES[itemType]!, length };
    }
    const items: GgufValue[] = [];
    for (let i = 0; i < length; i++) items.push(await readValue(r, itemType, key, depth + 1));
    return items;
  }
  const size = TYPE_SIZES[type];
  if (size === undefined) throw new GgufError(`${key}: unknown value type ${type}: corrupt`);
  if (!r.has(size)) await r.fill(size);
  return r.scalar(type);
}

/** Walks `count` strings by their lengths, reading only to find the next length. */
async function skipStrings(r: ChunkReader, count: number, key: string): Promise<void> {
  let i = 0;
  while (i < count) {
    if (!r.has(8)) await r.fill(8);
    i = r.skipStringsHere(i, count, key);
  }
}

/** Reads a GGUF file's header (metadata and tensor infos), never its weights. Throws GgufError on a file that isn't GGUF or is cut short. */
export async function readGgufHeader(file: string, options: ReadGgufOptions = {}): Promise<GgufHeader> {
  const fd = await fs.open(file, 'r');
  let r: ChunkReader | null = null;
  try {
    const { size } = await fd.stat();
    r = new ChunkReader(fd, size, options.maxBytes ?? GGUF_MAX_HEADER_BYTES, options.buffers ?? []);
    if (size < 4) throw new GgufError(`not a GGUF file (${size} bytes)`);
    await r.fill(Math.min(24, size));
    const magic = r.text(4);
    if (magic !== 'GGUF') throw new GgufError(`not a GGUF file (it starts with ${JSON.stringify(magic)}, not "GGUF")`);
    if (!r.has(4)) throw new GgufError('the file ends inside its header: truncated');
    let version = r.u32();
    if (version > 0xffff) {
      // A big-endian file: its version reads byte-swapped.
      r.pos -= 4;
      r.le = false;
      version = r.u32();
    }
    if (version === 1) throw new GgufError('GGUF version 1 (from 2023) is too old; convert it again with a current llama.cpp');
    if (version < 2 || version > 3) throw new GgufError(`unsupported GGUF version ${version}`);
    if (!r.has(16)) await r.fill(16);
    const tensorCount = r.u64();
    const kvCount = r.u64();
    if (kvCount > size || tensorCount > size) throw new GgufError(`${kvCount} keys and ${tensorCount} tensors can't fit in ${size} bytes: corrupt`);
    const metadata = new Map<string, GgufValue>();
    for (let i = 0; i < kvCount; i++) {
      const key = await readString(r, `key ${i}`, 65_536);
      if (key === null) throw new GgufError(`key ${i} is longer than 64 KB: corrupt`);
      if (options.stopBefore?.(key, metadata)) {
        return { version, littleEndian: r.le, tensorCount, kvCount, metadata, tensorElements: null, bytesRead: r.bytesRead, stoppedBefore: key };
      }
      if (!r.has(4)) await r.fill(4);
      const type = r.u32();
      metadata.set(key, await readValue(r, type, key, 0));
    }
    let tensorElements: number | null = null;
    if (!options.skipTensors) {
      let total = 0;
      let dataEnd = 0;
      for (let i = 0; i < tensorCount; i++) {
        await readString(r, `tensor ${i}`, 0);
        if (!r.has(4)) await r.fill(4);
        const dims = r.u32();
        if (dims > 8) throw new GgufError(`tensor ${i} has ${dims} dimensions: corrupt`);
        if (!r.has(dims * 8 + 12)) await r.fill(dims * 8 + 12);
        let n = 1;
        for (let d = 0; d < dims; d++) n *= r.u64();
        const type = r.u32();
        const offset = r.u64();
        const block = TENSOR_BYTES[type];
        dataEnd = Math.max(dataEnd, offset + (block ? (n / block[0]) * block[1] : 0));
        total += n;
      }
      tensorElements = total;
      // A download that stopped early: the weights would end past the file's end.
      const alignment = typeof metadata.get('general.alignment') === 'number' ? (metadata.get('general.alignment') as number) : 32;
      const dataStart = alignment > 0 ? Math.ceil(r.pos / alignment) * alignment : r.pos;
      if (dataStart + dataEnd > size) {
        throw new GgufError(`the file is cut short: its weights end at byte ${dataStart + dataEnd}, the file at ${size} (an unfinished download or copy?)`);
      }
    }
    return { version, littleEndian: r.le, tensorCount, kvCount, metadata, tensorElements, bytesRead: r.bytesRead, stoppedBefore: null };
  } finally {
    if (r?.spare && options.buffers) options.buffers.push(r.spare);
    await fd.close();
  }
}

// ---- what the header says --------------------------------------------------------------------

/** llama.cpp's llama_ftype (general.file_type) → the quantisation's usual name. */
export const FILE_TYPES: Record<number, string> = {
  0: 'F32', 1: 'F16', 2: 'Q4_0', 3: 'Q4_1', 4: 'Q4_1_SOME_F16', 7: 'Q8_0', 8: 'Q5_0', 9: 'Q5_1',
  10: 'Q2_K', 11: 'Q3_K_S', 12: 'Q3_K_M', 13: 'Q3_K_L', 14: 'Q4_K_S', 15: 'Q4_K_M', 16: 'Q5_K_S', 17: 'Q5_K_M', 18: 'Q6_K',
  19: 'IQ2_XXS', 20: 'IQ2_XS', 21: 'Q2_K_S', 22: 'IQ3_XS', 23: 'IQ3_XXS', 24: 'IQ1_S', 25: 'IQ4_NL', 26: 'IQ3_S', 27: 'IQ3_M',
  28: 'IQ2_S', 29: 'IQ2_M', 30: 'IQ4_XS', 31: 'IQ1_M', 32: 'BF16', 33: 'Q4_0_4_4', 34: 'Q4_0_4_8', 35: 'Q4_0_8_8',
  36: 'TQ1_0', 37: 'TQ2_0', 38: 'MXFP4_MOE', 39: 'NVFP4', 40: 'Q1_0',
};

/** Rough bits per weight of each quantisation (for a parameter estimate from the file size). */
const BITS_PER_WEIGHT: Record<string, number> = {
  F32: 32, F16: 16, BF16: 16, Q8_0: 8.5, Q6_K: 6.56, Q5_K_M: 5.69, Q5_K_S: 5.54, Q5_0: 5.5, Q5_1: 6, Q4_K_M: 4.89, Q4_K_S: 4.58,
  Q4_0: 4.5, Q4_1: 5, IQ4_NL: 4.5, IQ4_XS: 4.25, MXFP4_MOE: 4.25, Q3_K_L: 4.27, Q3_K_M: 3.91, Q3_K_S: 3.5, IQ3_M: 3.7, IQ3_S: 3.44,
  IQ3_XS: 3.3, IQ3_XXS: 3.06, Q2_K: 3.35, Q2_K_S: 2.97, IQ2_M: 2.7, IQ2_S: 2.5, IQ2_XS: 2.31, IQ2_XXS: 2.06, IQ1_M: 1.75, IQ1_S: 1.56,
  TQ1_0: 1.69, TQ2_0: 2.06,
};

const QUANT_IN_NAME = /(?:^|[-_.])((?:I?Q\d(?:_[A-Z0-9]+)*)|F16|F32|BF16|MXFP4(?:_MOE)?)(?=[-_.]|$)/i;

/** Architectures that only embed (llama.cpp's encoder-only ones). */
const EMBEDDING_ARCHS = new Set(['bert', 'nomic-bert', 'nomic-bert-moe', 'jina-bert-v2', 'jina-bert-v3', 'modern-bert', 'neo-bert', 't5encoder', 'gemma-embedding', 'eurobert']);
/** llama.cpp's llama_pooling_type: 4 is RANK (a reranker's score). */
const POOLING_RANK = 4;

export type GgufKind = LibraryKind;

/** What one file's header says, in the library entry's own fields (src-shared/contract.ts), plus its split part. */
export type GgufSummary = Pick<
  LibraryEntry,
  'architecture' | 'modelName' | 'parameters' | 'parametersSource' | 'quantization' | 'quantizationSource' | 'contextLength' | 'kind'
> & {
  /** split.no / split.count of a split model's part (split.no counts from 0). */
  split: { no: number; count: number } | null;
};

const num = (v: GgufValue | undefined): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const str = (v: GgufValue | undefined): string | null => (typeof v === 'string' && v.trim() !== '' ? v : null);

/** A quantisation named in a file name (`qwen2.5-7b-instruct-q4_k_m.gguf` → Q4_K_M), else null. */
export function quantFromFileName(fileName: string): string | null {
  const base = fileName.replace(/(-\d{5}-of-\d{5})?\.gguf$/i, '');
  const m = QUANT_IN_NAME.exec(base);
  return m ? m[1]!.toUpperCase() : null;
}

/** "7B", "8x7B", "135M", "1.5B" → parameters; null when it isn't one. */
export function parseSizeLabel(label: string): number | null {
  const m = /^\s*(?:(\d+)x)?(\d+(?:\.\d+)?)\s*([KMBT])\s*$/i.exec(label);
  if (!m) return null;
  const scale = { K: 1e3, M: 1e6, B: 1e9, T: 1e12 }[m[3]!.toUpperCase() as 'K' | 'M' | 'B' | 'T'];
  return Math.round((m[1] ? Number(m[1]) : 1) * Number(m[2]) * scale);
}

/**
 * A `stopBefore` for the library: the tokenizer (most of a header: 300k strings in a Qwen2.5) isn't
 * walked when every key `summarizeGguf` reads came before it — architecture, file type, context
 * length and general.parameter_count (convert_hf_to_gguf.py writes the others it uses before the
 * tokenizer too). Without a parameter count the tensor infos, after everything, are needed, and so
 * are they for the check that the weights fit in the file (skipped for a file read this way).
 * split.no/split.count, which gguf-split appends last, are not waited for: the scan groups a split
 * model's parts by their file names.
 */
export function summaryKeysRead(key: string, metadata: ReadonlyMap<string, GgufValue>): boolean {
  if (!key.startsWith('tokenizer.')) return false;
  const architecture = str(metadata.get('general.architecture'));
  return (
    architecture !== null &&
    num(metadata.get('general.file_type')) !== null &&
    num(metadata.get(`${architecture}.context_length`)) !== null &&
    num(metadata.get('general.parameter_count')) !== null
  );
}

/**
 * What the library shows of a header. `fileName` and `totalBytes` (all parts of a split model) are
 * for the fallbacks: a quantisation in the name, a parameter estimate from the size.
 */
export function summarizeGguf(header: GgufHeader, fileName: string, totalBytes: number, tensorElements: number | null = header.tensorElements): GgufSummary {
  const md = header.metadata;
  const architecture = str(md.get('general.architecture'));
  const modelName = str(md.get('general.name'));
  const fileType = num(md.get('general.file_type'));
  let quantization: string | null = fileType !== null ? (FILE_TYPES[fileType] ?? `file type ${fileType}`) : null;
  let quantizationSource: GgufSummary['quantizationSource'] = quantization ? 'header' : null;
  if (!quantization) {
    quantization = quantFromFileName(fileName);
    if (quantization) quantizationSource = 'file_name';
  }

  let parameters: number | null = num(md.get('general.parameter_count'));
  let parametersSource: GgufSummary['parametersSource'] = parameters !== null ? 'metadata' : null;
  if (parameters === null && tensorElements !== null && tensorElements > 0) {
    parameters = tensorElements;
    parametersSource = 'tensors';
  }
  const sizeLabel = str(md.get('general.size_label'));
  if (parameters === null && sizeLabel) {
    parameters = parseSizeLabel(sizeLabel);
    if (parameters !== null) parametersSource = 'size_label';
  }
  if (parameters === null && quantization && BITS_PER_WEIGHT[quantization] && totalBytes > 0) {
    parameters = Math.round((totalBytes * 8) / BITS_PER_WEIGHT[quantization]!);
    parametersSource = 'estimate';
  }

  const contextLength = architecture ? num(md.get(`${architecture}.context_length`)) : null;
  const splitCount = num(md.get('split.count'));
  const split = splitCount !== null && splitCount > 1 ? { no: num(md.get('split.no')) ?? 0, count: splitCount } : null;
  return { architecture, modelName, parameters, parametersSource, quantization, quantizationSource, contextLength, kind: ggufKind(header, architecture, modelName, fileName), split };
}

function ggufKind(header: GgufHeader, architecture: string | null, modelName: string | null, fileName: string): GgufKind {
  const md = header.metadata;
  if (str(md.get('general.type'))?.toLowerCase() === 'mmproj' || architecture === 'clip') return 'mmproj';
  const names = `${modelName ?? ''} ${fileName}`.toLowerCase();
  const pooling = architecture ? num(md.get(`${architecture}.pooling_type`)) : null;
  if (pooling === POOLING_RANK || /re-?rank/.test(names)) return 'reranker';
  if ((pooling !== null && pooling > 0) || (architecture !== null && EMBEDDING_ARCHS.has(architecture)) || /embed/.test(names)) return 'embedding';
  return 'chat';
}
