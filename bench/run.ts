// npm run bench — the router beside the engine itself, nginx and a bare Node proxy, on loopback.
// Servers run pinned to CPU 0, wrk and the bench's own clients to CPU 1. See bench/README.md.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { latencyRound, FAST_BODY, type LatencyRound } from './phases/latency.js';
import { streaming, type StreamStats, type StreamTarget } from './phases/streaming.js';
import { coldBurst, coldStart, stopTimes } from './phases/lifecycle.js';
import { BOUND_MODEL, boundEngineFlags, boundMaxConnections, bursts } from './phases/bursts.js';
import { startFootprint } from './phases/footprint.js';
import { readiness, readinessEngines } from './phases/readiness.js';
import { swapPhase } from './phases/swap.js';
import { peerHop } from './phases/peers.js';
import { libraryScan } from './phases/library.js';
import { findLlamaSwap, peerColdStart, peerSwap, startLlamaSwap } from './peer.js';
import { scaleStreams } from './phases/scale.js';
import { formatSummary, summarize, type ProfileSummary } from './profile.js';
import { foreignPercent, foreignTicks, freePorts, readCpuTimes, sleep, start, stealPercent, stopAll, sweep, waitForPort, type CpuTimes } from './procs.js';
import { figures, table, writeJson, type Raw } from './report.js';
import { settings } from './settings.js';
import { buildRouter, modelInfo, startBareProxy, startModel, startProxies, startRouter, writeRouterConfig, type EngineSpec, type RouterBuild, type TargetName } from './targets.js';
import { ensureTools, pinAndRaiseLimits, raisePriority, toolVersions } from './tools.js';
import { quietStats } from './quiet.js';
import { runWrk } from './wrk.js';

const log = (line: string) => process.stdout.write(`${line}\n`);
const began = Date.now();
const elapsed = () => `${((Date.now() - began) / 1000).toFixed(0)}s`;

let interrupted = false;
let cleaning: Promise<void> | null = null;
let tmpDir: string | null = null;
const cleanup = () =>
  (cleaning ??= stopAll()
    .catch(() => undefined)
    .finally(() => {
      if (tmpDir && !settings.keepTmp) fs.rmSync(tmpDir, { recursive: true, force: true });
    }));
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    log(`\n${signal}: stopping every process the bench started ...`);
    void cleanup().finally(() => process.exit(130));
  });
}
process.on('exit', () => sweep());

/** Whether a phase runs (BENCH_ONLY names the phases to run; unset: all). */
const want = (name: string) => settings.only.size === 0 || settings.only.has(name);

