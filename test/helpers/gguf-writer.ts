// A tiny GGUF writer for tests: typed key/values (arrays of any type, a big string array like a
// tokenizer's) and tensor infos with tiny or no data, v3 (or v2) little-endian, or big-endian.
// Files of a few hundred bytes that the library's header reader must read as real ones.
import fs from 'node:fs';

export type GgufScalarType = 'u8' | 'i8' | 'u16' | 'i16' | 'u32' | 'i32' | 'f32' | 'bool' | 'string' | 'u64' | 'i64' | 'f64';
export type GgufKv =
  | { key: string; type: GgufScalarType; value: number | string | boolean }
  | { key: string; type: 'array'; itemType: GgufScalarType; values: (number | string | boolean)[] };

export interface GgufTensorSpec {
  name: string;
  dims: number[];
  /** ggml type (0 = F32). */
  type?: number;
}

export interface GgufSpec {
  version?: 2 | 3;
  bigEndian?: boolean;
  kv: GgufKv[];
  tensors?: GgufTensorSpec[];
}

const TYPE_IDS: Record<GgufScalarType, number> = { u8: 0, i8: 1, u16: 2, i16: 3, u32: 4, i32: 5, f32: 6, bool: 7, string: 8, u64: 10, i64: 11, f64: 12 };

class Out {
  private parts: Buffer[] = [];
  length = 0;
  constructor(private readonly le: boolean) {}
  push(b: Buffer): void {
    this.parts.push(b);
    this.length += b.length;
  }
  num(type: GgufScalarType, v: number | boolean): void {
    const sizes: Record<string, number> = { u8: 1, i8: 1, bool: 1, u16: 2, i16: 2, u32: 4, i32: 4, f32: 4, u64: 8, i64: 8, f64: 8 };
    const b = Buffer.alloc(sizes[type]!);
    const le = this.le;
    const n = Number(v);
    switch (type) {
      case 'u8': case 'bool': b.writeUInt8(n); break;
      case 'i8': b.writeInt8(n); break;
      case 'u16': le ? b.writeUInt16LE(n) : b.writeUInt16BE(n); break;
      case 'i16': le ? b.writeInt16LE(n) : b.writeInt16BE(n); break;
      case 'u32': le ? b.writeUInt32LE(n) : b.writeUInt32BE(n); break;
      case 'i32': le ? b.writeInt32LE(n) : b.writeInt32BE(n); break;
      case 'f32': le ? b.writeFloatLE(n) : b.writeFloatBE(n); break;
      case 'f64': le ? b.writeDoubleLE(n) : b.writeDoubleBE(n); break;
      case 'u64': le ? b.writeBigUInt64LE(BigInt(n)) : b.writeBigUInt64BE(BigInt(n)); break;
      case 'i64': le ? b.writeBigInt64LE(BigInt(n)) : b.writeBigInt64BE(BigInt(n)); break;
      default: throw new Error(type);
    }
    this.push(b);
  }
  str(s: string): void {
    const bytes = Buffer.from(s, 'utf8');
    this.num('u64', bytes.length);
    this.push(bytes);
  }
  value(type: GgufScalarType, v: number | string | boolean): void {
    if (type === 'string') this.str(String(v));
    else this.num(type, v as number | boolean);
  }
  buffer(): Buffer {
    return Buffer.concat(this.parts);
  }
}

/** The bytes of a GGUF file. */
export function ggufBytes(spec: GgufSpec): Buffer {
  const out = new Out(!spec.bigEndian);
  out.push(Buffer.from('GGUF'));
  out.num('u32', spec.version ?? 3);
  const tensors = spec.tensors ?? [];
  out.num('u64', tensors.length);
  out.num('u64', spec.kv.length);
  for (const kv of spec.kv) {
    out.str(kv.key);
    if (kv.type === 'array') {
      out.num('u32', 9);
      out.num('u32', TYPE_IDS[kv.itemType]);
      out.num('u64', kv.values.length);
      for (const v of kv.values) out.value(kv.itemType, v);
    } else {
      out.num('u32', TYPE_IDS[kv.type]);
      out.value(kv.type, kv.value);
    }
  }
  let offset = 0;
  for (const t of tensors) {
    out.str(t.name);
    out.num('u32', t.dims.length);
    for (const d of t.dims) out.num('u64', d);
    out.num('u32', t.type ?? 0);
    out.num('u64', offset);
    offset += t.dims.reduce((a, b) => a * b, 1) * 4;
    offset = Math.ceil(offset / 32) * 32;
  }
  // Alignment, then the (F32, zero) tensor data.
  const pad = (32 - (out.length % 32)) % 32;
  out.push(Buffer.alloc(pad + offset));
  return out.buffer();
}

export function writeGguf(file: string, spec: GgufSpec): void {
  fs.writeFileSync(file, ggufBytes(spec));
}

/** A plausible chat model's header: architecture, name, file type, context length, and a tokenizer of `vocab` tokens. */
export function modelKv(options: { arch?: string; name?: string; fileType?: number; context?: number; vocab?: number; extra?: GgufKv[] } = {}): GgufKv[] {
  const arch = options.arch ?? 'llama';
  const kv: GgufKv[] = [
    { key: 'general.architecture', type: 'string', value: arch },
    { key: 'general.name', type: 'string', value: options.name ?? 'Tiny Llama' },
    { key: `${arch}.context_length`, type: 'u32', value: options.context ?? 4096 },
    { key: `${arch}.block_count`, type: 'u32', value: 2 },
  ];
  const vocab = options.vocab ?? 100;
  kv.push({ key: 'tokenizer.ggml.model', type: 'string', value: 'gpt2' });
  kv.push({ key: 'tokenizer.ggml.tokens', type: 'array', itemType: 'string', values: Array.from({ length: vocab }, (_, i) => `tok${i}`) });
  kv.push({ key: 'tokenizer.ggml.token_type', type: 'array', itemType: 'i32', values: Array.from({ length: vocab }, () => 1) });
  kv.push(...(options.extra ?? []));
  // As llama-quantize leaves it: the file type after the tokenizer.
  if (options.fileType !== undefined) kv.push({ key: 'general.file_type', type: 'u32', value: options.fileType });
  return kv;
}
