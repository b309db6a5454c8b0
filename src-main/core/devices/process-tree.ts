// Which of our engines a GPU process belongs to. An engine runs in its own process group whose
// leader is the supervisor's pid, so a script's children (the real llama-server) count as that
// engine too: on Linux /proc/<pid>/stat gives pgid and ppid, elsewhere one process listing does.
import fs from 'node:fs';
import { readProcStat } from '../models/proc-stat.js';
import { formatSeconds, type RunCommand } from './run-command.js';

export interface ProcessLink {
  ppid: number;
  /** Process group (POSIX); null where there is none (Windows). */
  pgid: number | null;
}

/** Follows pgid, then the parent chain, up to one of the leaders. Pure. */
export function ownerOf(pid: number, leaders: ReadonlyMap<number, string>, links: ReadonlyMap<number, ProcessLink>): string | null {
  let current = pid;
  for (let depth = 0; depth < 64; depth++) {
    const owner = leaders.get(current);
    if (owner !== undefined) return owner;
    const link = links.get(current);
    if (!link) return null;
    if (link.pgid !== null && leaders.has(link.pgid)) return leaders.get(link.pgid)!;
    if (link.ppid <= 1 || link.ppid === current) return null;
    current = link.ppid;
  }
  return null;
}

export type ProcessLinks = (pids: number[]) => Promise<Map<number, ProcessLink>>;

/** pid → {ppid, pgid} for the given pids and their ancestors. */
export function processLinks(run: RunCommand, timeoutMs: number, platform: NodeJS.Platform = process.platform): ProcessLinks {
  if (platform === 'linux') return async (pids) => linuxLinks(pids);
  if (platform === 'win32') {
    return async () => {
      // One listing of every process and its parent; Windows has no process groups.
      const script = "Get-CimInstance Win32_Process -Property ProcessId,ParentProcessId | ForEach-Object { '{0} {1}' -f $_.ProcessId,$_.ParentProcessId }";
      const { stdout } = await run('powershell.exe', ['-NoProfile', '-NonInteractive', '-Command', script], timeoutMs);
      return parseListing(stdout, false);
    };
  }
  return async () => {
    const { stdout } = await run('ps', ['-A', '-o', 'pid=,ppid=,pgid='], timeoutMs);
    return parseListing(stdout, true);
  };
}

function linuxLinks(pids: number[]): Map<number, ProcessLink> {
  const links = new Map<number, ProcessLink>();
  for (const start of pids) {
    let pid = start;
    for (let depth = 0; depth < 64 && pid > 1 && !links.has(pid); depth++) {
      const stat = readProcStat(pid);
      const link = stat ? { ppid: stat.ppid, pgid: stat.pgid } : null;
      if (!link) break;
      links.set(pid, link);
      pid = link.ppid;
    }
  }
  return links;
}

/** Lines of "pid ppid [pgid]". */
export function parseListing(text: string, withGroup: boolean): Map<number, ProcessLink> {
  const links = new Map<number, ProcessLink>();
  for (const line of text.split(/\r?\n/)) {
    const [pid, ppid, pgid] = line.trim().split(/\s+/).map(Number);
    if (!Number.isInteger(pid) || !Number.isInteger(ppid)) continue;
    links.set(pid!, { ppid: ppid!, pgid: withGroup && Number.isInteger(pgid) ? pgid! : null });
  }
  return links;
}

/** Owner (model name or null) of every pid; never throws: an unreadable table attributes nothing. */
export async function attribute(
  pids: number[],
  leaders: ReadonlyMap<number, string>,
  links: ProcessLinks,
  timeoutMs: number,
): Promise<Map<number, string | null>> {
  const owners = new Map<number, string | null>();
  const unknown = pids.filter((pid) => !leaders.has(pid));
  let table = new Map<number, ProcessLink>();
  if (unknown.length > 0 && leaders.size > 0) {
    try {
      table = await withTimeout(links(unknown), timeoutMs);
    } catch {
      // without the table only the leaders themselves are recognised
    }
  }
  for (const pid of pids) owners.set(pid, ownerOf(pid, leaders, table));
  return owners;
}

export function withTimeout<T>(promise: Promise<T>, ms: number, what = 'probe'): Promise<T> {
  let timer: NodeJS.Timeout;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${formatSeconds(ms)}`)), ms);
    timer.unref();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
