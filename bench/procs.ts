// Every process the bench starts goes through here, so that all of them are stopped at the end,
// on failure and on Ctrl+C. Each carries BENCH_RUN_ID=<id> in its environment (inherited by the
// engines the router spawns), and the last sweep kills any process that still has it — only ours.
import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import { randomBytes } from 'node:crypto';

export const RUN_ID = `${process.pid}-${randomBytes(4).toString('hex')}`;
process.env['BENCH_RUN_ID'] = RUN_ID;

interface Tracked {
  name: string;
  child: ChildProcess;
  /** Asked to stop gracefully first (the router stops its engines on SIGTERM). */
  graceful: boolean;
}

const tracked = new Set<Tracked>();

export interface Started {
  name: string;
  child: ChildProcess;
  pid: number;
  exited: Promise<number | null>;
  /** Text the process wrote (stdout + stderr), when captured. */
  output(): string;
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<void>;
}

export interface StartOptions extends SpawnOptions {
  /** Pin to these CPUs with taskset (e.g. "0"). */
  cpu?: string;
  /** Keep what the process prints (else ignored). */
  capture?: boolean;
  graceful?: boolean;
}

/** Spawns `file args` in its own process group, pinned with taskset when `cpu` is given. */
export function start(name: string, file: string, args: string[], options: StartOptions = {}): Started {
  const { cpu, capture = false, graceful = false, ...spawnOptions } = options;
  const [cmd, argv] = cpu !== undefined ? ['taskset', ['-c', cpu, file, ...args]] : [file, args];
  const child = spawn(cmd, argv as string[], {
    stdio: ['ignore', capture ? 'pipe' : 'ignore', capture ? 'pipe' : 'ignore'],
    detached: true,
    ...spawnOptions,
    env: { ...process.env, ...spawnOptions.env, BENCH_RUN_ID: RUN_ID },
  });
  let text = '';
  if (capture) {
    const keep = (chunk: Buffer) => {
      text += chunk.toString();
      if (text.length > 200_000) text = text.slice(-100_000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
  }
  const entry: Tracked = { name, child, graceful };
  tracked.add(entry);
  const exited = new Promise<number | null>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve(child.exitCode);
    child.once('exit', (code) => {
      tracked.delete(entry);
      resolve(code);
    });
    child.once('error', () => {
      tracked.delete(entry);
      resolve(null);
    });
  });
  if (child.pid === undefined) throw new Error(`could not start ${name} (${file})`);
  return {
    name,
    child,
    pid: child.pid,
    exited,
    output: () => text,
    async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 5000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      killGroup(child.pid!, signal);
      const timer = new Promise<'late'>((resolve) => setTimeout(() => resolve('late'), graceMs).unref());
      if ((await Promise.race([exited, timer])) === 'late') {
        killGroup(child.pid!, 'SIGKILL');
        await exited;
      }
    },
  };
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

/** Graceful processes (the routers) first, so they can stop their engines; then the rest; then the sweep. */
export async function stopAll(): Promise<void> {
  const all = [...tracked];
  await Promise.all(all.filter((t) => t.graceful).map((t) => stopTracked(t, 'SIGTERM', 8000)));
  await Promise.all(all.filter((t) => !t.graceful).map((t) => stopTracked(t, 'SIGTERM', 3000)));
  sweep();
}

async function stopTracked(t: Tracked, signal: NodeJS.Signals, graceMs: number): Promise<void> {
  const { child } = t;
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  killGroup(child.pid, signal);
  const late = await Promise.race([exited.then(() => false), new Promise<boolean>((r) => setTimeout(() => r(true), graceMs).unref())]);
  if (late) {
    killGroup(child.pid, 'SIGKILL');
    await exited;
  }
}

/** Synchronous last resort (process 'exit'): SIGKILL every process that carries our run id. */
export function sweep(): number {
  for (const t of tracked) if (t.child.pid !== undefined) killGroup(t.child.pid, 'SIGKILL');
  tracked.clear();
  let killed = 0;
  for (const pid of pidsWithRunId()) {
    try {
      process.kill(pid, 'SIGKILL');
      killed++;
    } catch {
      // gone meanwhile
    }
  }
  return killed;
}

