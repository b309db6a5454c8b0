// The models folder scan: program.models_dirs, LM Studio's models folder and the Hugging Face cache,
// walked with a depth bound (following links to folders, never round a loop), every .gguf file read
// for its header only (gguf.ts). A split model is one entry with its total size, projector (mmproj)
// files are attached to the models in their folder, the same file reached twice (a cache snapshot
// link, a folder listed twice) is listed once, and a file that can't be read is listed with why.
import fs from 'node:fs/promises';
import path from 'node:path';
import type { ModelConfig } from '../../../src-shared/config.js';
import type { LibraryEntry, LibraryListing, LibraryRootInfo, LibrarySource } from '../../../src-shared/contract.js';
import { readGgufHeader, summarizeGguf, summaryKeysRead, quantFromFileName, type GgufHeader, type GgufSummary } from './gguf.js';

export interface LibraryRoot {
  path: string;
  source: LibrarySource;
}

/** How deep below a models folder files are looked for (LM Studio: publisher/repo/file is 2). */
export const MAX_DEPTH = 6;
/** At most this many folder entries are looked at per root (a models folder pointed at / stays bounded). */
const MAX_ENTRIES = 100_000;
/** Headers read at once: on 2 cores 4 took as long as 16 (the walk over the tokenizer is CPU-bound) with a quarter of the buffers. */
const CONCURRENCY = 4;
const SPLIT = /^(.*)-(\d{5})-of-(\d{5})\.gguf$/i;

/**
 * The folders to scan: program.models_dirs (absolute), then LM Studio's (~/.lmstudio/models, the
 * older ~/.cache/lm-studio/models) and the Hugging Face cache ($HF_HUB_CACHE, $HF_HOME/hub,
 * ~/.cache/huggingface/hub).
 */
export function libraryRoots(modelsDirs: readonly string[], options: { home: string; env: Record<string, string | undefined> }): LibraryRoot[] {
  const { home, env } = options;
  const nonEmpty = (v: string | undefined) => (v && v.trim() !== '' ? v : undefined);
  const hfHome = nonEmpty(env['HF_HOME']) ?? path.join(nonEmpty(env['XDG_CACHE_HOME']) ?? path.join(home, '.cache'), 'huggingface');
  return [
    ...modelsDirs.map((p) => ({ path: p, source: 'models_dir' as const })),
    { path: path.join(home, '.lmstudio', 'models'), source: 'lmstudio' },
    { path: path.join(home, '.cache', 'lm-studio', 'models'), source: 'lmstudio' },
    { path: nonEmpty(env['HF_HUB_CACHE']) ?? path.join(hfHome, 'hub'), source: 'huggingface' },
  ];
}

/** One .gguf file found. */
interface Found {
  path: string;
  name: string;
  source: LibrarySource;
  /** The folder its projector files are looked for in (and its split parts grouped by). */
  dir: string;
  size: number;
  mtimeMs: number;
  /** dev:ino, so a file reached twice counts once. */
  id: string;
  /** In the Hugging Face cache: the repo, and whether this is the snapshot refs/main points at. */
  repo?: string;
  preferred?: boolean;
  error?: string;
}

/** What one file's header gave, kept between scans while the file is unchanged. */
export interface HeaderResult {
  header?: GgufHeader;
  error?: string;
}
export type HeaderCache = Map<string, { size: number; mtimeMs: number; id: string; result: HeaderResult }>;

export interface ScanOptions {
  /** The configured models, paths resolved: which of them use each file (`usedBy`). */
  models?: readonly ModelConfig[];
  /** Headers read by an earlier scan; unchanged files are not read again. Updated in place. */
  cache?: HeaderCache;
  maxDepth?: number;
  platform?: NodeJS.Platform;
}

