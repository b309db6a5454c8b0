// Is a process still running? For the "no engine survives" checks of the integration tests.
import fs from 'node:fs';
import type { LlmNode } from '../../src-main/core/node.js';

/**
 * What tells this process apart from a later one that reuses its pid: its start time in clock
 * ticks since boot (/proc/PID/stat field 22) on Linux; null elsewhere or when it is already gone.
 */
export function processIdentity(pid: number): string | null {
  return procStat(pid)?.startTime ?? null;
}

/**
 * True while `pid` is a running process (the one with `identity`, when given). `process.kill(pid, 0)`
 * throwing ESRCH means gone. On Linux a zombie counts as gone too: it has exited and holds nothing
 * (no port, no memory) and only waits to be reaped — and PID 1 of some containers never reaps the
 * orphans it inherits (a script's engine whose shell died first).
 */
export function isProcessRunning(pid: number, identity: string | null = null): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  if (process.platform !== 'linux') return true;
  const stat = procStat(pid);
  if (!stat) return false;
  if (stat.state === 'Z' || stat.state === 'X') return false;
  return identity === null || stat.startTime === identity;
}

function procStat(pid: number): { state: string; startTime: string } | null {
  if (process.platform !== 'linux') return null;
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // "pid (comm) state ppid ..." — comm may contain spaces and parentheses: split after the last ")".
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const state = fields[0];
  const startTime = fields[19]; // field 22 overall; fields[] starts at field 3
  return state !== undefined && startTime !== undefined ? { state, startTime } : null;
}

/**
 * Records every engine process a node spawns (leaders from model events, and any pid a script
 * logs as "pid N"), so that closing the node can prove none of them survived.
 */
export function trackEngines(node: LlmNode) {
  // pid → identity (start time), captured while the process runs.
  const seen = new Map<number, string | null>();
  const remember = (pid: number | null | undefined) => {
    if (typeof pid === 'number' && pid > 0 && !seen.has(pid)) seen.set(pid, processIdentity(pid));
  };
  // Not device readings: a listener for those would keep the node polling the GPUs in every test.
  const unsubscribe = node.events.subscribe(
    (event) => {
      if (event.type === 'model') remember(event.model.pid);
      if (event.type === 'log') remember(Number(/\bpid (\d+)\b/.exec(event.line.text)?.[1] ?? NaN));
    },
    ['model', 'log'],
  );
  return {
    pids: (): number[] => [...seen.keys()],
    /** Closes the node and removes `dir`; throws (after killing them) if any engine process survived. */
    async closeNode(dir: string): Promise<void> {
      for (const supervisor of node.registry.list()) remember(supervisor.pid);
      try {
        await node.close();
      } finally {
        unsubscribe();
      }
      const survivors = [...seen].filter(([pid, identity]) => isProcessRunning(pid, identity)).map(([pid]) => pid);
      for (const pid of survivors) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone meanwhile
        }
      }
      fs.rmSync(dir, { recursive: true, force: true });
      if (survivors.length > 0) throw new Error(`processes still running after node.close(): ${survivors.join(', ')}`);
    },
  };
}

/** For afterEach: closes every fixture still open; fails if any of them left an engine running. */
export async function closeEvery(fixtures: Iterable<{ close(): Promise<void> }>): Promise<void> {
  const results = await Promise.allSettled([...fixtures].map((f) => f.close()));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}
