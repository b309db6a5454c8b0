// Swap: model A runs and holds the GPU memory model B needs; B is requested. What a swap cannot
// avoid is A's exit and B's load. The figure is what the router adds to those: B's first byte − the
// request − A's exit − B's load, where A's exit and B's load are this swap's own engines':
// - A's exit: from its SIGTERM (its --times-file moment) until its process has exited, seen from
//   outside (bench/exit-watch.ts: /proc says zombie or gone, read every ~50 µs). Its own clock stops
//   at its exit event, before its runtime's teardown and the kernel's (6–10 ms here, and as varied);
//   until 2026-12-03 that teardown was measured on the engine alone and subtracted, which left each
//   swap ±3 ms of another process's teardown. (Where /proc can't tell, it still is.)
// - B's load: its --times-file moments, process start → ready, plus what its clock can't see,
//   measured on the same demo engine alone just before each swap:
// - of B's load, the start of its process before its clock begins: exec, dynamic loading and the
//   runtime's own start (3–4 ms for Node here), timed from the moment a waiting shell on the same CPU
//   is told to exec it (how the router launches an engine, models/spare-spawner.ts; how any launcher
//   pays it). What comes before that moment — deciding, stopping A, a fork — is the router's;
// - B's own time to answer its first request (head in → answer written, after a GET /health as any
//   proxy sends first: a fresh engine's first answer runs cold code, whoever sends it).
// B's exec and first answer, the same engine's every time, enter as the run's medians of those
// measurements alone (one alone now and then caught a slow exec: 15 ms against 3).
// Logged beside it: the figure that counts B's process start against the router (as until
// 2026-12-03), and the one over A's exit and B's load measured alone (until 2026-12-02: B's load
// alone varies by ±20 ms on this VM, single swaps ranged from −22 to +44 ms). Twice: with A idle, and
// with a stream to A in flight when B is asked for (then counted from the end of A's stream, which
// must finish whole: no request to A is cut). The first swap after the router's start is logged
// apart, not in the medians: with no earlier device reading to compare, it reads the card anew.
//
// The GPU is test/fixtures/fake-nvidia-smi (the bench runs without one): a 24 GB card, and demo
// engines started with --fake-vram=TAG@0:16000 show up as using 16 GB of it while they run. Both
// engines write their moments to a --times-file (bench/engine-times.ts), so the same measurement
// times llama-swap (bench/peer.ts) on its own A and B.
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { RawClient, type RawResponse } from '../raw-client.js';
import { awaitQuiet } from '../quiet.js';
import { freePort, freePorts, start } from '../procs.js';
import { median } from '../stats.js';
import { preciseNow, readEngineTimes, waitEngineTimes } from '../engine-times.js';
import { canWatchExits, watchExit } from '../exit-watch.js';
import { modelLogs, startModel, startRouter, stopModel, writeRouterConfig, type LogLine, type RouterBuild } from '../targets.js';
import { ROOT, settings } from '../settings.js';
import { readProcStat } from '../../src-main/core/models/proc-stat.js';
import { quote } from '../../src-main/core/models/spare-spawner.js';

export const SWAP_A = 'swap-a';
export const SWAP_B = 'swap-b';
const FAKE_NVIDIA_SMI = path.join(ROOT, 'test', 'fixtures', 'fake-nvidia-smi', 'nvidia-smi');
const CARD_MB = 24576;
const ENGINE_MB = 16000;

/** The demo engine's flags for A and B (also llama-swap's): a short load, a paced stream, its moments to `timesFile`. */
export function swapEngineFlags(timesFile: string, extra: string[] = []): string[] {
  return ['--load-ms', String(settings.swapLoadMs), '--stream-delay-ms', String(settings.swapStreamDelayMs), '--times-file', timesFile, ...extra];
}