export async function scanLibrary(roots: readonly LibraryRoot[], options: ScanOptions = {}): Promise<LibraryListing> {
  const t0 = performance.now();
  const maxDepth = options.maxDepth ?? MAX_DEPTH;
  const rootInfos: LibraryRootInfo[] = [];
  const found: Found[] = [];
  const seenRoots = new Set<string>();
  for (const root of roots) {
    const info: LibraryRootInfo = { path: root.path, source: root.source, present: false, error: null };
    rootInfos.push(info);
    let real: string;
    try {
      real = await fs.realpath(root.path);
      const st = await fs.stat(real);
      if (!st.isDirectory()) {
        info.error = 'not a folder';
        continue;
      }
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') info.error = (err as Error).message;
      continue;
    }
    info.present = true;
    if (seenRoots.has(real)) continue;
    seenRoots.add(real);
    const budget = { entries: 0 };
    try {
      if (root.source === 'huggingface') await walkHfCache(root, found, maxDepth, budget);
      else await walk(root.path, '', 0, { root, found, maxDepth, budget, visited: new Set([real]) });
    } catch (err) {
      info.error = (err as Error).message;
    }
  }

  // The same file once: the first root that has it, and in the cache the snapshot refs/main names.
  const byId = new Map<string, Found>();
  for (const f of found) {
    const had = byId.get(f.id);
    if (!had || (had.source === f.source && f.preferred && !had.preferred)) byId.set(f.id, f);
  }
  const files = [...byId.values()];

  // Split models: one group per folder + stem + part count.
  const groups = new Map<string, Found[]>();
  for (const f of files) {
    const m = SPLIT.exec(path.basename(f.path));
    const key = m ? `${f.dir}\0${m[1]!.toLowerCase()}\0${m[3]}` : `${f.path}\0`;
    const list = groups.get(key);
    if (list) list.push(f);
    else groups.set(key, [f]);
  }

  const cache = options.cache ?? new Map();
  const used = new Set<string>();
  const buffers: Buffer[] = [];
  const header = (f: Found): Promise<HeaderResult> => {
    used.add(f.path);
    if (f.error) return Promise.resolve({ error: f.error });
    const hit = cache.get(f.path);
    if (hit && hit.size === f.size && hit.mtimeMs === f.mtimeMs && hit.id === f.id) return Promise.resolve(hit.result);
    return readGgufHeader(f.path, { buffers, stopBefore: summaryKeysRead }).then(
      (h) => ({ header: h }),
      (err: unknown) => ({ error: readError(err) }),
    ).then((result) => {
      cache.set(f.path, { size: f.size, mtimeMs: f.mtimeMs, id: f.id, result });
      return result;
    });
  };

  const entries = await mapLimit([...groups.values()], CONCURRENCY, async (group) => entryOf(group, header));
  for (const key of [...cache.keys()]) if (!used.has(key)) cache.delete(key);

  attachProjectors(entries);
  const listed = entries.filter((e) => !e.attached).map((e) => e.entry);
  const usedBy = usageIndex(options.models ?? [], options.platform ?? process.platform);
  for (const entry of listed) entry.usedBy = usedBy(entry);
  const order: LibrarySource[] = ['models_dir', 'lmstudio', 'huggingface'];
  listed.sort((a, b) => order.indexOf(a.source) - order.indexOf(b.source) || a.name.localeCompare(b.name));
  return { scannedAt: new Date().toISOString(), durationMs: Math.round((performance.now() - t0) * 10) / 10, roots: rootInfos, entries: listed };
}

function readError(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (e.code === 'EACCES' || e.code === 'EPERM') return `can't read the file: permission denied`;
  if (e.code === 'EISDIR') return 'a folder, not a file';
  return e.message;
}

interface Built {
  entry: LibraryEntry;
  dir: string;
  attached?: boolean;
}

