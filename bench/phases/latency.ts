// Small non-streaming chat completions with wrk: p50/p99 at c=1, req/s and p99 at c=64, per target,
// in many short rounds whose target order rotates (so a busy moment of a shared machine hits every
// target alike); "added" figures are taken per round against direct, then the median of rounds.
import { runWrk, type WrkResult } from '../wrk.js';
import { quietly } from '../quiet.js';
import { rotate } from '../stats.js';
import { type TargetName, type Targets } from '../targets.js';
import { settings } from '../settings.js';

export interface Measured extends WrkResult {
  /** Other processes' CPU while it ran (% of the machine), and how many tries it took. */
  foreignPct: number;
  attempts: number;
}

/** Every target of TARGETS; 'llama-swap' only when the peer ran. */
export interface LatencyRound {
  c1: Record<TargetName, Measured>;
  c64: Record<TargetName, Measured>;
  /** The router's c=1 with program.usage: off, measured right after its own (usage capture's cost). */
  c1NoUsage?: Measured;
}

export const FAST_BODY = JSON.stringify({ model: 'fast', messages: [{ role: 'user', content: 'Say hello in five words.' }], max_tokens: 16 });

export async function latencyRound(
  targets: Targets,
  round: number,
  log: (line: string) => void,
  usage?: { off(): Promise<void>; on(): Promise<void> },
): Promise<LatencyRound> {
  const c1 = {} as Record<TargetName, Measured>;
  const c64 = {} as Record<TargetName, Measured>;
  let c1NoUsage: Measured | undefined;
  for (const target of rotate(targets.list, round)) {
    const url = `http://127.0.0.1:${targets.port(target, 'fast')}/v1/chat/completions`;
    const base = { url, body: FAST_BODY, cpu: settings.clientCpu };
    // JIT and connection pools warm up once; later rounds start warm.
    if (round === 0) await runWrk({ ...base, connections: 64, durationS: settings.warmupS });
    const run = async (connections: number): Promise<Measured> => {
      const q = await quietly(() => runWrk({ ...base, connections, durationS: settings.durationS }), 1);
      return { ...q.result, foreignPct: q.foreignPct, attempts: q.attempts };
    };
    // The router with usage off, next to its own c=1 (alternating which comes first, round by round).
    const noUsage = async () => {
      await usage!.off();
      c1NoUsage = await run(1);
      await usage!.on();
    };
    if (target === 'router' && usage && round % 2 === 1) await noUsage();
    c1[target] = await run(1);
    if (target === 'router' && usage && round % 2 === 0) await noUsage();
    c64[target] = await run(64);
    const note = (m: Measured) => (m.foreignPct >= 10 ? ` [others ${m.foreignPct.toFixed(0)} %]` : '');
    log(
      `  round ${round + 1} ${target.padEnd(10)} c=1 p50 ${(c1[target].latencyUs.p50 / 1000).toFixed(3)} ms p99 ${(c1[target].latencyUs.p99 / 1000).toFixed(3)} ms${note(c1[target])} | ` +
        `c=64 ${c64[target].rps.toFixed(0)} req/s p99 ${(c64[target].latencyUs.p99 / 1000).toFixed(2)} ms${note(c64[target])}, errors ${c1[target].errors + c64[target].errors}`,
    );
  }
  if (c1NoUsage) log(`  round ${round + 1} router, usage off: c=1 p50 ${(c1NoUsage.latencyUs.p50 / 1000).toFixed(3)} ms`);
  return c1NoUsage ? { c1, c64, c1NoUsage } : { c1, c64 };
}