export interface SwapSample {
  busy: boolean;
  /** B's request → its first byte. */
  totalMs: number;
  /** With A busy: B's request → the end of A's stream (0 when A was idle). */
  waitedForAMs: number;
  /** The engine alone, just before: SIGTERM → reaped, and spawn → ready. */
  aExitMs: number;
  bLoadMs: number;
  /** The engine alone: SIGTERM → reaped less SIGTERM → its exit event (the process teardown its clock can't see). */
  teardownMs: number;
  /** This swap's A: its SIGTERM → its process exited, seen from outside (null where /proc can't tell). */
  aGoneMs: number | null;
  /** This swap's A: its exit event → its process exited (its teardown; null where /proc can't tell). */
  aTeardownMs: number | null;
  /** The engine alone: its first request's head in → its answer written (its own clock). */
  firstAnswerMs: number;
  /** The engine alone: a waiting shell told to exec it → its process start (its clock's origin). */
  execMs: number;
  /** A's exit as subtracted: aGoneMs, else its own SIGTERM → exit + the teardown alone. */
  aExitUsedMs: number;
  /**
   * Router added: the request → B's first byte, less A's exit (aExitUsedMs), B's load (its own + its
   * exec alone) and B's first answer (alone); the last two are the run's medians of the measurements
   * alone (settleSwaps): single ones vary (exec 2.5–15 ms), B's are the same engine's every time.
   */
  addedMs: number;
  /** As addedMs, with B's process start (exec, dynamic loading) counted against the router. */
  addedWithExecMs: number;
  /** The earlier figure: less A's exit and B's load measured alone (noisier: the engine's load varies). */
  addedVsAloneMs: number;
  /** The engines' own moments in this swap (--times-file): A's SIGTERM → exit, B's process start → ready. */
  aOwnExitMs: number;
  bOwnLoadMs: number;
  /** With A busy: A's stream arrived whole (every token and [DONE]). */
  aWhole: boolean | null;
  /** Epoch ms: B's request sent, A's stream ended (busy), B's first byte; B's own: its first request in, its answer written. */
  at: { sent: number; aDone: number | null; firstByte: number; bRequest: number; bAnswer: number };
  /** The router's own account of the swap, from its model logs (router only). */
  steps?: SwapSteps;
}

/** Where the router's time went, from its log lines (ms). */
export interface SwapSteps {
  /** B's request (or the end of A's stream) → "stopping A": deciding (a new device reading: nobody is stopped on an older one). */
  decide: number;
  /** "stopping A" → "A stopped", less A's SIGTERM → exited (seen from outside; else its own SIGTERM → exit event, and its process teardown is in here). */
  stopOverhead: number;
  /** "A stopped" → "starting B": A's memory counts as free once its processes are gone (no reading waited for). */
  confirm: number;
  /** "starting B" → "B is ready", less B's own process start → ready (process creation is in here). */
  spawnAndReadiness: number;
  /** "B is ready" → B's first request arriving at B (the router forwarding the request that waited). */
  forward: number;
  /** B's own first answer in this swap: head in → answer written (its clock; for comparison with the one alone). */
  bAnswer: number;
  /** B's answer written → its first byte at the client. */
  relay: number;
}

export interface SwapResult {
  samples: SwapSample[];
  errors: string[];
  /**
   * The first swap after the router started, A idle, kept out of the samples: the router has no
   * earlier device reading to compare its last one with, so it reads the card anew (scheduler/
   * reading-policy.ts), once per run; a user meets it only when a swap comes within seconds of a start.
   */
  first?: SwapSample;
}

export const swapAdded = (r: SwapResult | undefined, busy: boolean) => median((r?.samples ?? []).filter((s) => s.busy === busy).map((s) => s.addedMs));
export const swapCut = (r: SwapResult | undefined) => (r?.samples ?? []).filter((s) => s.busy && s.aWhole === false).length;

const chatBody = (model: string, stream: boolean) => ({ model, messages: [{ role: 'user', content: 'swap' }], max_tokens: stream ? settings.swapStreamTokens : 4, stream });

/**
 * One swap against whatever serves `port` (the router, llama-swap): `prepare` leaves A running and
 * idle and B stopped; then B is requested (with a stream to A in flight first when `busy`).
 */