async function main(): Promise<number> {
  ensureTools(log);
  if (os.cpus().length < 2) log('warning: fewer than 2 CPUs: servers and load generator share one core');
  pinAndRaiseLimits(settings.clientCpu, log);
  const nice = raisePriority(log);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'llm-bench-'));
  tmpDir = tmp;
  const steal: Record<string, { all: number; perCpu: Record<string, number> }> = {};
  const foreign: Record<string, number> = {};
  const phaseSeconds: Record<string, number> = {};
  let mark: CpuTimes = readCpuTimes();
  let foreignMark = { ticks: foreignTicks(), at: Date.now() };
  const start0 = mark;
  const cpus = os.cpus().length;
  const phase = (name: string) => {
    const now = readCpuTimes();
    steal[name] = stealPercent(mark, now);
    mark = now;
    const f = { ticks: foreignTicks(), at: Date.now() };
    phaseSeconds[name] = (f.at - foreignMark.at) / 1000;
    foreign[name] = foreignPercent(foreignMark.ticks, f.ticks, phaseSeconds[name]!, cpus);
    foreignMark = f;
    if (foreign[name]! > 5) log(`  warning: other processes used ${foreign[name]!.toFixed(1)} % of the machine's CPUs during ${name}: figures are noisy`);
  };
  const busy = await busyBefore();
  if (busy > 5) log(`warning: the machine is not idle: ${busy.toFixed(1)} % of its CPU time was in use by other processes just before the run`);
  const raw: Raw = { latency: [], streaming: null };
  let profile: { router: ProfileSummary; bare: ProfileSummary } | null = null;
  let build: RouterBuild | null = null;
  try {
    log(`LLM Manager bench${settings.quick ? ' (BENCH_QUICK)' : ''}: ${settings.rounds} rounds × ${settings.durationS} s, idle window ${settings.idleS} s; servers on CPU ${settings.serverCpu}, load on CPU ${settings.clientCpu}${nice ? `, all at nice ${nice}` : ''}`);
    build = buildRouter();
    log(`router: ${build.runtime} (${build.note})`);
    if (settings.only.size > 0) log(`BENCH_ONLY: ${[...settings.only].join(', ')}`);

    const footprint = want('footprint') ? await startFootprint(build, path.join(tmp, 'footprint')) : null;
    if (footprint) log(`[${elapsed()}] footprint node started (20 models, idle, on CPU ${settings.clientCpu}); its idle window runs beside the next phases`);

    const [routerPort, fastPort, streamPort, coldPort, scalePort, nginxFast, nginxStream, barePort, pipePort, boundPort, ...readyPorts] = (await freePorts(13)) as number[] as [
      number, number, number, number, number, number, number, number, number, number, number, number, number,
    ];
    const configPath = path.join(tmp, 'main', 'config.yaml');
    fs.mkdirSync(path.dirname(configPath), { recursive: true });
    const readyDir = path.join(tmp, 'readiness');
    const coldTimes = path.join(tmp, 'main', 'cold.times');
    const mainEngines: EngineSpec[] = [
      { name: 'fast', port: fastPort, flags: ['--load-ms', '0', '--tokens-per-second', '0'], aliveTime: settings.aliveTimeMin },
      { name: 'stream', port: streamPort, flags: ['--load-ms', '0', '--stream-delay-ms', String(settings.streamDelayMs)], aliveTime: settings.aliveTimeMin },
      { name: 'cold', port: coldPort, flags: ['--load-ms', String(settings.coldLoadMs), '--tokens-per-second', '0', '--times-file', coldTimes], aliveTime: settings.aliveTimeMin, stopTimeout: '5s' },
      { name: 'scale', port: scalePort, flags: ['--load-ms', '0', '--stream-delay-ms', String(settings.scaleDelayMs)], aliveTime: settings.aliveTimeMin },
      { name: BOUND_MODEL, port: boundPort, script: settings.boundEngineScript, flags: boundEngineFlags(), aliveTime: settings.aliveTimeMin, maxConnections: boundMaxConnections() },
      ...readinessEngines(readyDir, { hint: readyPorts[0]!, 'silent-bind': readyPorts[1]!, 'silent-503': readyPorts[2]! }),
    ];
    const writeMainConfig = (program: Record<string, unknown> = {}) => writeRouterConfig(configPath, routerPort, path.join(tmp, 'main', 'logs'), mainEngines, program);
    writeMainConfig();
    const router = await startRouter(build, configPath, routerPort, settings.serverCpu);
    // "added by usage capture": the router's c=1 again with program.usage: off (a config reload,
    // the engines keep running), each round.
    const usageToggle = {
      off: () => switchUsage(router.url, writeMainConfig, 'off'),
      on: () => switchUsage(router.url, writeMainConfig, 'on'),
    };
    const hotPath = want('latency') || want('streaming');
    for (const model of ['fast', 'stream', 'scale']) if (hotPath || (model === 'scale' && want('scale'))) await startModel(router.url, model);
    const peer = hotPath || want('lifecycle') || want('swap') ? findLlamaSwap() : { bin: null, note: 'not needed by the phases run' };
    if (!peer.bin) log(`peer: ${peer.note}`);
    const swapPeer = peer.bin
      ? await startLlamaSwap(peer.bin, path.join(tmp, 'llama-swap'), { fast: fastPort, stream: streamPort }, settings.serverCpu)
      : null;
    if (swapPeer) log(`peer: llama-swap ${swapPeer.version} (${peer.bin}), on the same engines for c=1, c=64 and streaming, its own for cold start and swap`);
    raw.peer = { name: 'llama-swap', bin: peer.bin, note: peer.note, version: swapPeer?.version ?? null };
    const targets = hotPath
      ? await startProxies({
          dir: tmp,
          router,
          engines: { fast: fastPort, stream: streamPort },
          nginxPorts: { fast: nginxFast, stream: nginxStream },
          barePort,
          pipePort,
          cpu: settings.serverCpu,
          peerPort: swapPeer?.port ?? null,
        })
      : null;
    phase('setup');

    if (targets && want('latency')) {
      log(`[${elapsed()}] non-streaming latency (c=1) and throughput (c=64) with wrk${swapPeer ? ', llama-swap too' : ''}`);
      for (let r = 0; r < settings.rounds; r++) raw.latency.push(await latencyRound(targets, r, log, usageToggle));
      phase('latency');
    }

    if (targets && want('streaming')) {
      log(`[${elapsed()}] streaming (${settings.streamTokens} tokens, ${settings.streamDelayMs} ms apart) with a raw socket, ${settings.streamRequests * settings.rounds} interleaved requests per target`);
      const streamed = await streaming(targets, log, usageToggle);
      raw.streaming = streamed.stats;
      raw.streamingUsage = streamed.usageAB;
      phase('streaming');
    }
    if (targets) await targets.stopProxies();

    if (want('lifecycle')) {
      log(`[${elapsed()}] cold start (engine ready after ${settings.coldLoadMs} ms), ${settings.coldBurst} concurrent cold requests, stop`);
      raw.cold = await coldStart(router, coldTimes, log);
      if (swapPeer) raw.peerCold = await peerColdStart(swapPeer, log);
      raw.burst = await coldBurst(router, log);
      raw.stop = await stopTimes(router, log);
      phase('lifecycle');
    }

    if (want('bursts')) {
      log(`[${elapsed()}] bursts of ${settings.burstSizes.join(' and ')} requests against an engine with llama-server's HTTP threads (${settings.boundEngine.threads} threads, ${settings.boundEngine.parallel} slots), direct and through the router`);
      raw.bursts = await bursts(router, log);
      phase('bursts');
    }

    if (want('readiness')) {
      log(`[${elapsed()}] readiness: engines that load for ${settings.readinessLoadMs} ms and say so, say nothing and bind late, say nothing and answer 503; ${settings.readinessReps} starts each`);
      raw.readiness = await readiness(router, readyDir, log);
      phase('readiness');
    }

    if (want('swap')) {
      log(`[${elapsed()}] swap: A holds the (fake) GPU memory B needs; B requested with A idle and with a stream to A in flight, ${settings.swapReps} times each${swapPeer ? ', then llama-swap' : ''}`);
      raw.swap = await swapPhase(build, path.join(tmp, 'swap'), log);
      if (swapPeer) raw.peerSwap = await peerSwap(swapPeer, log);
      phase('swap');
    }
    if (swapPeer) await swapPeer.stop('SIGTERM', 10_000);

    if (want('peers')) {
      log(`[${elapsed()}] peers: c=1 to a node running the engine, directly and through a second node that has it under peers:`);
      raw.peers = await peerHop(build, path.join(tmp, 'peers'), log);
      phase('peers');
    }

    if (want('library')) {
      log(`[${elapsed()}] library: the models folder scan of 200 GGUF files with a Qwen2.5 tokenizer each, ${settings.libraryReps} times cold (a fresh Library) and warm`);
      raw.library = await libraryScan(path.join(tmp, 'library'), log);
      phase('library');
    }

    if (want('scale')) {
      log(`[${elapsed()}] scale: ${settings.scaleStreams} concurrent streams through the router`);
      const enginePid = (await modelInfo(router.url, 'scale')).pid;
      raw.scale = await scaleStreams(router, enginePid, log);
      phase('scale');
    }

    if (footprint) {
      log(`[${elapsed()}] waiting for the end of the idle window of the footprint node`);
      raw.footprint = await footprint.finish();
      log(`  RSS ${raw.footprint.rssIdleMb.toFixed(1)} MB, CPU ${raw.footprint.cpuPercentOfCore.toFixed(3)} % of a core over ${raw.footprint.idleSeconds.toFixed(0)} s`);
      phase('footprint-tail');
    }
    await router.stop('SIGTERM', 10_000);

    if (settings.profile && (settings.only.size === 0 || settings.only.has('profile'))) {
      log(`[${elapsed()}] CPU profile of the router under c=64 for ${settings.profileS} s`);
      profile = await profileRouter(build, configPath, routerPort, barePort, { fast: fastPort });
      log(formatSummary(profile.router, 'router'));
      log(formatSummary(profile.bare, 'bare Node proxy'));
      phase('profile');
    }
  } finally {
    await cleanup();
    if (settings.keepTmp) log(`temp folder kept: ${tmp}`);
  }

  const total = stealPercent(start0, readCpuTimes());
  // Per phase (processes that came and went between two snapshots are counted in their phase).
  const allSeconds = Object.values(phaseSeconds).reduce((a, b) => a + b, 0);
  const foreignTotal = allSeconds > 0 ? Object.entries(foreign).reduce((sum, [k, pct]) => sum + pct * phaseSeconds[k]!, 0) / allSeconds : 0;
  const rows = figures(raw);
  log('');
  log(table(rows));
  if (raw.peer && !raw.peer.bin) log(`\n${raw.peer.note}`);
  else if (raw.peer?.bin) log(`\nllama-swap column: ${raw.peer.version ?? '?'} (${raw.peer.bin}); targets apply to the router's figures`);
  log('');
  log(`steal time during the run: ${total.all.toFixed(2)} % (${Object.entries(total.perCpu).map(([c, p]) => `${c} ${p.toFixed(2)} %`).join(', ')}); per phase: ${Object.entries(steal).map(([k, v]) => `${k} ${v.all.toFixed(2)} %`).join(', ')}`);
  log(`other processes' CPU during the run: ${foreignTotal.toFixed(1)} % of the machine (per phase: ${Object.entries(foreign).map(([k, v]) => `${k} ${v.toFixed(1)} %`).join(', ')})${busy > 5 || foreignTotal > 5 ? ' — NOT a quiet machine: treat the figures as noisy' : ''}; ${quietStats.retries} measurement(s) repeated, ${(quietStats.waitedMs / 1000).toFixed(1)} s spent waiting for quiet`);
  const failed = rows.filter((r) => r.pass === false);
  const file = writeJson(settings.resultsDir, {
    startedAt: new Date(began).toISOString(),
    wallSeconds: (Date.now() - began) / 1000,
    machine: toolVersions(),
    settings,
    nice,
    router: build,
    steal: { total, perPhase: steal },
    otherProcessesCpuPercent: { before: busy, total: foreignTotal, perPhase: foreign, repeatedMeasurements: quietStats.retries, waitedForQuietMs: quietStats.waitedMs },
    figures: rows,
    failed: failed.map((r) => r.figure),
    raw: slim(raw),
    profile,
  });
  log(`results: ${file}`);
  log(failed.length === 0 ? 'all targets met' : `${failed.length} target(s) missed: ${failed.map((r) => r.figure).join('; ')}`);
  log(`wall time ${elapsed()}`);
  return 0;
}

