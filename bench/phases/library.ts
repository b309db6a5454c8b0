// Library (#15 item 4): the models folder scan over 200 GGUF files in 10 folders whose headers are
// a real model's (ggufHeaderOnly with a Qwen2.5 tokenizer — 151k tokens, 151k merges — and
// Qwen2.5-7B's tensors: 6.8 MB, the file type after the tokenizer as llama-quantize leaves it). Each
// file is as big as the model (4.7 GB) but sparse: only the header is written. Where the filesystem
// has no sparse files (one file is tried first) they are header-only, without tensor infos. Cold:
// a fresh Library, so no header is cached (the files are in the page cache: written, synced so
// that no write-back runs beside the scans, and scanned once); warm: the same Library again.
// The scan runs in this process, on the bench's CPU (one core).
import fs from 'node:fs';
import path from 'node:path';
import { Library } from '../../src-main/core/library/index.js';
import { ggufHeaderOnly, qwen7bTensors, qwenSizedKv } from '../../test/helpers/gguf-writer.js';
import { awaitQuiet } from '../quiet.js';
import { settings } from '../settings.js';

export interface LibraryScanResult {
  files: number;
  headerBytes: number;
  /** Each file's size: the model's when sparse, else the header's. */
  fileBytes: number;
  sparse: boolean;
  /** The very first scan, untimed in the figures: the page cache filling (ms). */
  firstMs: number;
  /** A fresh Library's first scan, per repetition (ms). */
  coldMs: number[];
  /** The same Library's second scan, every header cached (ms). */
  warmMs: number[];
}

const FILES = 200;
const FOLDERS = 10;

export async function libraryScan(dir: string, log: (line: string) => void): Promise<LibraryScanResult> {
  const t0 = Date.now();
  const full = ggufHeaderOnly({ kv: qwenSizedKv(), tensors: qwen7bTensors() });
  const probe = path.join(dir, 'probe.gguf');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(probe, full.header);
  const modelBytes = full.header.length + full.dataBytes;
  let sparse = false;
  if (process.platform !== 'win32') {
    fs.truncateSync(probe, modelBytes);
    // Blocks allocated: a sparse file has no more than its header's.
    sparse = fs.statSync(probe).blocks * 512 < full.header.length * 4;
  }
  fs.rmSync(probe);
  const header = sparse ? full.header : ggufHeaderOnly({ kv: qwenSizedKv() }).header;
  const fileBytes = sparse ? modelBytes : header.length;
  const roots = Array.from({ length: FOLDERS }, (_, i) => path.join(dir, `publisher-${i}`, `Qwen2.5-7B-Instruct-GGUF-${i}`));
  for (let i = 0; i < FILES; i++) {
    const file = fileName(roots, i);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const fd = fs.openSync(file, 'w');
    fs.writeSync(fd, header);
    if (sparse) fs.ftruncateSync(fd, fileBytes);
    // On disk before the scans: 1.4 GB still being written back made the first scan 3-5 times slower.
    fs.fsyncSync(fd);
    fs.closeSync(fd);
  }
  log(`  ${FILES} files of ${(fileBytes / 1e9).toFixed(2)} GB (${sparse ? 'sparse' : 'header only: no sparse files here'}), headers of ${(header.length / 1e6).toFixed(1)} MB, written in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

  const reps = settings.libraryReps;
  const coldMs: number[] = [];
  const warmMs: number[] = [];
  let firstMs = NaN;
  try {
    // Untimed in the figures: the first read of each file fills the page cache, past the header too
    // (the kernel reads ahead 8 MB here, into the sparse files' holes), which a user's models, read
    // before, have done already.
    const fresh = () => new Library({ modelsDirs: () => [dir], models: () => [], roots: () => [{ path: dir, source: 'models_dir' }] });
    let t = performance.now();
    await fresh().list();
    firstMs = performance.now() - t;
    log(`  first scan (the page cache filling): ${firstMs.toFixed(0)} ms`);
    for (let r = 0; r < reps; r++) {
      const library = fresh();
      await awaitQuiet();
      t = performance.now();
      const cold = await library.list();
      coldMs.push(performance.now() - t);
      const bad = cold.entries.filter((e) => e.error !== undefined || e.quantization !== 'Q4_K_M' || e.contextLength !== 32_768);
      if (cold.entries.length !== FILES || bad.length > 0) {
        throw new Error(`library scan: ${cold.entries.length} entries of ${FILES}${bad[0] ? `; ${bad[0].name}: ${bad[0].error ?? `${bad[0].quantization}, context ${bad[0].contextLength}`}` : ''}`);
      }
      t = performance.now();
      await library.list();
      warmMs.push(performance.now() - t);
      log(`  scan ${r + 1}/${reps}: cold ${coldMs[r]!.toFixed(0)} ms, warm ${warmMs[r]!.toFixed(1)} ms`);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return { files: FILES, headerBytes: header.length, fileBytes, sparse, firstMs, coldMs, warmMs };
}

const fileName = (roots: string[], i: number) => path.join(roots[i % FOLDERS]!, `qwen2.5-7b-instruct-${i}-q4_k_m.gguf`);
