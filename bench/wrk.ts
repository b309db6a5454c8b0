// Runs wrk (pinned to the client core) with lua/post.lua and parses the JSON its done() prints.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { RUN_ID } from './procs.js';

const LUA = fileURLToPath(new URL('./lua/post.lua', import.meta.url));

export interface WrkResult {
  requests: number;
  durationS: number;
  rps: number;
  errors: number;
  errorDetail: Record<string, number>;
  latencyUs: { min: number; max: number; mean: number; p50: number; p75: number; p90: number; p99: number; p99_9: number };
}

export interface WrkOptions {
  url: string;
  body: string;
  connections: number;
  durationS: number;
  cpu: string;
  threads?: number;
}

export function runWrk(o: WrkOptions): Promise<WrkResult> {
  const args = ['-c', o.cpu, 'wrk', '-t', String(o.threads ?? 1), '-c', String(o.connections), '-d', `${o.durationS}s`, '--timeout', '10s', '-s', LUA, o.url];
  return new Promise((resolve, reject) => {
    const child = spawn('taskset', args, { env: { ...process.env, BENCH_BODY: o.body, BENCH_RUN_ID: RUN_ID }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    child.once('error', reject);
    child.once('exit', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('BENCH_JSON '));
      if (code !== 0 || !line) return reject(new Error(`wrk failed (exit ${code}): ${out.trim()}`));
      const raw = JSON.parse(line.slice('BENCH_JSON '.length)) as {
        requests: number;
        duration_us: number;
        errors: Record<string, number>;
        latency_us: Record<string, number>;
      };
      const durationS = raw.duration_us / 1e6;
      const l = raw.latency_us;
      resolve({
        requests: raw.requests,
        durationS,
        rps: raw.requests / durationS,
        errors: Object.values(raw.errors).reduce((a, b) => a + b, 0),
        errorDetail: raw.errors,
        latencyUs: { min: l['min']!, max: l['max']!, mean: l['mean']!, p50: l['p50']!, p75: l['p75']!, p90: l['p90']!, p99: l['p99']!, p99_9: l['p99_9']! },
      });
    });
  });
}