async function entryOf(group: Found[], header: (f: Found) => Promise<HeaderResult>): Promise<Built> {
  const first = group[0]!;
  const split = group.length > 1 || SPLIT.test(path.basename(first.path));
  let parts = group;
  let problem: string | undefined;
  if (split) {
    parts = [...group].sort((a, b) => a.path.localeCompare(b.path));
    const m = SPLIT.exec(path.basename(parts[0]!.path))!;
    const count = Number(m[3]);
    const have = new Set(parts.map((p) => Number(SPLIT.exec(path.basename(p.path))![2])));
    const missing: string[] = [];
    for (let i = 1; i <= count; i++) if (!have.has(i)) missing.push(`${m[1]}-${String(i).padStart(5, '0')}-of-${m[3]}.gguf`);
    if (missing.length > 0) problem = `split model: ${count - missing.length} of ${count} parts here; missing ${missing.join(', ')}`;
  }
  const head = parts[0]!;
  const sizeBytes = parts.reduce((sum, p) => sum + p.size, 0);
  const results = await Promise.all(parts.map(header));
  const main = results[0]!;
  const fileName = path.basename(head.path);
  let summary: GgufSummary | null = null;
  if (main.header) {
    const tensorCounts = results.map((r) => r.header?.tensorElements ?? null);
    const tensors = problem || tensorCounts.some((n) => n === null) ? null : tensorCounts.reduce<number>((a, b) => a + b!, 0);
    summary = summarizeGguf(main.header, fileName, sizeBytes, tensors);
  }
  const partError = results.findIndex((r, i) => i > 0 && r.error);
  const error = main.error ?? problem ?? (partError > 0 ? `${path.basename(parts[partError]!.path)}: ${results[partError]!.error}` : undefined);
  const quantName = quantFromFileName(fileName);
  const entry: LibraryEntry = {
    path: head.path,
    name: head.name,
    source: head.source,
    sizeBytes,
    modifiedAt: new Date(Math.max(...parts.map((p) => p.mtimeMs))).toISOString(),
    architecture: summary?.architecture ?? null,
    modelName: summary?.modelName ?? null,
    parameters: summary?.parameters ?? null,
    parametersSource: summary?.parametersSource ?? null,
    quantization: summary ? summary.quantization : quantName,
    quantizationSource: summary ? summary.quantizationSource : quantName ? 'file_name' : null,
    contextLength: summary?.contextLength ?? null,
    kind: summary?.kind ?? (/mmproj/i.test(fileName) ? 'mmproj' : /re-?rank/i.test(fileName) ? 'reranker' : /embed/i.test(fileName) ? 'embedding' : 'chat'),
    ...(split ? { splitParts: parts.map((p) => p.path) } : {}),
    usedBy: [],
    ...(error !== undefined ? { error } : {}),
  };
  return { entry, dir: head.dir };
}

/** Projector files go with every model in their folder; one with none beside it stays an entry of its own. */
function attachProjectors(built: Built[]): void {
  const byDir = new Map<string, Built[]>();
  for (const b of built) {
    const list = byDir.get(b.dir);
    if (list) list.push(b);
    else byDir.set(b.dir, [b]);
  }
  const rank = (name: string) => (/(^|[-_.])f16([-_.]|$)/i.test(name) ? 0 : /bf16/i.test(name) ? 1 : /f32/i.test(name) ? 2 : 3);
  for (const list of byDir.values()) {
    const projectors = list.filter((b) => b.entry.kind === 'mmproj');
    const models = list.filter((b) => b.entry.kind !== 'mmproj');
    if (projectors.length === 0 || models.length === 0) continue;
    const paths = projectors
      .map((p) => p.entry.path)
      .sort((a, b) => rank(path.basename(a)) - rank(path.basename(b)) || a.localeCompare(b));
    for (const m of models) m.entry.mmproj = paths;
    for (const p of projectors) p.attached = true;
  }
}

// ---- walking ---------------------------------------------------------------------------------

interface WalkState {
  root: LibraryRoot;
  found: Found[];
  maxDepth: number;
  budget: { entries: number };
  /** Real paths of the folders entered, so a link back up is not followed round. */
  visited: Set<string>;
  /** Names are `prefix + relative path`; files group by `groupDir` when set (a cache snapshot). */
  prefix?: string;
  repo?: string;
  preferred?: boolean;
}

async function walk(dir: string, rel: string, depth: number, state: WalkState): Promise<void> {
  let dirents;
  try {
    dirents = await fs.readdir(dir, { withFileTypes: true });
  } catch (err) {
    if (depth === 0) throw err;
    return; // a subfolder we may not read: skipped
  }
  for (const d of dirents) {
    if (++state.budget.entries > MAX_ENTRIES) return;
    if (d.name.startsWith('.')) continue;
    const full = path.join(dir, d.name);
    const relName = rel === '' ? d.name : `${rel}/${d.name}`;
    const isGguf = /\.gguf$/i.test(d.name);
    if (d.isDirectory() || (d.isSymbolicLink() && !isGguf)) {
      if (depth + 1 > state.maxDepth) continue;
      let real: string;
      try {
        real = await fs.realpath(full);
        if (!(await fs.stat(real)).isDirectory()) continue;
      } catch {
        continue;
      }
      if (state.visited.has(real)) continue;
      state.visited.add(real);
      await walk(full, relName, depth + 1, state);
    } else if (isGguf && (d.isFile() || d.isSymbolicLink())) {
      const f: Found = { path: full, name: (state.prefix ?? '') + relName, source: state.root.source, dir, size: 0, mtimeMs: 0, id: full };
      if (state.repo !== undefined) f.repo = state.repo;
      if (state.preferred) f.preferred = true;
      try {
        const st = await fs.stat(full);
        if (!st.isFile()) continue;
        f.size = st.size;
        f.mtimeMs = st.mtimeMs;
        f.id = `${st.dev}:${st.ino}`;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        f.error = code === 'ENOENT' ? 'a link to a file that is not there' : readError(err);
      }
      state.found.push(f);
    }
  }
}

