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
  writeKv(out, spec.kv);
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

function writeKv(out: Out, kvs: GgufKv[]): void {
  for (const kv of kvs) {
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

/** ggml block sizes of the tensor types a realistic header uses: [elements per block, bytes per block]. */
const BLOCKS: Record<number, [number, number]> = { 0: [1, 4], 1: [1, 2], 12: [256, 144], 14: [256, 210] };

/**
 * A header only, as a real model's (tensor data sized by its type, not written): the bytes up to
 * where the weights start, and how many bytes of weights its tensor infos describe. Write the header
 * and truncate the file to `header.length + dataBytes` for a sparse file that reads as a whole model.
 */
export function ggufHeaderOnly(spec: GgufSpec): { header: Buffer; dataBytes: number } {
  const out = new Out(!spec.bigEndian);
  out.push(Buffer.from('GGUF'));
  out.num('u32', spec.version ?? 3);
  const tensors = spec.tensors ?? [];
  out.num('u64', tensors.length);
  out.num('u64', spec.kv.length);
  writeKv(out, spec.kv);
  let dataBytes = 0;
  for (const t of tensors) {
    out.str(t.name);
    out.num('u32', t.dims.length);
    for (const d of t.dims) out.num('u64', d);
    out.num('u32', t.type ?? 0);
    out.num('u64', dataBytes);
    const [per, bytes] = BLOCKS[t.type ?? 0] ?? [1, 4];
    dataBytes += Math.ceil(((t.dims.reduce((a, b) => a * b, 1) / per) * bytes) / 32) * 32;
  }
  out.push(Buffer.alloc((32 - (out.length % 32)) % 32));
  return { header: out.buffer(), dataBytes };
}

/**
 * A header as big as a real one: Qwen2.5's tokenizer (151,936 tokens, 151,387 merges, token types),
 * a chat template, and `general.file_type` after them as llama-quantize leaves it (or before the
 * tokenizer with `fileTypeFirst`, as convert_hf_to_gguf.py writes an F16/Q8_0 file). About 6.8 MB with Qwen2.5-7B's tensors.
 */
export function qwenSizedKv(options: { name?: string; fileType?: number; fileTypeFirst?: boolean; parameterCount?: number } = {}): GgufKv[] {
  const fileType: GgufKv = { key: 'general.file_type', type: 'u32', value: options.fileType ?? 15 };
  const vocab = 151_936;
  const merges = 151_387;
  // Byte-level BPE pieces of 1-17 bytes (about 9 on average), merges "a b" of about 13.
  const piece = (i: number, len: number) => `Ġ${i.toString(36)}`.padEnd(len, 'abcdefghijklmnop'[i % 16]!);
  const kv: GgufKv[] = [
    { key: 'general.architecture', type: 'string', value: 'qwen2' },
    { key: 'general.type', type: 'string', value: 'model' },
    { key: 'general.name', type: 'string', value: options.name ?? 'Qwen2.5 7B Instruct' },
    { key: 'general.size_label', type: 'string', value: '7B' },
    ...(options.parameterCount !== undefined ? [{ key: 'general.parameter_count', type: 'u64', value: options.parameterCount } as GgufKv] : []),
    { key: 'qwen2.block_count', type: 'u32', value: 28 },
    { key: 'qwen2.context_length', type: 'u32', value: 32_768 },
    { key: 'qwen2.embedding_length', type: 'u32', value: 3584 },
    { key: 'qwen2.feed_forward_length', type: 'u32', value: 18_944 },
    { key: 'qwen2.attention.head_count', type: 'u32', value: 28 },
    { key: 'qwen2.attention.head_count_kv', type: 'u32', value: 4 },
    { key: 'qwen2.rope.freq_base', type: 'f32', value: 1_000_000 },
    { key: 'qwen2.attention.layer_norm_rms_epsilon', type: 'f32', value: 1e-6 },
    ...(options.fileTypeFirst ? [fileType] : []),
    { key: 'tokenizer.ggml.model', type: 'string', value: 'gpt2' },
    { key: 'tokenizer.ggml.pre', type: 'string', value: 'qwen2' },
    { key: 'tokenizer.ggml.tokens', type: 'array', itemType: 'string', values: Array.from({ length: vocab }, (_, i) => piece(i, 1 + ((i * 7) % 13))) },
    { key: 'tokenizer.ggml.token_type', type: 'array', itemType: 'i32', values: Array.from({ length: vocab }, (_, i) => (i < 151_643 ? 1 : 3)) },
    { key: 'tokenizer.ggml.merges', type: 'array', itemType: 'string', values: Array.from({ length: merges }, (_, i) => `${piece(i, 1 + ((i * 5) % 9))} ${piece(i + 1, 1 + ((i * 3) % 11))}`) },
    { key: 'tokenizer.ggml.eos_token_id', type: 'u32', value: 151_645 },
    { key: 'tokenizer.ggml.padding_token_id', type: 'u32', value: 151_643 },
    { key: 'tokenizer.ggml.bos_token_id', type: 'u32', value: 151_643 },
    { key: 'tokenizer.ggml.add_bos_token', type: 'bool', value: false },
    { key: 'tokenizer.chat_template', type: 'string', value: '{%- for message in messages %}{{- "<|im_start|>" + message.role + "\\n" + message.content + "<|im_end|>\\n" }}{%- endfor %}'.repeat(20) },
    { key: 'general.quantization_version', type: 'u32', value: 2 },
  ];
  if (!options.fileTypeFirst) kv.push(fileType);
  return kv;
}

/** Qwen2.5-7B's 339 tensors (Q4_K_M: Q4_K with Q6_K for some, F32 norms): 7.6 billion parameters, 4.4 GB of weights. */
export function qwen7bTensors(): GgufTensorSpec[] {
  const d = 3584;
  const ff = 18_944;
  const kvDim = 512;
  const t: GgufTensorSpec[] = [{ name: 'token_embd.weight', dims: [d, 152_064], type: 12 }];
  for (let l = 0; l < 28; l++) {
    const b = `blk.${l}`;
    t.push(
      { name: `${b}.attn_norm.weight`, dims: [d], type: 0 },
      { name: `${b}.attn_q.weight`, dims: [d, d], type: 12 },
      { name: `${b}.attn_q.bias`, dims: [d], type: 0 },
      { name: `${b}.attn_k.weight`, dims: [d, kvDim], type: 12 },
      { name: `${b}.attn_k.bias`, dims: [kvDim], type: 0 },
      { name: `${b}.attn_v.weight`, dims: [d, kvDim], type: l % 2 === 0 ? 14 : 12 },
      { name: `${b}.attn_v.bias`, dims: [kvDim], type: 0 },
      { name: `${b}.attn_output.weight`, dims: [d, d], type: 12 },
      { name: `${b}.ffn_norm.weight`, dims: [d], type: 0 },
      { name: `${b}.ffn_gate.weight`, dims: [d, ff], type: 12 },
      { name: `${b}.ffn_up.weight`, dims: [d, ff], type: 12 },
      { name: `${b}.ffn_down.weight`, dims: [ff, d], type: l % 2 === 0 ? 14 : 12 },
    );
  }
  t.push({ name: 'output_norm.weight', dims: [d], type: 0 }, { name: 'output.weight', dims: [d, 152_064], type: 14 });
  return t;
}
