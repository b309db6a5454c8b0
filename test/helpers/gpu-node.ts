// A real node for the GPU scheduling tests: a config.yaml whose models have GPU launch profiles
// (required_devices, memory_mb) running scripts/demo-engine.mjs, the router on a free port, and a
// record of every engine process, so close() can prove none outlived the node.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import type { ModelInfo } from '../../src-shared/contract.js';
import type { Logger } from '../../src-main/core/logger.js';
import { createNode, type LlmNode, type NodeOptions } from '../../src-main/core/node.js';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { installFakeNvidiaSmi, type FakeNvidiaSmi } from './gpu-fake.js';
import { freePorts } from './ports.js';
import { closeEvery, trackEngines } from './processes.js';

export const DEMO_ENGINE_PATH = fileURLToPath(new URL('../../scripts/demo-engine.mjs', import.meta.url));

export interface GpuProfileSpec {
  required_devices?: string[];
  memory_mb?: Record<string, number>;
  /** demo-engine flags, after `--load-ms 150`. */
  flags?: string[];
  env?: Record<string, string>;
  /** Launch through this script (written into the temp folder) instead; env gets NODE and ENGINE. */
  script?: { file: string; text: string };
}

export interface GpuModelSpec {
  aliveTime?: string | number;
  startTimeout?: string | number;
  /** Launch profiles in priority order. */
  profiles: Record<string, GpuProfileSpec>;
  /** More model keys as written in YAML (keep, resident, priority, exclusive_group, ...). */
  keys?: Record<string, unknown>;
}

export interface GpuNodeOptions {
  program?: Record<string, unknown>;
  models: Record<string, GpuModelSpec>;
  deviceMonitor?: NodeOptions['deviceMonitor'];
}

export interface GpuNode {
  node: LlmNode;
  url: string;
  dir: string;
  ports: Record<string, number>;
  /** The node's own log lines ("warn ...", "info ..."). */
  logs: string[];
  info(name: string): Promise<ModelInfo>;
  /** The model's log as text lines. */
  log(name: string): Promise<string[]>;
  close(): Promise<void>;
}

const open = new Set<GpuNode>();

export async function startGpuNode(options: GpuNodeOptions): Promise<GpuNode> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'llm-manager-gpu-'));
  const names = Object.keys(options.models);
  const [routerPort, ...modelPorts] = await freePorts(names.length + 1);
  const ports: Record<string, number> = {};
  const models: Record<string, unknown> = {};
  names.forEach((name, i) => {
    const spec = options.models[name]!;
    ports[name] = modelPorts[i]!;
    const profiles: Record<string, unknown> = {};
    for (const [profileName, p] of Object.entries(spec.profiles)) {
      const launch: Record<string, unknown> = p.script
        ? { script_path: p.script.file, env: { NODE: process.execPath, ENGINE: DEMO_ENGINE_PATH, ...p.env } }
        : { command: process.execPath, args: [DEMO_ENGINE_PATH, '--load-ms', '150', ...(p.flags ?? [])], ...(p.env ? { env: p.env } : {}) };
      if (p.script) fs.writeFileSync(path.join(dir, p.script.file), p.script.text, { mode: 0o755 });
      profiles[profileName] = { required_devices: p.required_devices ?? [], ...(p.memory_mb ? { memory_mb: p.memory_mb } : {}), ...launch };
    }
    models[name] = {
      mode: 'Chat',
      port: ports[name],
      alive_time: spec.aliveTime ?? 0,
      ...(spec.startTimeout !== undefined ? { start_timeout: spec.startTimeout } : {}),
      ...spec.keys,
      ...profiles,
    };
  });
  const configPath = path.join(dir, 'config.yaml');
  fs.writeFileSync(
    configPath,
    stringify({ program: { host: '127.0.0.1', port: routerPort, log_level: 'DEBUG', alive_time: 0, log_dir: 'logs', ...options.program }, 'Local-Models': models }),
  );

  const logs: string[] = [];
  const at = (level: string) => (message: string) => void logs.push(`${level} ${message}`);
  const logger: Logger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
  const node = await createNode({ configPath, port: routerPort!, logger, watchConfig: false, webUiDir: null, ...(options.deviceMonitor ? { deviceMonitor: options.deviceMonitor } : {}) });

  const engines = trackEngines(node);

  let closed: Promise<void> | null = null;
  const fixture: GpuNode = {
    node,
    url: node.url,
    dir,
    ports,
    logs,
    async info(name) {
      const res = await fetch(`${node.url}/api/models/${encodeURIComponent(name)}/info`);
      if (res.status !== 200) throw new Error(`info ${name}: HTTP ${res.status} ${await res.text()}`);
      return (await res.json()) as ModelInfo;
    },
    async log(name) {
      return (await node.api.modelLogs(name, 2000)).map((l) => l.text);
    },
    close() {
      closed ??= (async () => {
        open.delete(fixture);
        await engines.closeNode(dir);
      })();
      return closed;
    },
  };
  open.add(fixture);
  return fixture;
}

/** For afterEach: closes every node a test started; fails if an engine process survived. */
/** Device polling fast; the time limit generous, because starting the fake (a node script) is slow on a busy machine. */
export const FAST_MONITOR = { intervalMs: 100, timeoutMs: 10_000 };

/**
 * For a test file of GPU nodes: the fake nvidia-smi first on PATH while its tests run, and every
 * node closed after each test. The handle works once the tests start.
 */
export function useFakeGpus(): FakeNvidiaSmi {
  const handle = {} as FakeNvidiaSmi;
  beforeAll(() => {
    Object.assign(handle, installFakeNvidiaSmi());
  });
  afterAll(() => handle.restore?.());
  afterEach(closeGpuNodes);
  return handle;
}

export async function closeGpuNodes(): Promise<void> {
  await closeEvery(open);
}

/** The environment a running process was started with (Linux). */
export function processEnv(pid: number): Record<string, string> {
  const env: Record<string, string> = {};
  for (const entry of fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0')) {
    const eq = entry.indexOf('=');
    if (eq > 0) env[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return env;
}