/** `models--owner--repo/snapshots/<rev>/…`: files are links into `blobs/`; named `owner/repo/file`. */
async function walkHfCache(root: LibraryRoot, found: Found[], maxDepth: number, budget: { entries: number }): Promise<void> {
  const repos = await fs.readdir(root.path, { withFileTypes: true });
  for (const r of repos) {
    if (!r.name.startsWith('models--')) continue;
    const repoDir = path.join(root.path, r.name);
    const repo = r.name.slice('models--'.length).split('--').join('/');
    const main = await fs.readFile(path.join(repoDir, 'refs', 'main'), 'utf8').then((t) => t.trim(), () => null);
    let revs: string[];
    try {
      revs = await fs.readdir(path.join(repoDir, 'snapshots'));
    } catch {
      continue;
    }
    // The revision refs/main names first, so its links are the ones listed.
    revs.sort((a, b) => Number(b === main) - Number(a === main) || a.localeCompare(b));
    for (const rev of revs) {
      const dir = path.join(repoDir, 'snapshots', rev);
      let real: string;
      try {
        real = await fs.realpath(dir);
      } catch {
        continue;
      }
      await walk(dir, '', 0, { root, found, maxDepth: Math.min(maxDepth, 4), budget, visited: new Set([real]), prefix: `${repo}/`, repo, preferred: rev === main }).catch(() => undefined);
    }
  }
}

async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

// ---- which config entries use a file ---------------------------------------------------------

interface HfRef {
  model: string;
  repo: string;
  file: string | null;
  quant: string | null;
}

/**
 * A function giving the models whose launch profile names an entry's file: an engine profile's
 * `model`/`mmproj` (or `hf:` reference), a profile's `model:`, or an argument naming the file
 * (as `-m FILE`, `--model=FILE`, relative to the profile's cwd).
 */
export function usageIndex(models: readonly ModelConfig[], platform: NodeJS.Platform): (entry: LibraryEntry) => string[] {
  const norm = (p: string) => (platform === 'win32' ? path.resolve(p).toLowerCase() : path.resolve(p));
  const byPath = new Map<string, Set<string>>();
  const hfRefs: HfRef[] = [];
  const addPath = (p: string, model: string) => {
    const key = norm(p);
    let set = byPath.get(key);
    if (!set) byPath.set(key, (set = new Set()));
    set.add(model);
  };
  const addHf = (ref: string, model: string) => {
    const m = /^hf:([^/:\s]+\/[^/:\s]+)(?::([^/\s]+)|\/(.+))?$/i.exec(ref.trim());
    if (m) hfRefs.push({ model, repo: m[1]!.toLowerCase(), quant: m[2]?.toLowerCase() ?? null, file: m[3]?.toLowerCase() ?? null });
  };
  for (const model of models) {
    for (const p of model.profiles) {
      const cwd = p.cwd ?? '.';
      const words: string[] = [...p.args];
      if (p.engine) {
        words.push(p.engine.model, ...p.engine.extraArgs);
        if (p.engine.kind === 'llama.cpp' && p.engine.mmproj) words.push(p.engine.mmproj);
      }
      if (p.modelPath !== undefined) words.push(p.modelPath);
      for (const word of words) {
        if (/^hf:/i.test(word)) {
          addHf(word, model.name);
          continue;
        }
        const value = /^--?[\w-]+=/.test(word) ? word.slice(word.indexOf('=') + 1) : word;
        if (/\.gguf$/i.test(value)) addPath(path.resolve(cwd, value), model.name);
      }
    }
  }
  return (entry) => {
    const names = new Set<string>();
    for (const p of [entry.path, ...(entry.splitParts ?? [])]) for (const n of byPath.get(norm(p)) ?? []) names.add(n);
    if (entry.source === 'huggingface') {
      const lower = entry.name.toLowerCase();
      for (const ref of hfRefs) {
        if (!lower.startsWith(`${ref.repo}/`)) continue;
        const file = lower.slice(ref.repo.length + 1);
        const quant = ref.quant ?? (ref.file ? null : 'q4_k_m'); // llama-server's default quant
        if (ref.file ? file === ref.file : quant !== null && (entry.quantization?.toLowerCase() === quant || file.includes(quant))) names.add(ref.model);
      }
    }
    return [...names].sort();
  };
}
