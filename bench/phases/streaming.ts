// Streaming through each target with a raw socket: time to first byte, the gaps between chunks,
// and whether chunks the engine sent apart (20 ms) arrived merged in one read (batching).
// Requests are interleaved (direct, nginx, bare, router, rotating) so that a pause of this shared
// machine hits every target alike; TTFB is compared pairwise with the direct request next to it.
import { RawClient, type RawResponse } from '../raw-client.js';
import { awaitQuiet } from '../quiet.js';
import { median, rotate } from '../stats.js';
import { type TargetName, type Targets } from '../targets.js';
import { settings } from '../settings.js';

export interface StreamStats {
  requests: number;
  /** TTFB of the i-th interleaved request (NaN when it failed). */
  ttfbMs: number[];
  firstEventMs: number[];
  /** Events the engine sent (role + tokens + finish + [DONE]) vs events received, summed. */
  sentEvents: number;
  receivedEvents: number;
  /** Reads that held events of more than one send time (each extra send time counts one). */
  batched: number;
  gapsMs: number[];
  errors: string[];
}

/** The targets (four, or five with llama-swap), plus a byte pipe (no HTTP) as the reference for one Node hop. */
export type StreamTarget = TargetName | 'pipe';

const body = () => ({ model: 'stream', messages: [{ role: 'user', content: 'Stream me a few tokens.' }], stream: true, max_tokens: settings.streamTokens });

/** The router's streams with program.usage on and off, each paired with a direct request beside it. */
export interface UsageAB {
  /** Router TTFB − direct TTFB, per pair, with usage on and with usage off (blocks alternate). */
  onAddedMs: number[];
  offAddedMs: number[];
}

export async function streaming(
  targets: Targets,
  log: (line: string) => void,
  usage?: { off(): Promise<void>; on(): Promise<void> },
): Promise<{ stats: Record<StreamTarget, StreamStats>; usageAB: UsageAB | null }> {
  const STREAM_TARGETS: StreamTarget[] = [...targets.list, 'pipe'];
  const clients = {} as Record<StreamTarget, RawClient>;
  const stats = {} as Record<StreamTarget, StreamStats>;
  let usageAB: UsageAB | null = null;
  try {
    for (const target of STREAM_TARGETS) {
      clients[target] = new RawClient(target === 'pipe' ? targets.pipePort : targets.port(target, 'stream'));
      stats[target] = { requests: 0, ttfbMs: [], firstEventMs: [], sentEvents: 0, receivedEvents: 0, batched: 0, gapsMs: [], errors: [] };
      await jitWarmup(target === 'pipe' ? targets.pipePort : targets.port(target, 'stream'));
      for (let i = 0; i < settings.streamWarmup; i++) await clients[target].post('/v1/chat/completions', body());
    }
    const total = settings.streamRequests * settings.rounds;
    for (let i = 0; i < total; i++) {
      if (i % STREAM_TARGETS.length === 0) await awaitQuiet(500);
      for (const target of rotate(STREAM_TARGETS, i)) {
        const s = stats[target];
        try {
          analyse(await clients[target].post('/v1/chat/completions', body()), s);
        } catch (err) {
          s.errors.push((err as Error).message);
          s.ttfbMs.push(NaN);
          s.firstEventMs.push(NaN);
        }
      }
    }
    if (usage) usageAB = await usageBlocks(clients, usage);
  } finally {
    for (const c of Object.values(clients)) c.close();
  }
  for (const target of STREAM_TARGETS) {
    const s = stats[target];
    log(
      `  ${target.padEnd(10)} ${s.requests} streams: TTFB p50 ${median(s.ttfbMs).toFixed(3)} ms, first event p50 ${median(s.firstEventMs).toFixed(3)} ms, ` +
        `gap p50 ${median(s.gapsMs).toFixed(2)} ms, events ${s.receivedEvents}/${s.sentEvents}, batched ${s.batched}${s.errors.length ? `, errors ${s.errors.length}` : ''}`,
    );
  }
  if (usageAB) log(`  router usage on − off: added TTFB p50 ${median(usageAB.onAddedMs).toFixed(3)} ms with capture, ${median(usageAB.offAddedMs).toFixed(3)} ms with program.usage: off`);
  return { stats, usageAB };
}

