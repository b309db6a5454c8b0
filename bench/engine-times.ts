// The moments a demo engine started with --times-file wrote down (scripts/demo-engine.mjs): when
// its process started, turned ready, got SIGTERM and exited, in this machine's epoch ms. They time
// an engine the same way whoever spawned it (the router, llama-swap), with no log to read.
import fs from 'node:fs';

export interface EngineTimes {
  start?: number;
  /** Not a moment: its process id, written at its start. */
  pid?: number;
  ready?: number;
  /** Once ready: its first connection, and its first 200 to GET /health going out. */
  'ready-connection'?: number;
  'ready-health'?: number;
  /** Its first model request (chat, completion …): arrived, and its answer written out. */
  'first-request'?: number;
  'first-answer'?: number;
  term?: number;
  exit?: number;
}

/** The last moment of each kind in the file ({} when there is none). */
export function readEngineTimes(file: string): EngineTimes {
  let text = '';
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return {};
  }
  const times: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const [name, at] = line.trim().split(/\s+/);
    if (name && at !== undefined && Number.isFinite(Number(at))) times[name] = Number(at);
  }
  return times as EngineTimes;
}

/** Waits (up to timeoutMs) until the file holds every named moment; returns what it holds then. */
export async function waitEngineTimes(file: string, names: (keyof EngineTimes)[], timeoutMs = 3000): Promise<EngineTimes> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const times = readEngineTimes(file);
    if (names.every((n) => times[n] !== undefined) || Date.now() > deadline) return times;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Epoch ms with a fraction (performance.timeOrigin + now), comparable with the engines' moments. */
export function preciseNow(): number {
  return performance.timeOrigin + performance.now();
}
