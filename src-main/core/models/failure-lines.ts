// What a failure box shows of an engine's log: this run's lines only (never the previous run's),
// without our own readiness and health probes as the engine logged them (a loading engine logs
// one per probe, and they would push the reason out of view), and the error-looking lines first.
import type { LogLine } from '../../../src-shared/contract.js';
import { isProbeLine } from '../../../src-shared/probe-lines.js';

/** Lines that say something went wrong, in the words engines use (llama.cpp, vLLM, Python, shells). */
const ERROR_LOOKING = /\b(error|errors|failed|failure|fatal|panic|exception|traceback|abort(ed)?|cannot|can't|could not|unable|not found|no such file|permission denied|out of memory|oom|segmentation fault|killed|invalid|unsupported|denied)\b/i;

export interface FailureLines {
  /** The run's last lines (probe lines left out), oldest first. */
  tail: string[];
  /** Its last few error-looking lines, oldest first: what the failure box leads with. */
  errors: string[];
}

export function failureLines(lines: readonly LogLine[], fromSeq: number, probePaths: readonly string[], max: number, maxErrors = 3): FailureLines {
  const run = lines.filter((l) => l.seq >= fromSeq && l.stream !== 'system' && !isProbeLine(l.text, probePaths));
  const errors = run.filter((l) => ERROR_LOOKING.test(l.text)).slice(-maxErrors).map((l) => l.text);
  return { tail: run.slice(-max).map((l) => l.text), errors };
}
