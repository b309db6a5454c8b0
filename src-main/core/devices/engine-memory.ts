// How much system memory (resident, RSS) each of our engines holds, so the Devices page splits RAM
// by model instead of calling it all "other processes". An engine is its leader process and what it
// started (a launch script's real engine, vLLM's workers): on Linux the leader's descendants from
// /proc/<pid>/task/*/children, elsewhere one process listing (ps); on Windows, where a listing has
// no parents without PowerShell's slow start, the leader alone (command + args engines are that).
// Cheap enough for every poll: a few small /proc reads per engine, or one short command.
import fs from 'node:fs';
import type { MemoryHolder } from '../../../src-shared/contract.js';
import type { RunCommand } from './run-command.js';

export interface EngineLeader {
  model: string;
  pid: number;
}

/** One holder per engine (its leader's pid, the whole tree's memory); engines it can't read are left out. */
export type EngineMemoryProbe = (engines: readonly EngineLeader[]) => Promise<MemoryHolder[]>;

/** Descendants followed at most (a runaway tree must not make a poll slow). */
const MAX_PROCESSES = 512;

export function engineMemoryProbe(run: RunCommand, timeoutMs: number, platform: NodeJS.Platform = process.platform): EngineMemoryProbe {
  if (platform === 'linux') return async (engines) => linuxHolders(engines, procFs);
  if (platform === 'win32') {
    return async (engines) => {
      if (engines.length === 0) return [];
      const { stdout } = await run('tasklist', ['/FO', 'CSV', '/NH'], timeoutMs);
      const kb = parseTasklist(stdout);
      return engines.flatMap((e) => (kb.has(e.pid) ? [{ model: e.model, pid: e.pid, usedMb: Math.round(kb.get(e.pid)! / 1024) }] : []));
    };
  }
  return async (engines) => {
    if (engines.length === 0) return [];
    const { stdout } = await run('ps', ['-A', '-o', 'pid=,ppid=,rss='], timeoutMs);
    return holdersFromListing(engines, parsePs(stdout));
  };
}

/** What the Linux probe reads, so tests can stand in for /proc. */
export interface ProcReader {
  /** Child pids of one process (all its threads' children), or null when it is gone. */
  children(pid: number): number[] | null;
  /** VmRSS in kB, or null when the process is gone (or a zombie with no memory). */
  rssKb(pid: number): number | null;
}

export function linuxHolders(engines: readonly EngineLeader[], proc: ProcReader): MemoryHolder[] {
  const holders: MemoryHolder[] = [];
  for (const engine of engines) {
    const leader = proc.rssKb(engine.pid);
    if (leader === null) continue;
    let kb = leader;
    const seen = new Set([engine.pid]);
    const queue = [...(proc.children(engine.pid) ?? [])];
    while (queue.length > 0 && seen.size < MAX_PROCESSES) {
      const pid = queue.shift()!;
      if (seen.has(pid)) continue;
      seen.add(pid);
      kb += proc.rssKb(pid) ?? 0;
      queue.push(...(proc.children(pid) ?? []));
    }
    holders.push({ model: engine.model, pid: engine.pid, usedMb: Math.round(kb / 1024) });
  }
  return holders;
}

const procFs: ProcReader = {
  children(pid) {
    let tasks: string[];
    try {
      tasks = fs.readdirSync(`/proc/${pid}/task`);
    } catch {
      return null;
    }
    const out: number[] = [];
    for (const tid of tasks.slice(0, MAX_PROCESSES)) {
      try {
        for (const child of fs.readFileSync(`/proc/${pid}/task/${tid}/children`, 'latin1').split(' ')) if (child) out.push(Number(child));
      } catch {
        // a thread that ended meanwhile, or a kernel without the children file: the leader alone
      }
    }
    return out;
  },
  rssKb(pid) {
    try {
      const status = fs.readFileSync(`/proc/${pid}/status`, 'latin1');
      const match = /^VmRSS:\s+(\d+)\s*kB/m.exec(status);
      return match ? Number(match[1]) : null;
    } catch {
      return null;
    }
  },
};

export interface ListedProcess {
  ppid: number;
  rssKb: number;
}

/** `ps -A -o pid=,ppid=,rss=` lines. */
export function parsePs(text: string): Map<number, ListedProcess> {
  const out = new Map<number, ListedProcess>();
  for (const line of text.split(/\r?\n/)) {
    const [pid, ppid, rss] = line.trim().split(/\s+/).map(Number);
    if (Number.isInteger(pid) && Number.isInteger(ppid) && Number.isFinite(rss)) out.set(pid!, { ppid: ppid!, rssKb: rss! });
  }
  return out;
}

export function holdersFromListing(engines: readonly EngineLeader[], listing: ReadonlyMap<number, ListedProcess>): MemoryHolder[] {
  const children = new Map<number, number[]>();
  for (const [pid, p] of listing) children.set(p.ppid, [...(children.get(p.ppid) ?? []), pid]);
  return linuxHolders(engines, {
    children: (pid) => (listing.has(pid) ? (children.get(pid) ?? []) : null),
    rssKb: (pid) => listing.get(pid)?.rssKb ?? null,
  });
}

/**
 * `tasklist /FO CSV /NH` lines: "image","pid","session","session#","12,345 K". The memory column's
 * digit grouping follows the locale ("12.345 K", "12 345 K"): only its digits are read.
 */
export function parseTasklist(text: string): Map<number, number> {
  const out = new Map<number, number>();
  for (const line of text.split(/\r?\n/)) {
    const fields = [...line.matchAll(/"([^"]*)"/g)].map((m) => m[1]!);
    if (fields.length < 5) continue;
    const pid = Number(fields[1]);
    const kb = Number(fields[4]!.replace(/\D/g, ''));
    if (Number.isInteger(pid) && fields[4]!.match(/\d/) && Number.isFinite(kb)) out.set(pid, kb);
  }
  return out;
}
