// Runs of an engine's log of our own probes ("GET /health 503" every 25 ms while it loads, then
// one every 5 s) shown as one line with a count, so the lines that matter stay in view. Other
// lines, repeated or not, are shown one by one: they are the engine's own story.
import type { LogLine } from '../../../src-shared/contract.js';
import { isProbeLine, repeatKey } from '../../../src-shared/probe-lines.js';

/** The paths the node probes: the default health_path, and the fallback it asks when that is 404. */
const PROBE_PATHS = ['/health', '/v1/models'];

export interface ShownLine extends LogLine {
  /** How many lines in a row this one stands for (the last of them is shown); 1 for most. */
  repeat: number;
}

export function foldRepeats(lines: readonly LogLine[]): ShownLine[] {
  const out: ShownLine[] = [];
  let lastKey: string | null = null;
  for (const line of lines) {
    const key = isProbeLine(line.text, PROBE_PATHS) ? repeatKey(line.text) : null;
    const prev = out[out.length - 1];
    if (prev !== undefined && key !== null && prev.stream === line.stream && key === lastKey) {
      out[out.length - 1] = { ...line, repeat: prev.repeat + 1 };
      continue;
    }
    out.push({ ...line, repeat: 1 });
    lastKey = key;
  }
  return out;
}
