// The bench needs wrk, nginx and taskset. As root with apt-get it installs what is missing;
// otherwise it says what to install and stops.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import { haveCommand } from './procs.js';

const NEEDED: Record<string, string> = { wrk: 'wrk', nginx: 'nginx-light', taskset: 'util-linux', prlimit: 'util-linux' };

export function ensureTools(log: (line: string) => void): void {
  if (process.platform !== 'linux') throw new Error('npm run bench needs Linux (taskset, /proc, Debian packages)');
  const missing = Object.keys(NEEDED).filter((cmd) => !haveCommand(cmd));
  if (missing.length === 0) return;
  const packages = [...new Set(missing.map((m) => NEEDED[m]!))];
  const isRoot = process.getuid?.() === 0;
  if (!isRoot || !haveCommand('apt-get')) {
    throw new Error(`missing ${missing.join(', ')}: install them first, e.g. sudo apt-get install -y ${packages.join(' ')}`);
  }
  log(`installing ${packages.join(' ')} (missing: ${missing.join(', ')}) with apt-get ...`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const run = (args: string[]) => spawnSync('apt-get', args, { stdio: 'inherit', env }).status === 0;
  const fallback = packages.map((p) => (p === 'nginx-light' ? 'nginx' : p));
  if (!run(['update', '-qq']) || !(run(['install', '-y', '-qq', ...packages]) || run(['install', '-y', '-qq', ...fallback]))) {
    throw new Error(`apt-get could not install ${packages.join(' ')}`);
  }
  const still = Object.keys(NEEDED).filter((cmd) => !haveCommand(cmd));
  if (still.length > 0) throw new Error(`still missing after apt-get: ${still.join(', ')}`);
}

export function toolVersions(): Record<string, string> {
  const first = (cmd: string, args: string[]) => {
    const out = spawnSync(cmd, args, { encoding: 'utf8' });
    return `${out.stdout ?? ''}${out.stderr ?? ''}`.trim().split('\n')[0] ?? '';
  };
  return {
    node: process.version,
    wrk: first('wrk', ['-v']),
    nginx: first('nginx', ['-v']),
    kernel: os.release(),
    cpu: os.cpus()[0]?.model ?? '?',
    cpus: String(os.cpus().length),
  };
}

/** Pins this process (all its threads) to `cpu`, and raises its open-files limit for 1,000+ sockets. */
export function pinAndRaiseLimits(cpu: string, log: (line: string) => void): void {
  const pin = spawnSync('taskset', ['-a', '-p', '-c', cpu, String(process.pid)], { encoding: 'utf8' });
  if (pin.status !== 0) log(`warning: could not pin the bench to CPU ${cpu}: ${pin.stderr}`);
  const limits = spawnSync('prlimit', ['--pid', String(process.pid), '--nofile', '--output', 'SOFT,HARD', '--raw', '--noheadings'], { encoding: 'utf8' });
  const [soft, hard] = (limits.stdout ?? '').trim().split(/\s+/).map((v) => (v === 'unlimited' ? Infinity : Number(v))) as [number, number];
  const want = 65536;
  // 1,000 streams take about 2,100 descriptors in the bench and as many in the router.
  if (Number.isFinite(soft) && soft < 8192) {
    const target = process.getuid?.() === 0 ? Math.max(want, hard === Infinity ? want : hard) : Math.min(want, hard);
    const raised = spawnSync('prlimit', ['--pid', String(process.pid), `--nofile=${target}:${hard === Infinity ? 'unlimited' : Math.max(target, hard)}`], { encoding: 'utf8' });
    if (raised.status !== 0) log(`warning: open-files limit stays at ${soft}: ${raised.stderr.trim()}`);
  }
}

/**
 * On a shared machine, other people's builds and tests steal the cores the bench pins to. Running
 * every bench process at a higher priority (nice -10 by default; BENCH_NICE=0 turns it off) makes
 * the figures far less noisy; the run is short. Children inherit it from the spawning thread.
 */
export function raisePriority(log: (line: string) => void): number {
  const raw = process.env['BENCH_NICE'];
  const nice = raw === undefined || raw === '' ? -10 : Number(raw);
  if (!Number.isInteger(nice) || nice === 0) return 0;
  const tids = fs.readdirSync('/proc/self/task');
  const out = spawnSync('renice', ['-n', String(nice), '-p', ...tids], { encoding: 'utf8' });
  if (out.status !== 0) {
    log(`note: could not raise the bench's priority (renice ${nice}: ${(out.stderr ?? '').trim().split('\n')[0]}); figures may be noisier`);
    return 0;
  }
  return nice;
}
