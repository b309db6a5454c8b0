// Turns the raw measurements into the figures with their targets, prints the table, writes JSON.
import fs from 'node:fs';
import path from 'node:path';
import type { LatencyRound } from './phases/latency.js';
import { pairedAddedTtfb, pairedDifferences, type StreamStats, type StreamTarget, type UsageAB } from './phases/streaming.js';
import type { BurstResult, ColdResult, StopResult } from './phases/lifecycle.js';
import type { FootprintResult } from './phases/footprint.js';
import type { ScaleResult } from './phases/scale.js';
import type { BurstRun } from './phases/bursts.js';
import type { ReadinessResult } from './phases/readiness.js';
import { swapAdded, swapCut, type SwapResult } from './phases/swap.js';
import { peerAdded, type PeerHopResult } from './phases/peers.js';
import type { LibraryScanResult } from './phases/library.js';
import { peerColdAdded, type PeerColdResult } from './peer.js';
import { median, medianInterval, percentile, round } from './stats.js';
import { TARGETS, type TargetName } from './targets.js';

const PEER: TargetName = 'llama-swap';
/** `row` with the peer's value of the same figure, when there is one. */
const withPeer = (row: Row, peer: number | undefined): Row => (peer === undefined ? row : { ...row, peer });

export interface Row {
  figure: string;
  measured: number;
  unit: string;
  /** e.g. "≤ 0.2 ms"; empty for a figure shown for reference. */
  target: string;
  pass: boolean | null;
  /** The same figure for the peer (llama-swap), when it ran; targets apply to `measured` only. */
  peer?: number;
}

export interface Raw {
  latency: LatencyRound[];
  streaming: Record<StreamTarget, StreamStats> | null;
  /** The router's streams with usage on and off (usage capture's cost on the first byte). */
  streamingUsage?: UsageAB | null;
  cold?: ColdResult;
  burst?: BurstResult;
  stop?: StopResult;
  footprint?: FootprintResult;
  scale?: ScaleResult;
  bursts?: BurstRun[];
  readiness?: ReadinessResult;
  swap?: SwapResult;
  /** Through another LLM Manager node (peers:) against that node itself (#16). */
  peers?: PeerHopResult;
  /** The models folder scan (#15 item 4). */
  library?: LibraryScanResult;
  /** The peer column: llama-swap's binary (null: skipped, with the note) and its figures. */
  peer?: { name: string; bin: string | null; note: string; version: string | null };
  peerCold?: PeerColdResult;
  peerSwap?: SwapResult;
}

const info = (figure: string, measured: number, unit: string): Row => ({ figure, measured, unit, target: '', pass: null });
const atMost = (figure: string, measured: number, unit: string, limit: number, label = `≤ ${limit} ${unit}`.trim()): Row => ({
  figure,
  measured,
  unit,
  target: label,
  pass: Number.isFinite(measured) && measured <= limit,
});
const atLeast = (figure: string, measured: number, unit: string, limit: number, label = `≥ ${limit} ${unit}`.trim()): Row => ({
  figure,
  measured,
  unit,
  target: label,
  pass: Number.isFinite(measured) && measured >= limit,
});

