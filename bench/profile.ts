// Reads a .cpuprofile (node --cpu-prof) and ranks frames by self and inclusive time, mapping the
// compiled router's frames back to src-*/**/*.ts lines through tsc's source maps.
import fs from 'node:fs';
import path from 'node:path';
import { SourceMap } from 'node:module';
import { fileURLToPath } from 'node:url';
import { ROOT } from './settings.js';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface Frame {
  frame: string;
  where: string;
  selfMs: number;
  selfPct: number;
  totalMs: number;
  totalPct: number;
}

export interface ProfileSummary {
  file: string;
  sampledMs: number;
  idlePct: number;
  gcPct: number;
  byCategory: Record<string, number>;
  topSelf: Frame[];
  topProductInclusive: Frame[];
}

const maps = new Map<string, SourceMap | null>();

function sourceMapFor(file: string): SourceMap | null {
  if (!maps.has(file)) {
    let map: SourceMap | null = null;
    try {
      map = new SourceMap(JSON.parse(fs.readFileSync(`${file}.map`, 'utf8')));
    } catch {
      map = null;
    }
    maps.set(file, map);
  }
  return maps.get(file)!;
}

/** "src-main/core/router/openai.ts:123" for our code, "node:_http_server:456" for Node's, etc. */
function location(cf: CallFrame): string {
  if (!cf.url) return '';
  if (!cf.url.startsWith('file://')) return `${cf.url}:${cf.lineNumber + 1}`;
  const file = fileURLToPath(cf.url);
  const map = /bench-results\/build\//.test(file) ? sourceMapFor(file) : null;
  if (map) {
    const entry = map.findEntry(cf.lineNumber, cf.columnNumber) as { originalSource?: string; originalLine?: number };
    if (entry?.originalSource) {
      const original = entry.originalSource.startsWith('file://') ? fileURLToPath(entry.originalSource) : path.resolve(path.dirname(file), entry.originalSource);
      return `${path.relative(ROOT, original)}:${(entry.originalLine ?? 0) + 1}`;
    }
  }
  const rel = path.relative(ROOT, file);
  return `${rel.startsWith('..') ? file : rel}:${cf.lineNumber + 1}`;
}

function category(cf: CallFrame): string {
  if (cf.functionName === '(idle)') return 'idle';
  if (cf.functionName === '(garbage collector)') return 'gc';
  if (cf.functionName === '(program)') return 'program (native, outside JS)';
  if (!cf.url) return 'native / builtin';
  if (cf.url.startsWith('node:')) return 'node internals';
  if (cf.url.includes('/node_modules/')) return 'node_modules';
  if (cf.url.includes('/src-main/') || cf.url.includes('/src-shared/')) return 'product (src-main, src-shared)';
  if (cf.url.includes('/bench/')) return 'bench proxy code';
  return 'other';
}

export function summarize(file: string, top = 25): ProfileSummary {
  const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const key = (cf: CallFrame) => `${cf.functionName || '(anonymous)'}\u0000${location(cf)}`;
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  const cats: Record<string, number> = {};
  let sampled = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const dt = (profile.timeDeltas[i + 1] ?? 0) / 1000; // a sample's time is the gap to the next one
    sampled += dt;
    const node = byId.get(profile.samples[i]!);
    if (!node) continue;
    const k = key(node.callFrame);
    self.set(k, (self.get(k) ?? 0) + dt);
    const cat = category(node.callFrame);
    cats[cat] = (cats[cat] ?? 0) + dt;
    const seen = new Set<string>();
    for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) {
      const n = byId.get(id)!;
      const c = category(n.callFrame);
      if (c !== 'product (src-main, src-shared)' && c !== 'bench proxy code') continue;
      const kk = key(n.callFrame);
      if (seen.has(kk)) continue;
      seen.add(kk);
      total.set(kk, (total.get(kk) ?? 0) + dt);
    }
  }
  const pct = (ms: number) => (sampled > 0 ? (100 * ms) / sampled : 0);
  const frame = (k: string, selfMs: number, totalMs: number): Frame => {
    const [name, where] = k.split('\u0000') as [string, string];
    return { frame: name, where, selfMs, selfPct: pct(selfMs), totalMs, totalPct: pct(totalMs) };
  };
  const topSelf = [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, top).map(([k, ms]) => frame(k, ms, total.get(k) ?? NaN));
  const topProductInclusive = [...total.entries()].sort((a, b) => b[1] - a[1]).slice(0, top).map(([k, ms]) => frame(k, self.get(k) ?? 0, ms));
  const byCategory = Object.fromEntries(Object.entries(cats).sort((a, b) => b[1] - a[1]).map(([k, ms]) => [k, pct(ms)]));
  return { file, sampledMs: sampled, idlePct: byCategory['idle'] ?? 0, gcPct: byCategory['gc'] ?? 0, byCategory, topSelf, topProductInclusive };
}

export function formatSummary(s: ProfileSummary, what: string, top = 20): string {
  const lines = [`CPU profile of the ${what} under c=64 load: ${s.file}`, `sampled ${s.sampledMs.toFixed(0)} ms; by category:`];
  for (const [cat, p] of Object.entries(s.byCategory)) lines.push(`  ${p.toFixed(1).padStart(5)} %  ${cat}`);
  lines.push('top frames by self time:');
  for (const f of s.topSelf.slice(0, top)) lines.push(`  ${f.selfPct.toFixed(1).padStart(5)} %  ${f.frame}  ${f.where}`);
  lines.push('own code (product / bench proxy) by inclusive time:');
  for (const f of s.topProductInclusive.slice(0, top)) lines.push(`  ${f.totalPct.toFixed(1).padStart(5)} %  (self ${f.selfPct.toFixed(1)} %)  ${f.frame}  ${f.where}`);
  return lines.join('\n');
}