/**
 * Usage capture's cost on a stream (the router asks the engine for usage and drops that event):
 * blocks of direct/router pairs with usage off and on, alternating which comes first, a config
 * reload between blocks (the engines keep running).
 */
async function usageBlocks(clients: Record<StreamTarget, RawClient>, usage: { off(): Promise<void>; on(): Promise<void> }): Promise<UsageAB> {
  const ab: UsageAB = { onAddedMs: [], offAddedMs: [] };
  const block = async (into: number[]) => {
    // One stream first, unmeasured: the first after a reload pays for the reloaded pieces.
    await clients.router.post('/v1/chat/completions', body());
    for (let i = 0; i < settings.streamRequests; i++) {
      if (i % 2 === 0) await awaitQuiet(500);
      const pair = {} as Record<'direct' | 'router', number>;
      for (const target of rotate(['direct', 'router'] as const, i)) {
        const res = await clients[target].post('/v1/chat/completions', body());
        pair[target] = res.status === 200 ? res.firstByteAt - res.sentAt : NaN;
      }
      into.push(pair.router - pair.direct);
    }
  };
  try {
    for (let r = 0; r < settings.rounds; r++) {
      const offFirst = r % 2 === 0;
      if (offFirst) await usage.off();
      await block(offFirst ? ab.offAddedMs : ab.onAddedMs);
      if (offFirst) await usage.on();
      else await usage.off();
      await block(offFirst ? ab.onAddedMs : ab.offAddedMs);
      if (!offFirst) await usage.on();
    }
  } finally {
    await usage.on();
  }
  return ab;
}

/**
 * Short streams through a target, 16 at a time, until its hot code is compiled: the router's request
 * path is JavaScript that V8 optimizes after some hundreds of calls (nginx and Node's own HTTP parser
 * are native), and a handful of warm-up streams left it interpreted — measured on this VM, 0.5–0.8 ms
 * added to the first byte instead of 0.2 ms. Every target gets the same.
 */
async function jitWarmup(port: number): Promise<void> {
  const short = { ...body(), max_tokens: 1 };
  const each = Math.ceil(settings.streamJitWarmup / 16);
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      const client = new RawClient(port);
      try {
        for (let i = 0; i < each; i++) await client.post('/v1/chat/completions', short);
      } finally {
        client.close();
      }
    }),
  );
}

/** Median over the interleaved requests of (target's TTFB − the direct TTFB measured beside it). */
export function pairedAddedTtfb(stats: Record<StreamTarget, StreamStats>, target: StreamTarget): number {
  return median(pairedDifferences(stats, target));
}

/** Each request's TTFB minus that of the direct request beside it. */
export function pairedDifferences(stats: Record<StreamTarget, StreamStats>, target: StreamTarget): number[] {
  const d = stats.direct.ttfbMs;
  return stats[target].ttfbMs.map((t, i) => t - (d[i] ?? NaN));
}

/**
 * Send times of the demo engine: the role chunk at step 0, token k at step k, and the finish chunk
 * plus [DONE] together with the last token. An event's group is its step.
 */
function analyse(res: RawResponse, stats: StreamStats): void {
  if (res.status !== 200) {
    stats.errors.push(`status ${res.status}`);
    stats.ttfbMs.push(NaN);
    stats.firstEventMs.push(NaN);
    return;
  }
  const n = settings.streamTokens;
  stats.requests++;
  stats.sentEvents += n + 3;
  stats.ttfbMs.push(res.firstByteAt - res.sentAt);
  const groupAt = new Map<number, number>();
  let tokens = 0;
  let firstEventAt = 0;
  for (const read of res.reads) {
    const groups = new Set<number>();
    for (const event of read.events) {
      stats.receivedEvents++;
      if (firstEventAt === 0) firstEventAt = read.t;
      let group: number;
      if (event.includes('"role"')) group = 0;
      else if (event.includes('[DONE]') || /"finish_reason":"/.test(event)) group = n;
      else group = ++tokens;
      groups.add(group);
      if (!groupAt.has(group)) groupAt.set(group, read.t);
    }
    if (groups.size > 1) stats.batched += groups.size - 1;
  }
  stats.firstEventMs.push(firstEventAt - res.sentAt);
  for (let g = 1; g <= n; g++) {
    const a = groupAt.get(g - 1);
    const b = groupAt.get(g);
    if (a !== undefined && b !== undefined) stats.gapsMs.push(b - a);
  }
}