export async function measureSwap(port: number, files: { a: string; b: string }, names: { a: string; b: string }, busy: boolean, prepare: () => Promise<void>): Promise<SwapSample> {
  const alone = await engineAlone(path.join(path.dirname(files.a), 'alone.times'), names.b);
  await prepare();
  // A's process, watched until it has exited (it wrote its pid at its start).
  const aPid = readEngineTimes(files.a).pid;
  const aWatch = aPid !== undefined && canWatchExits() ? await watchExit(aPid) : null;
  fs.writeFileSync(files.a, '');
  fs.writeFileSync(files.b, '');
  const toA = new RawClient(port);
  const toB = new RawClient(port);
  try {
    let aStream: Promise<RawResponse> | null = null;
    if (busy) {
      aStream = toA.post('/v1/chat/completions', chatBody(names.a, true));
      // A is stopped only after its stream: the watch begins when the stream's end has come.
      void aStream.then(
        () => aWatch?.begin(),
        () => aWatch?.begin(),
      );
      // Well into A's stream (its first tokens are out) before B is asked for.
      await new Promise((resolve) => setTimeout(resolve, settings.swapStreamDelayMs * 3));
    }
    if (!busy) await aWatch?.begin();
    const b = await toB.post('/v1/chat/completions', chatBody(names.b, false), 60_000);
    if (b.status !== 200) throw new Error(`${names.b} → ${b.status}: ${b.body.slice(0, 300)}`);
    // A stream cut short (the connection closed mid-answer) counts as cut, not as a failed swap.
    const a = aStream ? await aStream.catch(() => null) : null;
    const aTimes = await waitEngineTimes(files.a, ['term', 'exit']);
    const bTimes = await waitEngineTimes(files.b, ['start', 'ready', 'first-request', 'first-answer']);
    const totalMs = b.firstByteAt - b.sentAt;
    const waitedForAMs = a ? Math.max(0, a.doneAt - b.sentAt) : 0;
    const aOwnExitMs = aTimes.exit! - aTimes.term!;
    const bOwnLoadMs = bTimes.ready! - bTimes.start!;
    const { exitMs: aExitMs, loadMs: bLoadMs, firstAnswerMs, execMs } = alone;
    const teardownMs = Math.max(0, alone.exitMs - alone.ownExitMs);
    // A has exited by now (B started after it): the watch has seen it, or never will.
    const gone = aWatch ? await Promise.race([aWatch.done, new Promise<null>((resolve) => setTimeout(resolve, 5000, null))]) : null;
    const aGoneMs = gone?.at != null ? gone.at - aTimes.term! : null;
    const aTeardownMs = gone?.at != null ? gone.at - aTimes.exit! : null;
    const aExit = aGoneMs ?? aOwnExitMs + teardownMs;
    // The demo engine sends a role chunk, one per token, a finish chunk and [DONE].
    const aWhole = !busy ? null : a !== null && a.status === 200 && a.reads.reduce((n, r) => n + r.events.length, 0) === settings.swapStreamTokens + 3 && a.body.includes('[DONE]');
    // Sanity: B must not have started before A was gone (the card has room for one of them).
    if (bTimes.start! < aTimes.exit! - 1) throw new Error(`${names.b} started ${(aTimes.exit! - bTimes.start!).toFixed(1)} ms before ${names.a} exited`);
    const epoch = (t: number) => performance.timeOrigin + t;
    return {
      busy,
      totalMs,
      waitedForAMs,
      aExitMs,
      bLoadMs,
      teardownMs,
      aGoneMs,
      aTeardownMs,
      firstAnswerMs,
      execMs,
      aExitUsedMs: aExit,
      // Computed once the run is over, on its medians of exec and first answer (settleSwaps).
      addedMs: NaN,
      addedWithExecMs: NaN,
      addedVsAloneMs: totalMs - waitedForAMs - aExitMs - bLoadMs,
      aOwnExitMs,
      bOwnLoadMs,
      aWhole,
      at: { sent: epoch(b.sentAt), aDone: a ? epoch(a.doneAt) : null, firstByte: epoch(b.firstByteAt), bRequest: bTimes['first-request']!, bAnswer: bTimes['first-answer']! },
    };
  } finally {
    aWatch?.stop();
    toA.close();
    toB.close();
  }
}

