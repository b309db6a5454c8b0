// The peer column: llama-swap (github.com/mostlygeek/llama-swap), a Go reverse proxy that starts
// engines on demand, the closest thing to this router. It runs when a binary is found
// (LLAMA_SWAP_BIN, else `llama-swap` on PATH) and is skipped with a note otherwise.
//
// On the hot path (c=1, c=64, streaming) it serves the very engines the router spawned: its models
// there are a placeholder process (`sleep`) whose `proxy` is that engine's port, so both proxies
// forward to the same upstream. For cold start and swap it spawns demo engines of its own, with the
// router's flags and a --times-file, so that both are timed by the engines' own moments.
// llama-swap runs one model at a time unless told otherwise (groups/matrix): a request for another
// model stops the running one first (waiting for its requests in flight), which is the swap.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { RawClient } from './raw-client.js';
import { awaitQuiet } from './quiet.js';
import { freePorts, start, waitForPort, type Started } from './procs.js';
import { median } from './stats.js';
import { waitEngineTimes } from './engine-times.js';
import { logSwaps, runSwaps, swapEngineFlags, SWAP_A, SWAP_B, type SwapResult } from './phases/swap.js';
import { settings } from './settings.js';

export interface PeerFound {
  bin: string | null;
  /** Why it is skipped, or where it was found. */
  note: string;
}

/** LLAMA_SWAP_BIN, else `llama-swap` on PATH; null with the reason when there is none. */
export function findLlamaSwap(env: NodeJS.ProcessEnv = process.env): PeerFound {
  const given = env['LLAMA_SWAP_BIN'];
  if (given) {
    try {
      fs.accessSync(given, fs.constants.X_OK);
      return { bin: path.resolve(given), note: `LLAMA_SWAP_BIN=${given}` };
    } catch {
      return { bin: null, note: `llama-swap skipped: LLAMA_SWAP_BIN=${given} is not an executable file` };
    }
  }
  for (const dir of (env['PATH'] ?? '').split(path.delimiter).filter(Boolean)) {
    const file = path.join(dir, 'llama-swap');
    try {
      fs.accessSync(file, fs.constants.X_OK);
      if (fs.statSync(file).isFile()) return { bin: file, note: `llama-swap on PATH (${file})` };
    } catch {
      // not here
    }
  }
  return { bin: null, note: 'llama-swap skipped: no llama-swap on PATH and LLAMA_SWAP_BIN is not set (the peer column is left out)' };
}

export interface PeerModel {
  name: string;
  /** The command llama-swap runs (program and arguments; quoted here). */
  cmd: string[];
  port: number;
}

