// How many connections the router may hold open to an engine at once. llama-server serves HTTP
// from a fixed pool of threads (max(--parallel + 2, cores - 1) unless --threads-http says), each
// bound to one kept-alive connection until it closes: a connection beyond them waits unread in its
// accept queue until some connection has been idle for its keep-alive timeout (a 3-5 s stall in a
// burst). So for llama-server the router keeps to --parallel + 1 (one thread left for health
// checks); engines without such a pool (vLLM, SGLang: uvicorn) get a generous default.
import fs from 'node:fs';
import type { LaunchProfile } from '../../../src-shared/config.js';

// vLLM and SGLang batch hundreds of requests at once: their limit only bounds descriptors.
export const DEFAULT_MAX_CONNECTIONS = 1024;
/** llama-server's --parallel when none is given (its "auto"). */
const LLAMA_DEFAULT_PARALLEL = 4;
const MAX_SCRIPT_BYTES = 64 * 1024;

/** The launch's words: command and arguments, or the script's text (what it runs is in there). */
function launchText(profile: LaunchProfile, readScript: (file: string) => string): string {
  const parts = [profile.command ?? '', ...profile.args];
  if (profile.scriptPath) {
    try {
      parts.push(readScript(profile.scriptPath));
    } catch {
      // unreadable: its start will say so
    }
  }
  return parts.join(' ');
}

function readSmall(file: string): string {
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.alloc(MAX_SCRIPT_BYTES);
    return buf.toString('utf8', 0, fs.readSync(fd, buf, 0, MAX_SCRIPT_BYTES, 0));
  } finally {
    fs.closeSync(fd);
  }
}

/** The connection limit a launch implies when the model sets no max_connections. */
export function derivedMaxConnections(profile: LaunchProfile, readScript: (file: string) => string = readSmall): number {
  // An engine profile says what it runs: llama.cpp's parallel is its slot count (--threads-http in extra_args still wins).
  if (profile.engine && profile.engine.kind !== 'llama.cpp') return DEFAULT_MAX_CONNECTIONS;
  if (profile.engine?.kind === 'llama.cpp') {
    const threads = /(?:^|\s)--threads-http(?:\s+|=)(\d+)/.exec(profile.engine.extraArgs.join(' '));
    if (threads) return Math.max(1, Number(threads[1]) - 1);
    return (profile.engine.parallel ?? LLAMA_DEFAULT_PARALLEL) + 1;
  }
  const text = launchText(profile, readScript);
  if (!/llama-server|llama_server|server\.exe/i.test(text)) return DEFAULT_MAX_CONNECTIONS;
  const threads = /(?:^|\s)--threads-http(?:\s+|=)(\d+)/.exec(text);
  if (threads) return Math.max(1, Number(threads[1]) - 1);
  const parallel = /(?:^|\s)(?:-np|--parallel)(?:\s+|=)(-?\d+)/.exec(text);
  const n = parallel && Number(parallel[1]) > 0 ? Number(parallel[1]) : LLAMA_DEFAULT_PARALLEL;
  return n + 1;
}

/** Whether a launch runs llama-server (whose answers carry its `timings`, token counts included). */
export function isLlamaServerLaunch(profile: LaunchProfile, readScript: (file: string) => string = readSmall): boolean {
  if (profile.engine) return profile.engine.kind === 'llama.cpp';
  try {
    return /llama-server|llama_server/i.test(launchText(profile, readScript));
  } catch {
    return false;
  }
}
