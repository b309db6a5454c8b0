// The four ways a request can reach the engine: direct, nginx, the bare Node proxy, the router.
// The router is the real `llm-manager serve` (compiled with tsc into bench-results/build, so it
// runs as it ships), in its own process pinned to the server core; the engines it spawns inherit
// that pinning, and the other three targets talk to those same engines.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { startNginx } from './nginx.js';
import { start, waitForPort, type Started } from './procs.js';
import { ROOT, settings } from './settings.js';

export type TargetName = 'direct' | 'nginx' | 'bare' | 'router' | 'llama-swap';
/** Always measured; 'llama-swap' (the peer) joins them when a binary is there (bench/peer.ts). */
export const TARGETS: TargetName[] = ['direct', 'nginx', 'bare', 'router'];

export interface EngineSpec {
  name: string;
  port: number;
  flags: string[];
  aliveTime?: string | number;
  stopTimeout?: string;
  /** Another engine script than the demo engine (no --quiet added). */
  script?: string;
  maxConnections?: number;
  /** A GPU profile (swap phase): its required_devices and memory_mb. */
  requiredDevices?: string[];
  memoryMb?: Record<string, number>;
}

// ---- the router -------------------------------------------------------------------------------

export interface RouterBuild {
  /** node arguments that run `serve` (after any node flags). */
  entry: string[];
  runtime: 'tsc build' | 'tsx';
  note: string;
}

const BUILD_DIR = path.join(settings.resultsDir, 'build');

/** tsc into bench-results/build/node (dist/ is left alone); falls back to tsx if tsc emits nothing. */
export function buildRouter(): RouterBuild {
  const entry = process.env['BENCH_ROUTER_ENTRY'];
  if (entry) return { entry: [path.resolve(entry)], runtime: 'tsc build', note: `BENCH_ROUTER_ENTRY=${entry} (not rebuilt)` };
  const tsc = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const outDir = path.join(BUILD_DIR, 'node');
  const cli = path.join(outDir, 'src-main', 'cli.js');
  fs.rmSync(outDir, { recursive: true, force: true });
  const began = Date.now();
  const out = spawnSync(process.execPath, [tsc, '-p', path.join(ROOT, 'tsconfig.node.json'), '--outDir', outDir], { cwd: ROOT, encoding: 'utf8' });
  const errors = `${out.stdout ?? ''}${out.stderr ?? ''}`.trim();
  if (fs.existsSync(cli)) {
    const note = out.status === 0 ? `tsc build in ${Date.now() - began} ms` : `tsc reported type errors (built anyway): ${errors.split('\n')[0]}`;
    return { entry: [cli], runtime: 'tsc build', note };
  }
  return { entry: ['--import', 'tsx', path.join(ROOT, 'src-main', 'cli.ts')], runtime: 'tsx', note: `tsc emitted nothing, running through tsx: ${errors.split('\n')[0]}` };
}

export function writeRouterConfig(file: string, routerPort: number, logDir: string, engines: EngineSpec[], program: Record<string, unknown> = {}): void {
  const models: Record<string, unknown> = {};
  for (const e of engines) {
    models[e.name] = {
      mode: 'Chat',
      port: e.port,
      alive_time: e.aliveTime ?? 0,
      ...(e.stopTimeout ? { stop_timeout: e.stopTimeout } : {}),
      ...(e.maxConnections ? { max_connections: e.maxConnections } : {}),
      [e.memoryMb ? 'GPU-Config' : 'CPU-Config']: {
        required_devices: e.requiredDevices ?? [],
        ...(e.memoryMb ? { memory_mb: e.memoryMb } : {}),
        command: process.execPath,
        args: e.script ? [e.script, ...e.flags] : [settings.engineScript, '--quiet', ...e.flags],
      },
    };
  }
  const config = {
    program: { host: '127.0.0.1', port: routerPort, log_level: 'ERROR', alive_time: 0, Disable_GPU_monitoring: false, log_dir: logDir, ...program },
    'Local-Models': models,
  };
  // JSON is YAML.
  fs.writeFileSync(`${file}.tmp`, `# written by bench/targets.ts\n${JSON.stringify(config, null, 2)}\n`);
  fs.renameSync(`${file}.tmp`, file);
}

export interface RouterProcess extends Started {
  port: number;
  url: string;
}