export function figures(raw: Raw): Row[] {
  const rows: Row[] = [];
  const lat = raw.latency;
  if (lat.length > 0) {
    const hasPeer = lat.every((r) => r.c1[PEER] !== undefined && r.c64[PEER] !== undefined);
    const peer = (f: (t: TargetName) => number) => (hasPeer ? f(PEER) : undefined);
    const p = (t: TargetName, q: 'p50' | 'p99', c: 'c1' | 'c64') => lat.map((r) => r[c][t].latencyUs[q] / 1000);
    const added = (t: TargetName) => median(lat.map((r) => (r.c1[t].latencyUs.p50 - r.c1.direct.latencyUs.p50) / 1000));
    for (const t of TARGETS) rows.push(withPeer(info(`c=1 p50 latency, ${t}`, median(p(t, 'p50', 'c1')), 'ms'), t === 'router' ? peer((x) => median(p(x, 'p50', 'c1'))) : undefined));
    for (const t of TARGETS) rows.push(withPeer(info(`c=1 p99 latency, ${t}`, median(p(t, 'p99', 'c1')), 'ms'), t === 'router' ? peer((x) => median(p(x, 'p99', 'c1'))) : undefined));
    rows.push(info('c=1 added p50, nginx', added('nginx'), 'ms'));
    rows.push(info('c=1 added p50, bare Node proxy', added('bare'), 'ms'));
    rows.push(withPeer(atMost('c=1 added p50, router (over direct)', added('router'), 'ms', 0.2), peer(added)));
    rows.push(atMost('c=1 router added ÷ bare proxy added', added('router') / added('bare'), '×', 1.15, '≤ 1.15 ×'));
    // The same router with program.usage: off, measured next to it each round.
    const withoutUsage = lat.filter((r) => r.c1NoUsage !== undefined);
    if (withoutUsage.length > 0) {
      rows.push(atMost('c=1 added by usage capture (p50, router − router with usage: off)', median(withoutUsage.map((r) => (r.c1.router.latencyUs.p50 - r.c1NoUsage!.latencyUs.p50) / 1000)), 'ms', 0.02));
    }
    const rps = (t: TargetName) => median(lat.map((r) => r.c64[t].rps));
    for (const t of TARGETS) rows.push(withPeer(info(`c=64 throughput, ${t}`, rps(t), 'req/s'), t === 'router' ? peer(rps) : undefined));
    for (const t of TARGETS) rows.push(withPeer(info(`c=64 p99 latency, ${t}`, median(p(t, 'p99', 'c64')), 'ms'), t === 'router' ? peer((x) => median(p(x, 'p99', 'c64'))) : undefined));
    const ofDirect = (t: TargetName) => median(lat.map((r) => r.c64[t].rps / r.c64.direct.rps));
    rows.push(withPeer(atLeast('c=64 router ÷ direct throughput', ofDirect('router'), '×', 0.2, '≥ 0.2 ×'), peer(ofDirect)));
    rows.push(atLeast('c=64 router ÷ bare proxy throughput', median(lat.map((r) => r.c64.router.rps / r.c64.bare.rps)), '×', 0.9, '≥ 0.9 ×'));
    const errors = (t: TargetName) => lat.reduce((sum, r) => sum + r.c1[t].errors + r.c64[t].errors, 0);
    rows.push(withPeer(atMost('router wrk errors (all rounds)', errors('router'), '', 0, '= 0'), peer(errors)));
  }
  const st = raw.streaming;
  if (st) {
    const peer = (f: (t: TargetName) => number) => (st[PEER] ? f(PEER) : undefined);
    for (const t of TARGETS) rows.push(withPeer(info(`stream TTFB p50, ${t}`, median(st[t].ttfbMs), 'ms'), t === 'router' ? peer((x) => median(st[x].ttfbMs)) : undefined));
    rows.push(info('stream added TTFB (paired), nginx', pairedAddedTtfb(st, 'nginx'), 'ms'));
    rows.push(info('stream added TTFB (paired), bare Node proxy', pairedAddedTtfb(st, 'bare'), 'ms'));
    rows.push(info('stream added TTFB (paired), Node byte pipe, no HTTP', pairedAddedTtfb(st, 'pipe'), 'ms'));
    rows.push(withPeer(atMost('stream added TTFB (paired), router', pairedAddedTtfb(st, 'router'), 'ms', 0.3), peer((x) => pairedAddedTtfb(st, x))));
    // Single streams' TTFB spread by ±0.5 ms on a shared VM: how sure the median above is.
    const [low, high] = medianInterval(pairedDifferences(st, 'router'));
    rows.push(info('stream added TTFB (paired), router: 95 % interval of that median, low end', low, 'ms'));
    rows.push(info('stream added TTFB (paired), router: 95 % interval of that median, high end', high, 'ms'));
    const ab = raw.streamingUsage;
    if (ab && ab.onAddedMs.length > 0) rows.push(info('stream added TTFB by usage capture (paired, router − router with usage: off)', median(ab.onAddedMs) - median(ab.offAddedMs), 'ms'));
    for (const t of TARGETS) rows.push(withPeer(info(`stream chunk gap p50 / p99, ${t}`, median(st[t].gapsMs), `ms / ${percentile(st[t].gapsMs, 99).toFixed(2)} ms`), t === 'router' ? peer((x) => median(st[x].gapsMs)) : undefined));
    for (const t of TARGETS) rows.push(withPeer(info(`stream batched chunks, ${t}`, st[t].batched, ''), t === 'router' ? peer((x) => st[x].batched) : undefined));
    // Reads holding two send times also come from stalls of the engine or of this machine (the engine
    // then writes overdue chunks back to back); those show up in the direct requests beside them.
    const beyond = (t: TargetName) => Math.max(0, st[t].batched - st.direct.batched);
    rows.push(withPeer(atMost('stream batched chunks, router, beyond direct', beyond('router'), '', 0, '= 0'), peer(beyond)));
    const lost = (t: TargetName) => st[t].sentEvents - st[t].receivedEvents + st[t].errors.length;
    rows.push(withPeer(atMost('stream events lost or failed, router', lost('router'), '', 0, '= 0'), peer(lost)));
  }
  if (raw.cold) {
    const c = raw.cold;
    const engine = median(c.engineReadyMs);
    const router = median(c.routerTtfbMs);
    rows.push(info('cold: engine alone, spawn → ready p50', engine, 'ms'));
    rows.push(info('cold: router log, spawn → engine ready p50', median(c.logSpawnToReadyMs), 'ms'));
    rows.push(info('cold: via router, request → first byte p50', router, 'ms'));
    // The engine's own ready time as the router saw it ("starting" → "listening" in its log): what is
    // left is the router's part (request → spawn, readiness detection, proxying the first answer).
    const byLog = median(c.routerTtfbMs.map((t, i) => t - (c.logSpawnToReadyMs[i] ?? NaN)));
    rows.push(atMost('cold start added p50 (over the engine\'s ready time)', byLog, 'ms', 50));
    rows.push(info('cold start added p50 (over the engine alone, paired)', median(c.routerTtfbMs.map((t, i) => t - (c.engineReadyMs[i] ?? NaN))), 'ms'));
    // The engine's own start → ready moments (its --times-file): the same yardstick for the peer.
    const byTimes = median(c.routerTtfbMs.map((t, i) => t - (c.engineStartMs[i] ?? NaN)));
    rows.push(withPeer(info("cold start added p50 (over the engine's own start → ready)", byTimes, 'ms'), raw.peerCold ? peerColdAdded(raw.peerCold) : undefined));
  }
  if (raw.burst) {
    rows.push({ figure: `cold burst: engine spawns for ${raw.burst.requests} requests`, measured: raw.burst.spawns, unit: '', target: '= 1', pass: raw.burst.spawns === 1 });
    rows.push(atMost(`cold burst: failed requests of ${raw.burst.requests}`, raw.burst.failures, '', 0, '= 0'));
  }
  if (raw.stop) {
    const engine = median(raw.stop.engineExitMs);
    const router = median(raw.stop.routerStopMs);
    rows.push(info('stop: engine alone, SIGTERM → exit p50', engine, 'ms'));
    rows.push(info('stop: router, stop request → answer p50', router, 'ms'));
    const paired = median(raw.stop.routerStopMs.map((t, i) => t - (raw.stop!.engineExitMs[i] ?? NaN)));
    rows.push(atMost('stop added p50 (router − engine alone, paired)', paired, 'ms', 100));
    rows.push(info('stop: router log, stopping → engine exited p50', median(raw.stop.logStopToExitMs), 'ms'));
  }
  for (const b of raw.bursts ?? []) {
    rows.push(info(`burst of ${b.size}, thread-bound engine: direct to a fresh engine`, b.directColdMs, 'ms'));
    rows.push(atMost(`burst of ${b.size}, cold through the router (from the engine's ready line) ÷ direct`, b.routerColdMs / b.directColdMs, '×', 1.2, '≤ 1.2 ×'));
    rows.push(atMost(`burst of ${b.size}, warm through the router ÷ direct`, b.routerWarmMs / b.directWarmMs, '×', 1.2, '≤ 1.2 ×'));
    rows.push(atMost(`burst of ${b.size}: failed requests`, b.failures, '', 0, '= 0'));
  }
  if (raw.readiness) {
    const r = raw.readiness;
    rows.push(atMost("readiness: added over the engine's ready moment, median, engine that says so", median(r.addedMs.hint), 'ms', 5));
    rows.push(atMost("readiness: added over the engine's ready moment, median, silent engine (binds when ready)", median(r.addedMs['silent-bind']), 'ms', 5));
    rows.push(info("readiness: added over the engine's ready moment, median, silent engine answering 503 while loading", median(r.addedMs['silent-503']), 'ms'));
  }
  if (raw.library) {
    const l = raw.library;
    const what = `${l.files} GGUF files, ${(l.headerBytes / 1e6).toFixed(1)} MB headers${l.sparse ? '' : ', header-only files'}`;
    rows.push(atMost(`library scan, cold (no header cached), median: ${what}`, median(l.coldMs), 'ms', 1000));
    rows.push(info(`library scan, warm (every header cached), median: ${what}`, median(l.warmMs), 'ms'));
  }
  if (raw.peers) {
    rows.push(info('through a peer node, p50 c=1 (the node itself)', median(raw.peers.directP50Us) / 1000, 'ms'));
    rows.push(atMost("latency added through a peer node, p50 c=1 (over the peer's own)", peerAdded(raw.peers), 'ms', 0.3));
    rows.push(atMost('through a peer node: failed requests', raw.peers.errors, '', 0, '= 0'));
  }
  if (raw.swap) {
    const peerSwap = raw.peerSwap;
    rows.push(withPeer(atMost("swap added p50, A idle (over A's exit + B's load)", swapAdded(raw.swap, false), 'ms', 10), peerSwap ? swapAdded(peerSwap, false) : undefined));
    rows.push(withPeer(atMost("swap added p50, A busy (from the end of A's stream)", swapAdded(raw.swap, true), 'ms', 10), peerSwap ? swapAdded(peerSwap, true) : undefined));
    // Earlier figures: B's process start (exec, dynamic loading) counted as the router's (until 2026-12-03),
    // and over A's exit and B's load measured on the engine alone (its load varies by ±20 ms here).
    const withExec = (r: SwapResult, busy: boolean) => median(r.samples.filter((x) => x.busy === busy).map((x) => x.addedWithExecMs ?? NaN));
    rows.push(withPeer(info("swap added p50 with B's exec counted, A idle / A busy", withExec(raw.swap, false), `ms / ${withExec(raw.swap, true).toFixed(1)} ms`), peerSwap ? withExec(peerSwap, false) : undefined));
    const vsAlone = (r: SwapResult, busy: boolean) => median(r.samples.filter((x) => x.busy === busy).map((x) => x.addedVsAloneMs ?? NaN));
    rows.push(withPeer(info('swap added p50 over the engine alone, A idle / A busy', vsAlone(raw.swap, false), `ms / ${vsAlone(raw.swap, true).toFixed(1)} ms`), peerSwap ? vsAlone(peerSwap, false) : undefined));
    rows.push(withPeer(atMost("swap: A's streams cut", swapCut(raw.swap), '', 0, '= 0'), peerSwap ? swapCut(peerSwap) : undefined));
    rows.push(withPeer(atMost('swap: failed swaps', raw.swap.errors.length, '', 0, '= 0'), peerSwap ? peerSwap.errors.length : undefined));
  }
  if (raw.footprint) {
    const f = raw.footprint;
    rows.push(atMost(`idle RSS, ${f.models} models configured`, f.rssIdleMb, 'MB', 80));
    rows.push(atMost(`idle CPU over ${f.idleSeconds.toFixed(0)} s, device polling on (${f.deviceEvents} readings)`, f.cpuPercentOfCore, '% of a core', 1, '≤ 1 %'));
    rows.push(info(`idle CPU over ${f.quietSeconds.toFixed(0)} s, nobody watching`, f.quietCpuPercentOfCore, '% of a core'));
    rows.push(info('idle RSS after the quiet window', f.rssQuietMb, 'MB'));
  }
  if (raw.scale) {
    const s = raw.scale;
    rows.push(info(`scale: streams completed of ${s.streams}`, s.completed, ''));
    rows.push(atMost(`scale: ${s.streams} concurrent streams, errors`, s.errors, '', 0, '= 0'));
    rows.push(info('scale: peak streams open at once', s.peakConcurrent, ''));
    rows.push(info('scale: router RSS at peak', s.routerRssPeakMb, 'MB'));
  }
  return rows;
}

