// Readiness: how long after an engine's own ready moment the router calls it ready. Three demo
// engines that load for the same time: one that says so ("server is listening", as llama-server,
// vLLM and SGLang do), one that says nothing and binds its port only once loaded (probes are
// refused until then), and one that says nothing and answers 503 while it loads (as llama-server's
// /health does, without its line). The router's moment is its "NAME is ready" line in the model
// log; the engine's is its ready line in that same log (both stamped by the router's clock) or,
// for a silent engine, the moment it wrote to its --times-file as it turned ready (this machine's clock).
// Less the engine's own time to answer the probe that found it ready (from that probe's connection
// to its 200 going out, in the same file): a Node engine that has just bound its port takes 5-10 ms
// (on this VM) over its first request, which no probe schedule can save.
import fs from 'node:fs';
import path from 'node:path';
import { waitEngineTimes } from '../engine-times.js';
import { awaitQuiet } from '../quiet.js';
import { median } from '../stats.js';
import { modelLogs, startModel, stopModel, type EngineSpec, type LogLine, type RouterProcess } from '../targets.js';
import { settings } from '../settings.js';

export type ReadinessKind = 'hint' | 'silent-bind' | 'silent-503';
export const READINESS_KINDS: ReadinessKind[] = ['hint', 'silent-bind', 'silent-503'];
const READY_LINE = /listening/i;

export const readinessModel = (kind: ReadinessKind) => `ready-${kind}`;
const timesFile = (dir: string, kind: ReadinessKind) => path.join(dir, `${kind}.times`);

/** The three engines' entries in the router's config. */
export function readinessEngines(dir: string, ports: Record<ReadinessKind, number>): EngineSpec[] {
  fs.mkdirSync(dir, { recursive: true });
  const base = ['--load-ms', String(settings.readinessLoadMs), '--tokens-per-second', '0'];
  const flags: Record<ReadinessKind, string[]> = {
    hint: [...base, '--times-file', timesFile(dir, 'hint')],
    'silent-bind': [...base, '--silent-ready', '--listen-when-ready', '--times-file', timesFile(dir, 'silent-bind')],
    'silent-503': [...base, '--silent-ready', '--times-file', timesFile(dir, 'silent-503')],
  };
  return READINESS_KINDS.map((kind) => ({ name: readinessModel(kind), port: ports[kind], flags: flags[kind], aliveTime: settings.aliveTimeMin }));
}

export interface ReadinessResult {
  /** Router's "is ready" line minus the engine's ready moment, less the engine's own answer to the probe, ms, per start. */
  addedMs: Record<ReadinessKind, number[]>;
  /** The engine's own time to answer the probe that found it ready (connection → 200 sent). */
  engineAnswerMs: Record<ReadinessKind, number[]>;
  errors: string[];
}

export async function readiness(router: RouterProcess, dir: string, log: (line: string) => void): Promise<ReadinessResult> {
  const result: ReadinessResult = { addedMs: { hint: [], 'silent-bind': [], 'silent-503': [] }, engineAnswerMs: { hint: [], 'silent-bind': [], 'silent-503': [] }, errors: [] };
  for (let i = 0; i < settings.readinessReps; i++) {
    await awaitQuiet(500);
    for (const kind of READINESS_KINDS) {
      const model = readinessModel(kind);
      try {
        await stopModel(router.url, model);
        fs.rmSync(timesFile(dir, kind), { force: true });
        const before = lastSeq(await modelLogs(router.url, model));
        await startModel(router.url, model);
        const lines = (await modelLogs(router.url, model)).filter((l) => l.seq > before);
        const ready = lines.find((l) => l.stream === 'system' && l.text.startsWith(`${model} is ready`));
        const times = await waitEngineTimes(timesFile(dir, kind), ['ready', 'ready-connection', 'ready-health']);
        // Router log stamps are whole ms (Date.now()); floor the engine's too, so the two round alike.
        const engineAt = kind === 'hint' ? (lines.find((l) => l.stream !== 'system' && READY_LINE.test(l.text))?.ts ?? NaN) : Math.floor(times.ready ?? NaN);
        const answerMs = (times['ready-health'] ?? NaN) - (times['ready-connection'] ?? NaN);
        result.engineAnswerMs[kind].push(answerMs);
        result.addedMs[kind].push(ready ? ready.ts - engineAt - answerMs : NaN);
      } catch (err) {
        result.errors.push(`${model}: ${(err as Error).message}`);
        result.addedMs[kind].push(NaN);
      }
    }
  }
  for (const kind of READINESS_KINDS) await stopModel(router.url, readinessModel(kind)).catch(() => undefined);
  log(
    `  added over the engine's ready moment, median of ${settings.readinessReps}: ` +
      READINESS_KINDS.map((k) => `${k} ${median(result.addedMs[k]).toFixed(1)} ms (max ${Math.max(...result.addedMs[k].filter(Number.isFinite)).toFixed(0)}; the engine's own answer ${median(result.engineAnswerMs[k]).toFixed(1)} ms)`).join(', ') +
      (result.errors.length ? `; errors: ${result.errors.join('; ')}` : ''),
  );
  return result;
}

function lastSeq(lines: LogLine[]): number {
  return lines.length === 0 ? 0 : lines[lines.length - 1]!.seq;
}