export async function startRouter(build: RouterBuild, configPath: string, port: number, cpu: string, nodeFlags: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<RouterProcess> {
  // No node flags of our own: the node as `npm run serve` and bin/llm-manager.js start it.
  const proc = start('router', process.execPath, [...settings.routerFlags, ...nodeFlags, ...build.entry, 'serve', '--config', configPath], {
    cpu,
    capture: true,
    graceful: true,
    cwd: ROOT,
    env: { ...process.env, ...env },
  });
  await Promise.race([
    waitForPort(port, 30_000, 'the router'),
    proc.exited.then((code) => {
      throw new Error(`the router exited (code ${code}) before listening:\n${proc.output()}`);
    }),
  ]);
  return Object.assign(proc, { port, url: `http://127.0.0.1:${port}` });
}

// ---- the management API ---------------------------------------------------------------------

export interface LogLine {
  seq: number;
  ts: number;
  stream: 'stdout' | 'stderr' | 'system';
  text: string;
}

export async function api<T>(routerUrl: string, method: 'GET' | 'POST', pathname: string): Promise<T> {
  const res = await fetch(`${routerUrl}${pathname}`, { method });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${pathname} → ${res.status}: ${text.slice(0, 500)}`);
  return JSON.parse(text) as T;
}

export const startModel = (url: string, name: string) => api<{ state: string; pid: number | null }>(url, 'POST', `/api/models/${name}/start`);
export const stopModel = (url: string, name: string) => api<{ state: string }>(url, 'POST', `/api/models/${name}/stop`);
export const modelInfo = (url: string, name: string) => api<{ state: string; pid: number | null }>(url, 'GET', `/api/models/${name}/info`);
export const modelLogs = (url: string, name: string) => api<LogLine[]>(url, 'GET', `/api/models/${name}/logs?tail=2000`);

// ---- nginx, the bare proxy and the byte pipe -------------------------------------------------

export function startBareProxy(port: number, routes: Record<string, number>, cpu: string, nodeFlags: string[] = []): Promise<Started> {
  return startNodeServer('bare-proxy', 'the bare proxy', port, [...nodeFlags, path.join(ROOT, 'bench', 'bare-proxy.mjs'), String(port), JSON.stringify(routes)], cpu);
}

export function startBytePipe(port: number, enginePort: number, cpu: string): Promise<Started> {
  return startNodeServer('byte-pipe', 'the byte pipe', port, [path.join(ROOT, 'bench', 'byte-pipe.mjs'), String(port), String(enginePort)], cpu);
}

/** Runs `node args` pinned to `cpu`; resolves once it listens on `port`, fails with its output if it exits first. */
async function startNodeServer(name: string, what: string, port: number, args: string[], cpu: string): Promise<Started> {
  const proc = start(name, process.execPath, args, { cpu, capture: true });
  await Promise.race([
    waitForPort(port, 10_000, what),
    proc.exited.then((code) => {
      throw new Error(`${what} exited (code ${code}): ${proc.output()}`);
    }),
  ]);
  return proc;
}

export interface Targets {
  /** The targets measured: TARGETS, plus 'llama-swap' when the peer runs. */
  list: TargetName[];
  /** Port to send a request for `model` to, per target. */
  port(target: TargetName, model: string): number;
  /** The byte pipe to the "stream" engine (a reference for the streaming figures). */
  pipePort: number;
  router: RouterProcess;
  stopProxies(): Promise<void>;
}

export async function startProxies(opts: {
  dir: string;
  router: RouterProcess;
  engines: Record<string, number>;
  nginxPorts: Record<string, number>;
  barePort: number;
  /** A byte pipe on this port to engines.stream. */
  pipePort: number;
  cpu: string;
  /** llama-swap's port, when the peer runs (it serves the same engines). */
  peerPort?: number | null;
}): Promise<Targets> {
  const routes = Object.entries(opts.nginxPorts).map(([model, listen]) => ({ listen, upstream: opts.engines[model]! }));
  const nginx = await startNginx(path.join(opts.dir, 'nginx'), routes, opts.cpu);
  const bare = await startBareProxy(opts.barePort, opts.engines, opts.cpu);
  const pipe = await startBytePipe(opts.pipePort, opts.engines['stream']!, opts.cpu);
  const peerPort = opts.peerPort ?? null;
  return {
    list: peerPort === null ? [...TARGETS] : [...TARGETS, 'llama-swap'],
    router: opts.router,
    pipePort: opts.pipePort,
    port(target, model) {
      switch (target) {
        case 'direct':
          return opts.engines[model]!;
        case 'nginx':
          return opts.nginxPorts[model]!;
        case 'bare':
          return opts.barePort;
        case 'router':
          return opts.router.port;
        case 'llama-swap':
          if (peerPort === null) throw new Error('llama-swap is not running');
          return peerPort;
      }
    },
    async stopProxies() {
      await Promise.all([nginx.stop('SIGTERM', 3000), bare.stop('SIGTERM', 3000), pipe.stop('SIGTERM', 3000)]);
    },
  };
}

export { waitForPort };