/** The router, then the bare proxy (the same engine behind both), each under --cpu-prof at c=64. */
async function profileRouter(
  build: RouterBuild,
  configPath: string,
  routerPort: number,
  barePort: number,
  engines: Record<string, number>,
): Promise<{ router: ProfileSummary; bare: ProfileSummary }> {
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const routerDir = path.join(settings.resultsDir, `profile-${stamp}`, 'router');
  const bareDir = path.join(settings.resultsDir, `profile-${stamp}`, 'bare');
  const prof = (dir: string) => ['--cpu-prof', `--cpu-prof-dir=${dir}`];
  const router = await startRouter(build, configPath, routerPort, settings.serverCpu, prof(routerDir));
  await startModel(router.url, 'fast');
  const load = async (port: number, what: string) => {
    const url = `http://127.0.0.1:${port}/v1/chat/completions`;
    await runWrk({ url, body: FAST_BODY, connections: 64, durationS: 1, cpu: settings.clientCpu });
    const result = await runWrk({ url, body: FAST_BODY, connections: 64, durationS: settings.profileS, cpu: settings.clientCpu });
    log(`  ${what} under the profiler: ${result.rps.toFixed(0)} req/s, p99 ${(result.latencyUs.p99 / 1000).toFixed(2)} ms`);
  };
  await load(routerPort, 'router');
  await router.stop('SIGTERM', 15_000);
  // The bare proxy gets an engine of its own (same flags), so that each profile covers only its own run.
  const enginePort = engines['fast']!;
  const engine = start('engine', process.execPath, [settings.engineScript, '--quiet', '--port', String(enginePort), '--load-ms', '0', '--tokens-per-second', '0'], { cpu: settings.serverCpu });
  await waitForPort(enginePort, 10_000, 'the engine for the bare proxy');
  const bare = await startBareProxy(barePort, engines, settings.serverCpu, prof(bareDir));
  await load(barePort, 'bare proxy');
  await bare.stop('SIGTERM', 10_000);
  await engine.stop('SIGTERM', 5000);
  return { router: summarize(await profileFile(routerDir)), bare: summarize(await profileFile(bareDir)) };
}

