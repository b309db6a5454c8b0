// What a failure box shows of an engine's log: this run's lines only (never the previous run's),
// without our own readiness and health probes as the engine logged them (a loading engine logs
// one per probe, and they would push the reason out of view), and the error-looking lines first.
import type { LogLine } from '../../../src-shared/contract.js';

/** Lines that say something went wrong, in the words engines use (llama.cpp, vLLM, Python, shells). */
const ERROR_LOOKING = /\b(error|errors|failed|failure|fatal|panic|exception|traceback|abort(ed)?|cannot|can't|could not|unable|not found|no such file|permission denied|out of memory|oom|segmentation fault|killed|invalid|unsupported|denied)\b/i;

/**
 * Whether an engine's line is its log of one of our probes (a request line for `paths`, with or
 * without a status): `GET /health 503`, `request: GET /health 127.0.0.1 200`, uvicorn's
 * `"GET /health HTTP/1.1" 200 OK`.
 */
export function isProbeLine(text: string, paths: readonly string[]): boolean {
  for (const path of paths) {
    const at = text.indexOf(path);
    if (at < 0) continue;
    const after = text.charCodeAt(at + path.length);
    // The path itself, not a longer one (/health-check, /healthz).
    if (!Number.isNaN(after) && after !== 0x20 && after !== 0x22 && after !== 0x3f) continue;
    if (/\b(GET|HEAD)\s*$/.test(text.slice(Math.max(0, at - 8), at).replace(/"/g, ''))) return true;
  }
  return false;
}

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
