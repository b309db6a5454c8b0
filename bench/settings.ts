// Knobs of `npm run bench`, read once from the environment.
//   BENCH_QUICK=1          everything shorter (a smoke run of about a minute)
//   BENCH_ROUNDS=N         rounds of the latency / throughput / streaming figures (median reported)
//   BENCH_DURATION_S=N     seconds of each wrk measurement (whole seconds)
//   BENCH_IDLE_S=N         seconds the 20-model node is watched while idle (CPU figure)
//   BENCH_PROFILE=1        also run the router under --cpu-prof at c=64 and print its top frames
//   BENCH_KEEP_TMP=1       keep the temp folder (configs, nginx.conf, process logs)
//   BENCH_ROUTER_ENTRY=F   run this built cli.js instead of building (A/B a patched copy; it must live
//                          inside the repository so that node_modules resolve)
//   BENCH_ONLY=a,b         run only these phases (latency, streaming, lifecycle, bursts, readiness, swap, peers,
//                          library, scale, footprint, profile); the figures of the others are left out
//                          (library: the models folder scan of 200 GGUF files with real-sized headers)
//   LLAMA_SWAP_BIN=F       llama-swap binary for the peer column (else `llama-swap` from PATH; none: skipped)
//   BENCH_ROUTER_FLAGS=..  extra node flags for every router process (A/B a V8 flag, e.g. --max-semi-space-size=1)
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const env = process.env;
const quick = isOn(env['BENCH_QUICK']);

function isOn(value: string | undefined): boolean {
  return value !== undefined && ['1', 'true', 'yes', 'on'].includes(value.toLowerCase());
}

function num(name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number, got "${raw}"`);
  return value;
}

export const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));

export const settings = {
  quick,
  rounds: Math.round(num('BENCH_ROUNDS', quick ? 3 : 10)),
  durationS: Math.round(num('BENCH_DURATION_S', 1)),
  warmupS: quick ? 1 : 1,
  idleS: num('BENCH_IDLE_S', quick ? 10 : 60),
  /** Interleaved streaming requests per target and round. */
  streamRequests: quick ? 4 : 12,
  streamWarmup: quick ? 3 : 5,
  /** Short streams (max_tokens 1, 16 at a time) through every target before any is measured: a JIT-compiled proxy in steady state, as wrk's warm-up gives the c=1 figures. */
  streamJitWarmup: quick ? 1000 : 3000,
  streamTokens: 8,
  streamDelayMs: 20,
  coldReps: quick ? 3 : 5,
  coldLoadMs: 500,
  coldBurst: 500,
  stopReps: quick ? 3 : 5,
  /** Bursts against an engine with llama-server's HTTP threads (test/fixtures/thread-bound-engine.mjs). */
  burstSizes: [20, 100],
  boundEngine: { threads: 6, parallel: 4, serviceMs: 40, idleCloseMs: 3000, loadMs: 300 },
  /** Readiness: starts per engine kind, and how long each demo engine loads. */
  readinessReps: quick ? 6 : 15,
  readinessLoadMs: 500,
  /** Swap: swaps per case (A idle, A busy), the engines' load, and A's stream when busy. */
  swapReps: quick ? 4 : 10,
  swapLoadMs: 300,
  swapStreamTokens: 12,
  swapStreamDelayMs: 25,
  scaleStreams: 1000,
  scaleDelayMs: 100,
  scaleTokens: quick ? 10 : 20,
  footprintModels: 20,
  /** Library: cold and warm scans of the 200 files (a fresh Library each). */
  libraryReps: quick ? 3 : 5,
  profile: isOn(env['BENCH_PROFILE']) || process.argv.includes('--profile'),
  only: new Set((env['BENCH_ONLY'] ?? '').split(',').map((s) => s.trim()).filter(Boolean)),
  profileS: quick ? 4 : 8,
  keepTmp: isOn(env['BENCH_KEEP_TMP']),
  routerFlags: (env['BENCH_ROUTER_FLAGS'] ?? '').split(/\s+/).filter(Boolean),
  /** Servers (engines, nginx, proxies, router) run on this core; wrk and the bench's clients on the other. */
  serverCpu: '0',
  clientCpu: os.cpus().length >= 2 ? '1' : '0',
  /** alive_time of the hot-path models: long enough never to fire, but armed like a real config's. */
  aliveTimeMin: 60,
  engineScript: join(ROOT, 'scripts', 'demo-engine.mjs'),
  boundEngineScript: join(ROOT, 'test', 'fixtures', 'thread-bound-engine.mjs'),
  resultsDir: join(ROOT, 'bench-results'),
};

export type Settings = typeof settings;