async function profileFile(dir: string): Promise<string> {
  for (let i = 0; i < 50; i++) {
    const file = fs.existsSync(dir) ? fs.readdirSync(dir).find((f) => f.endsWith('.cpuprofile')) : undefined;
    if (file) return path.join(dir, file);
    await sleep(100);
  }
  throw new Error(`no .cpuprofile was written to ${dir}`);
}

/** Share of CPU time other processes use over one second before the run (0-100 % of the machine). */
async function busyBefore(): Promise<number> {
  const a = foreignTicks();
  const t = Date.now();
  await sleep(1000);
  return foreignPercent(a, foreignTicks(), (Date.now() - t) / 1000, os.cpus().length);
}

/** The raw figures without the per-chunk gaps (they would make the JSON huge). */
function slim(raw: Raw): unknown {
  const stream = (s: Record<StreamTarget, StreamStats>) =>
    Object.fromEntries(Object.entries(s).map(([t, v]) => [t, { ...v, gapsMs: undefined, gapCount: v.gapsMs.length }]));
  return { ...raw, latency: raw.latency.map((r: LatencyRound) => r), streaming: raw.streaming ? stream(raw.streaming) : null };
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  async (err: unknown) => {
    await cleanup();
    process.stderr.write(`bench failed: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exitCode = 1;
  },
);

/** Writes the main config with usage on or off and waits until the router says it has taken it. */
async function switchUsage(url: string, write: (program?: Record<string, unknown>) => void, to: 'on' | 'off'): Promise<void> {
  write(to === 'off' ? { usage: 'off' } : {});
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      const res = await fetch(`${url}/api/usage?from=0&to=1`);
      const state = ((await res.json()) as { status?: { state?: string } }).status?.state;
      if ((to === 'off') === (state === 'off')) return;
    } catch {
      // the router is reloading: ask again
    }
    if (Date.now() > deadline) throw new Error(`the router did not turn usage ${to} within 15 s of the config change`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
