// Peers (#16 item 3): the latency a request gains by going through this node to a peer — another
// LLM Manager node that runs the engine — over asking that node itself, on loopback. Both nodes are
// real `serve` processes: the owner runs the demo engine as `fast`, the front has no models and
// the owner under `peers:`. c=1 with wrk, the owner and the front alternated each round; the figure
// is the median of the rounds' p50 differences.
import fs from 'node:fs';
import path from 'node:path';
import { awaitQuiet } from '../quiet.js';
import { freePorts } from '../procs.js';
import { median } from '../stats.js';
import { startModel, startRouter, writeRouterConfig, type RouterBuild } from '../targets.js';
import { runWrk } from '../wrk.js';
import { settings } from '../settings.js';
import { FAST_BODY } from './latency.js';

export interface PeerHopResult {
  /** Per round: p50 of the owner asked directly, and through the front (µs). */
  directP50Us: number[];
  viaPeerP50Us: number[];
  errors: number;
}

/** The median of the rounds' (through the front − direct) p50s, in ms. */
export function peerAdded(r: PeerHopResult): number {
  return median(r.viaPeerP50Us.map((v, i) => v - (r.directP50Us[i] ?? NaN))) / 1000;
}

export async function peerHop(build: RouterBuild, dir: string, log: (line: string) => void): Promise<PeerHopResult> {
  const [enginePort, ownerPort, frontPort] = (await freePorts(3)) as [number, number, number];
  fs.mkdirSync(path.join(dir, 'owner'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'front'), { recursive: true });
  const ownerConfig = path.join(dir, 'owner', 'config.yaml');
  writeRouterConfig(ownerConfig, ownerPort, path.join(dir, 'owner', 'logs'), [{ name: 'fast', port: enginePort, flags: ['--load-ms', '0', '--tokens-per-second', '0'], aliveTime: settings.aliveTimeMin }], { Disable_GPU_monitoring: true });
  const frontConfig = path.join(dir, 'front', 'config.yaml');
  const front = { program: { host: '127.0.0.1', port: frontPort, log_level: 'ERROR', Disable_GPU_monitoring: true, log_dir: path.join(dir, 'front', 'logs') }, 'Local-Models': {}, peers: [{ name: 'owner', url: `http://127.0.0.1:${ownerPort}` }] };
  fs.writeFileSync(frontConfig, `# written by bench/phases/peers.ts\n${JSON.stringify(front, null, 2)}\n`);

  const owner = await startRouter(build, ownerConfig, ownerPort, settings.serverCpu);
  const frontRouter = await startRouter(build, frontConfig, frontPort, settings.serverCpu);
  try {
    await startModel(owner.url, 'fast');
    await listed(frontRouter.url, 'fast');
    const direct = `${owner.url}/v1/chat/completions`;
    const via = `${frontRouter.url}/v1/chat/completions`;
    const result: PeerHopResult = { directP50Us: [], viaPeerP50Us: [], errors: 0 };
    for (const url of [direct, via]) await runWrk({ url, body: FAST_BODY, connections: 1, durationS: settings.warmupS, cpu: settings.clientCpu });
    for (let r = 0; r < settings.rounds; r++) {
      await awaitQuiet();
      const d = await runWrk({ url: direct, body: FAST_BODY, connections: 1, durationS: settings.durationS, cpu: settings.clientCpu });
      const v = await runWrk({ url: via, body: FAST_BODY, connections: 1, durationS: settings.durationS, cpu: settings.clientCpu });
      result.directP50Us.push(d.latencyUs.p50);
      result.viaPeerP50Us.push(v.latencyUs.p50);
      result.errors += d.errors + v.errors;
      log(`  round ${r + 1}: p50 direct ${(d.latencyUs.p50 / 1000).toFixed(3)} ms, through a peer ${(v.latencyUs.p50 / 1000).toFixed(3)} ms`);
    }
    return result;
  } finally {
    await frontRouter.stop('SIGTERM', 10_000);
    await owner.stop('SIGTERM', 10_000);
  }
}

/** Waits until the front lists the peer's model (its first read of the peer's /api/models). */
async function listed(url: string, model: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      const res = await fetch(`${url}/v1/models`);
      const data = ((await res.json()) as { data?: { id: string; owned_by: string; state: string }[] }).data ?? [];
      if (data.some((m) => m.id === model && m.owned_by === 'peer:owner' && m.state === 'ready')) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`the front node did not list ${model} from its peer within 15 s`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