/**
 * The swap engine on its own (pinned like the others): launched → its ready moment, its first answer
 * (its own clock), then SIGTERM → reaped. Launched as the router launches one: a shell made first
 * (here on the same CPU), waiting for its script, told to exec the engine; launched → the engine's
 * process start is its exec.
 */
async function engineAlone(timesFile: string, model: string): Promise<{ loadMs: number; exitMs: number; ownExitMs: number; firstAnswerMs: number; execMs: number }> {
  const port = await freePort();
  fs.writeFileSync(timesFile, '');
  const proc = start('swap-engine-alone', '/bin/sh', ['-s'], { cpu: settings.serverCpu, stdio: ['pipe', 'ignore', 'ignore'] });
  await waitReading(proc.pid);
  const t0 = preciseNow();
  proc.child.stdin!.end(`exec ${[process.execPath, settings.engineScript, '--quiet', '--port', String(port), ...swapEngineFlags(timesFile)].map(quote).join(' ')} </dev/null\n`);
  try {
    const times = await waitEngineTimes(timesFile, ['ready'], 10_000);
    if (times.ready === undefined) throw new Error('the swap engine alone did not turn ready');
    // As any proxy would: its health answered first (readiness confirmed), then the request.
    const health = await fetch(`http://127.0.0.1:${port}/health`);
    await health.arrayBuffer();
    const client = new RawClient(port);
    try {
      const answer = await client.post('/v1/chat/completions', chatBody(model, false), 10_000);
      if (answer.status !== 200) throw new Error(`the swap engine alone answered ${answer.status}`);
    } finally {
      client.close();
    }
    const served = await waitEngineTimes(timesFile, ['first-request', 'first-answer']);
    const t1 = preciseNow();
    process.kill(proc.pid, 'SIGTERM');
    await proc.exited;
    const exitMs = preciseNow() - t1;
    // Its own SIGTERM → exit event: the rest of exitMs is the process teardown its clock can't see.
    const own = await waitEngineTimes(timesFile, ['term', 'exit']);
    const ownExitMs = own.term !== undefined && own.exit !== undefined ? own.exit - own.term : exitMs;
    return { loadMs: times.ready - t0, exitMs, ownExitMs, firstAnswerMs: served['first-answer']! - served['first-request']!, execMs: times.start! - t0 };
  } finally {
    await proc.stop('SIGKILL', 1000);
  }
}