function fmt(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const abs = Math.abs(value);
  if (Number.isInteger(value) && abs >= 1) return String(value);
  return value.toFixed(abs >= 100 ? 0 : abs >= 10 ? 1 : abs >= 1 ? 2 : 3);
}

/** The figures; a llama-swap column when the peer ran (its value where the figure has one). */
export function table(rows: Row[], peerName = 'llama-swap'): string {
  const hasPeer = rows.some((r) => r.peer !== undefined);
  const cells = rows.map((r) => [
    r.figure,
    `${fmt(r.measured)} ${r.unit}`.trim(),
    r.target,
    r.pass === null ? '' : r.pass ? 'PASS' : 'FAIL',
    ...(hasPeer ? [r.peer === undefined ? '' : `${fmt(r.peer)} ${r.unit}`.trim()] : []),
  ]);
  const head = ['figure', 'measured', 'target', 'result', ...(hasPeer ? [peerName] : [])];
  const width = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => c.map((v, i) => v.padEnd(width[i]!)).join(' | ');
  return [line(head), width.map((w) => '-'.repeat(w)).join('-|-'), ...cells.map(line)].join('\n');
}

export function writeJson(dir: string, data: unknown): string {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `bench-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  const text = `${JSON.stringify(data, (_k, v: unknown) => (typeof v === 'number' && !Number.isInteger(v) ? round(v, 4) : v), 2)}\n`;
  fs.writeFileSync(file, text);
  fs.writeFileSync(path.join(dir, 'latest.json'), text);
  return file;
}