export function pidsWithRunId(): number[] {
  const marker = `BENCH_RUN_ID=${RUN_ID}\0`;
  const out: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid) continue;
    try {
      if (`${fs.readFileSync(`/proc/${pid}/environ`, 'latin1')}\0`.includes(marker)) out.push(pid);
    } catch {
      // gone, or not ours to read
    }
  }
  return out;
}

// ---- /proc readers ---------------------------------------------------------------------------

/** VmRSS / VmHWM of a process in kB. */
export function memoryKb(pid: number): { rss: number; hwm: number } | null {
  try {
    const text = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(text)?.[1] ?? NaN);
    return { rss: field('VmRSS'), hwm: field('VmHWM') };
  } catch {
    return null;
  }
}

/** utime + stime of a process, in clock ticks. */
export function cpuTicks(pid: number): number | null {
  try {
    const text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]); // fields 14 and 15 overall
  } catch {
    return null;
  }
}

let clkTck: number | null = null;
export function clockTicksPerSecond(): number {
  if (clkTck === null) {
    const out = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
    clkTck = Number(out.stdout?.trim()) || 100;
  }
  return clkTck;
}

export interface CpuTimes {
  total: number;
  steal: number;
  perCpu: Record<string, { total: number; steal: number }>;
}

export function readCpuTimes(): CpuTimes {
  const perCpu: CpuTimes['perCpu'] = {};
  let total = 0;
  let steal = 0;
  for (const line of fs.readFileSync('/proc/stat', 'utf8').split('\n')) {
    const m = /^(cpu\d*)\s+(.*)$/.exec(line);
    if (!m) continue;
    // user nice system idle iowait irq softirq steal guest guest_nice (guest is already in user)
    const v = m[2]!.trim().split(/\s+/).map(Number);
    const t = v.slice(0, 8).reduce((a, b) => a + b, 0);
    const s = v[7] ?? 0;
    if (m[1] === 'cpu') {
      total = t;
      steal = s;
    } else {
      perCpu[m[1]!] = { total: t, steal: s };
    }
  }
  return { total, steal, perCpu };
}

/** Steal time between two readings, as a percentage of all CPU time (and per CPU). */
export function stealPercent(a: CpuTimes, b: CpuTimes): { all: number; perCpu: Record<string, number> } {
  const pct = (ds: number, dt: number) => (dt > 0 ? (100 * ds) / dt : 0);
  const perCpu: Record<string, number> = {};
  for (const [cpu, after] of Object.entries(b.perCpu)) {
    const before = a.perCpu[cpu];
    if (before) perCpu[cpu] = pct(after.steal - before.steal, after.total - before.total);
  }
  return { all: pct(b.steal - a.steal, b.total - a.total), perCpu };
}

// ---- helpers -----------------------------------------------------------------------------------

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export async function freePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await freePort());
  return [...ports];
}

/** Resolves once something accepts connections on the port (or rejects after timeoutMs). */
export async function waitForPort(port: number, timeoutMs = 15_000, what = `port ${port}`): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = net.connect({ port, host: '127.0.0.1' });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`${what} did not open within ${timeoutMs} ms`);
    await sleep(20);
  }
}

/** Which binaries exist in PATH. */
export function haveCommand(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0;
}

/** CPU ticks of every process that is not ours (no BENCH_RUN_ID of this run, not this process). */
export function foreignTicks(): Map<number, number> {
  const marker = `BENCH_RUN_ID=${RUN_ID}\0`;
  const out = new Map<number, number>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid) continue;
    try {
      if (`${fs.readFileSync(`/proc/${pid}/environ`, 'latin1')}\0`.includes(marker)) continue;
    } catch {
      // kernel threads and others we cannot read: count them
    }
    const ticks = cpuTicks(pid);
    if (ticks !== null) out.set(pid, ticks);
  }
  return out;
}

/** CPU other processes used between two foreignTicks() snapshots, in % of all CPUs of the machine. */
export function foreignPercent(a: Map<number, number>, b: Map<number, number>, seconds: number, cpus: number): number {
  let ticks = 0;
  for (const [pid, t] of b) ticks += t - (a.get(pid) ?? 0);
  return (100 * ticks) / clockTicksPerSecond() / seconds / cpus;
}