/** Until `pid` is the shell (taskset has exec'd it), asleep: waiting for its script. */
async function waitReading(pid: number): Promise<void> {
  const deadline = Date.now() + 5000;
  for (;;) {
    try {
      const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (cmd.startsWith('/bin/sh\0') && readProcStat(pid)?.state === 'S') return;
    } catch {
      // not there yet (or no /proc: the figure then includes the shell's own start)
      if (!fs.existsSync('/proc/self')) return;
    }
    if (Date.now() > deadline) throw new Error('the shell for the engine alone did not start');
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/** The router's swaps: a router of its own, whose nvidia-smi is the fake one. */
export async function swapPhase(build: RouterBuild, dir: string, log: (line: string) => void): Promise<SwapResult> {
  fs.mkdirSync(dir, { recursive: true });
  const tag = `bench${randomBytes(3).toString('hex')}`;
  const statePath = path.join(dir, 'fake-gpu.json');
  fs.writeFileSync(statePath, JSON.stringify({ tag, gpus: [{ index: 0, uuid: 'GPU-bench-0', name: 'Bench GPU 24GB', totalMb: CARD_MB }] }));
  const files = { a: path.join(dir, 'a.times'), b: path.join(dir, 'b.times') };
  const [routerPort, aPort, bPort] = (await freePorts(3)) as [number, number, number];
  const configPath = path.join(dir, 'config.yaml');
  const vram = `--fake-vram=${tag}@0:${ENGINE_MB}`;
  writeRouterConfig(configPath, routerPort, path.join(dir, 'logs'), [
    { name: SWAP_A, port: aPort, flags: swapEngineFlags(files.a, [vram]), aliveTime: settings.aliveTimeMin, requiredDevices: ['gpu0'], memoryMb: { gpu0: ENGINE_MB } },
    { name: SWAP_B, port: bPort, flags: swapEngineFlags(files.b, [vram]), aliveTime: settings.aliveTimeMin, requiredDevices: ['gpu0'], memoryMb: { gpu0: ENGINE_MB } },
  ]);
  const router = await startRouter(build, configPath, routerPort, settings.serverCpu, [], {
    LLM_MANAGER_NVIDIA_SMI: FAKE_NVIDIA_SMI,
    FAKE_NVIDIA_SMI_STATE: statePath,
    FAKE_NVIDIA_SMI_NODE: process.execPath,
  });
  const result: SwapResult = { samples: [], errors: [] };
  try {
    const prepare = async () => {
      await stopModel(router.url, SWAP_B);
      await startModel(router.url, SWAP_A);
      await new Promise((resolve) => setTimeout(resolve, 100));
    };
    const seqs = { a: 0, b: 0 };
    const mark = async () => {
      seqs.a = (await modelLogs(router.url, SWAP_A)).at(-1)?.seq ?? 0;
      seqs.b = (await modelLogs(router.url, SWAP_B)).at(-1)?.seq ?? 0;
    };
    const explain = async (sample: SwapSample) => {
      const a = (await modelLogs(router.url, SWAP_A)).filter((l) => l.seq > seqs.a && l.stream === 'system');
      const b = (await modelLogs(router.url, SWAP_B)).filter((l) => l.seq > seqs.b && l.stream === 'system');
      const ts = (lines: LogLine[], start: string) => lines.find((l) => l.text.startsWith(start))?.ts ?? NaN;
      const stopping = ts(a, `stopping ${SWAP_A}`);
      const stopped = ts(a, `${SWAP_A} stopped`);
      const starting = ts(b, `starting ${SWAP_B}`);
      const ready = ts(b, `${SWAP_B} is ready`);
      const from = sample.at.aDone !== null ? Math.max(sample.at.sent, sample.at.aDone) : sample.at.sent;
      sample.steps = {
        decide: stopping - from,
        stopOverhead: stopped - stopping - (sample.aGoneMs ?? sample.aOwnExitMs),
        confirm: starting - stopped,
        spawnAndReadiness: ready - starting - sample.bOwnLoadMs,
        forward: sample.at.bRequest - ready,
        bAnswer: sample.at.bAnswer - sample.at.bRequest,
        relay: sample.at.firstByte - sample.at.bAnswer,
      };
    };
    await runSwaps(router.port, files, { a: SWAP_A, b: SWAP_B }, async () => {
      await prepare();
      await mark();
    }, result, explain);
  } finally {
    await router.stop('SIGTERM', 10_000);
  }
  logSwaps('router', result, log);
  return result;
}

/**
 * The figures with B's exec and first answer as the medians of every measurement alone in the run
 * (the one just before a swap caught a slow exec now and then: 15 ms against 3 once, which made that
 * swap's figure −3 ms).
 */
export function settleSwaps(result: SwapResult): void {
  const all = [...result.samples, ...(result.first ? [result.first] : [])];
  if (all.length === 0) return;
  const exec = median(all.map((x) => x.execMs));
  const firstAnswer = median(all.map((x) => x.firstAnswerMs));
  for (const x of all) {
    const base = x.totalMs - x.waitedForAMs - x.aExitUsedMs - x.bOwnLoadMs - firstAnswer;
    x.addedMs = base - exec;
    x.addedWithExecMs = base;
  }
}

/** settings.swapReps swaps with A idle, then as many with A busy, interleaved. */
export async function runSwaps(
  port: number,
  files: { a: string; b: string },
  names: { a: string; b: string },
  prepare: () => Promise<void>,
  result: SwapResult,
  explain?: (sample: SwapSample) => Promise<void>,
): Promise<void> {
  await awaitQuiet(500);
  try {
    result.first = await measureSwap(port, files, names, false, prepare);
  } catch (err) {
    result.errors.push(`first: ${(err as Error).message}`);
  }
  for (let i = 0; i < settings.swapReps; i++) {
    for (const busy of [false, true]) {
      await awaitQuiet(500);
      try {
        const sample = await measureSwap(port, files, names, busy, prepare);
        await explain?.(sample);
        result.samples.push(sample);
      } catch (err) {
        result.errors.push(`${busy ? 'busy' : 'idle'}: ${(err as Error).message}`);
      }
    }
  }
  settleSwaps(result);
}

export function logSwaps(who: string, result: SwapResult, log: (line: string) => void): void {
  const part = (busy: boolean) => {
    const s = result.samples.filter((x) => x.busy === busy);
    const m = (f: (x: SwapSample) => number) => median(s.map(f)).toFixed(1);
    const all = (f: (x: SwapSample) => number) => median([...result.samples, ...(result.first ? [result.first] : [])].map(f)).toFixed(1);
    const watched = s.length > 0 && s.every((x) => x.aGoneMs !== null);
    const aExit = watched
      ? `A's exit ${m((x) => x.aGoneMs!)} (SIGTERM → its process exited; of it teardown after its exit event ${m((x) => x.aTeardownMs!)}, alone ${m((x) => x.teardownMs)})`
      : `A's exit ${m((x) => x.aOwnExitMs)} + its teardown ${m((x) => x.teardownMs)} (alone)`;
    return (
      `A ${busy ? 'busy' : 'idle'}: B answered in ${m((x) => x.totalMs)} ms = ${busy ? `A's stream ${m((x) => x.waitedForAMs)} + ` : ''}${aExit} + B's exec ${m((x) => x.execMs)} (alone, run median ${all((x) => x.execMs)}) + B's load ${m((x) => x.bOwnLoadMs)} + B's first answer ${m((x) => x.firstAnswerMs)} (alone, run median ${all((x) => x.firstAnswerMs)}) + added ${m((x) => x.addedMs)} ms` +
      ` (with B's exec counted as the router's: ${m((x) => x.addedWithExecMs)} ms; over the engine alone, exit ${m((x) => x.aExitMs)} and load ${m((x) => x.bLoadMs)}: added ${m((x) => x.addedVsAloneMs)} ms)`
    );
  };
  log(`  ${who}: ${part(false)}; ${part(true)}; A's streams cut: ${swapCut(result)}${result.errors.length ? `; errors: ${result.errors.join('; ')}` : ''}`);
  if (result.first) log(`    ${who}'s first swap after its start (not in the medians): added ${result.first.addedMs.toFixed(1)} ms`);
  for (const busy of [false, true]) {
    const steps = result.samples.filter((x) => x.busy === busy && x.steps).map((x) => x.steps!);
    if (steps.length === 0) continue;
    const m = (k: keyof SwapSteps) => median(steps.map((x) => x[k])).toFixed(1);
    log(
      `    ${who}'s added, A ${busy ? 'busy' : 'idle'}, from its log (medians): deciding (a new device reading) ${m('decide')} ms, stopping A beyond A's own exit ${m('stopOverhead')} ms, ` +
        `A stopped → B starting ${m('confirm')} ms, spawn and readiness beyond B's own load ${m('spawnAndReadiness')} ms, B ready → the request at B ${m('forward')} ms, ` +
        `B's own first answer ${m('bAnswer')} ms (alone: ${median(result.samples.filter((x) => x.busy === busy).map((x) => x.firstAnswerMs)).toFixed(1)}), B's answer → its first byte ${m('relay')} ms`,
    );
  }
}