/** One argument as llama-swap's command parser reads it (POSIX shell words, no shell). */
export function shellWord(arg: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

/**
 * llama-swap's config (YAML) for these models: each with its cmd, the proxy URL of its port, its
 * health path and ttl 0 (never unloaded for idleness: the phases unload by hand). No groups or
 * matrix, so one model runs at a time and requesting another swaps.
 */
export function llamaSwapConfig(models: PeerModel[]): string {
  const q = (s: string) => JSON.stringify(s); // a JSON string is a YAML double-quoted scalar
  const lines = [
    '# written by bench/peer.ts for the peer column of npm run bench',
    '# the shortest health-check timeout llama-swap accepts (it raises anything lower to 15 s)',
    'healthCheckTimeout: 15',
    '# as quiet as the router beside it (log_level ERROR)',
    'logLevel: error',
    'models:',
  ];
  for (const m of models) {
    lines.push(
      `  ${q(m.name)}:`,
      `    cmd: ${q(m.cmd.map(shellWord).join(' '))}`,
      `    proxy: ${q(`http://127.0.0.1:${m.port}`)}`,
      `    checkEndpoint: "/health"`,
      `    ttl: 0`,
    );
  }
  return `${lines.join('\n')}\n`;
}

export interface LlamaSwap extends Started {
  port: number;
  version: string;
  dir: string;
  files: { cold: string; a: string; b: string };
}

/** The models llama-swap gets: placeholders on the router's hot-path engines, its own cold and swap engines. */
export function peerModels(dir: string, engines: { fast: number; stream: number }, own: { cold: number; a: number; b: number }): { models: PeerModel[]; files: LlamaSwap['files'] } {
  const files = { cold: path.join(dir, 'cold.times'), a: path.join(dir, 'a.times'), b: path.join(dir, 'b.times') };
  const demo = (port: number, flags: string[]) => [process.execPath, settings.engineScript, '--quiet', '--port', String(port), ...flags];
  const placeholder = ['sleep', '1000000'];
  const models: PeerModel[] = [
    { name: 'fast', cmd: placeholder, port: engines.fast },
    { name: 'stream', cmd: placeholder, port: engines.stream },
    { name: 'cold', cmd: demo(own.cold, ['--load-ms', String(settings.coldLoadMs), '--tokens-per-second', '0', '--times-file', files.cold]), port: own.cold },
    { name: SWAP_A, cmd: demo(own.a, swapEngineFlags(files.a)), port: own.a },
    { name: SWAP_B, cmd: demo(own.b, swapEngineFlags(files.b)), port: own.b },
  ];
  return { models, files };
}

export async function startLlamaSwap(bin: string, dir: string, engines: { fast: number; stream: number }, cpu: string): Promise<LlamaSwap> {
  fs.mkdirSync(dir, { recursive: true });
  const [port, cold, a, b] = (await freePorts(4)) as [number, number, number, number];
  const { models, files } = peerModels(dir, engines, { cold, a, b });
  const configPath = path.join(dir, 'config.yaml');
  fs.writeFileSync(configPath, llamaSwapConfig(models));
  const out = spawnSync(bin, ['-version'], { encoding: 'utf8', timeout: 5000 });
  const version = `${out.stdout ?? ''}${out.stderr ?? ''}`.trim().split('\n')[0] ?? '?';
  const proc = start('llama-swap', bin, ['-config', configPath, '-listen', `127.0.0.1:${port}`], { cpu, capture: true, graceful: true });
  await Promise.race([
    waitForPort(port, 15_000, 'llama-swap'),
    proc.exited.then((code) => {
      throw new Error(`llama-swap exited (code ${code}) before listening:\n${proc.output()}`);
    }),
  ]);
  return Object.assign(proc, { port, version, dir, files });
}

const unload = async (peer: LlamaSwap) => {
  const res = await fetch(`http://127.0.0.1:${peer.port}/unload`);
  await res.text();
  if (!res.ok) throw new Error(`llama-swap GET /unload → ${res.status}`);
};

export interface PeerColdResult {
  /** Request → first byte, and the engine's own start → ready, per cold start. */
  ttfbMs: number[];
  engineStartMs: number[];
  errors: string[];
}

export const peerColdAdded = (r: PeerColdResult) => median(r.ttfbMs.map((t, i) => t - (r.engineStartMs[i] ?? NaN)));

/** Cold starts through llama-swap: everything unloaded, then a request for "cold". */
export async function peerColdStart(peer: LlamaSwap, log: (line: string) => void): Promise<PeerColdResult> {
  const result: PeerColdResult = { ttfbMs: [], engineStartMs: [], errors: [] };
  for (let i = 0; i < settings.coldReps; i++) {
    await awaitQuiet(1000);
    const client = new RawClient(peer.port);
    try {
      await unload(peer);
      fs.writeFileSync(peer.files.cold, '');
      const res = await client.post('/v1/chat/completions', { model: 'cold', messages: [{ role: 'user', content: 'hi' }], max_tokens: 4 });
      if (res.status !== 200) throw new Error(`cold request → ${res.status}: ${res.body.slice(0, 200)}`);
      const times = await waitEngineTimes(peer.files.cold, ['start', 'ready']);
      result.ttfbMs.push(res.firstByteAt - res.sentAt);
      result.engineStartMs.push(times.ready! - times.start!);
    } catch (err) {
      result.errors.push((err as Error).message);
    } finally {
      client.close();
    }
  }
  log(
    `  llama-swap: cold request → first byte p50 ${median(result.ttfbMs).toFixed(1)} ms, the engine's own start → ready p50 ${median(result.engineStartMs).toFixed(1)} ms, ` +
      `added p50 ${peerColdAdded(result).toFixed(1)} ms${result.errors.length ? `; errors: ${result.errors.join('; ')}` : ''}`,
  );
  return result;
}

/** The swap phase through llama-swap: A requested (which stops B), then B. */
export async function peerSwap(peer: LlamaSwap, log: (line: string) => void): Promise<SwapResult> {
  const result: SwapResult = { samples: [], errors: [] };
  const prepare = async () => {
    const client = new RawClient(peer.port);
    try {
      const res = await client.post('/v1/chat/completions', { model: SWAP_A, messages: [{ role: 'user', content: 'warm' }], max_tokens: 1 }, 60_000);
      if (res.status !== 200) throw new Error(`${SWAP_A} → ${res.status}: ${res.body.slice(0, 200)}`);
    } finally {
      client.close();
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  };
  await runSwaps(peer.port, peer.files, { a: SWAP_A, b: SWAP_B }, prepare, result);
  logSwaps('llama-swap', result, log);
  return result;
}
