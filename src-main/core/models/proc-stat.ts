// /proc/<pid>/stat on Linux: the one place that reads it (process groups, ownership, start times).
import { readFileSync } from 'node:fs';

export interface ProcStat {
  /** R, S, D, Z (zombie), X (dead), T … */
  state: string;
  ppid: number;
  pgid: number;
  /** Clock ticks after boot the process started: with the pid, it names one process. */
  startTime: string;
}

/** Fields of a stat line, or null when it is not one. */
export function parseProcStat(text: string): ProcStat | null {
  // "pid (comm) state ppid pgrp ..." — comm may hold spaces and ")": split after the last ")".
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const ppid = Number(fields[1]);
  const pgid = Number(fields[2]);
  const startTime = fields[19];
  if (!fields[0] || !Number.isInteger(ppid) || !Number.isInteger(pgid) || startTime === undefined) return null;
  return { state: fields[0], ppid, pgid, startTime };
}

export function readProcStat(pid: number | string): ProcStat | null {
  try {
    return parseProcStat(readFileSync(`/proc/${pid}/stat`, 'latin1'));
  } catch {
    return null; // gone, or not Linux
  }
}
