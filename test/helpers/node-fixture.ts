// A real LLM Manager node for integration tests: a config.yaml in a fresh temp folder whose
// models run scripts/demo-engine.mjs (real child processes on free ports), the router on a free
// port, and a record of every process the node ever spawned, so that a test can prove that none
// of them outlives node.close().
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import type { ModelInfo } from '../../src-shared/contract.js';
import { silentLogger } from '../../src-main/core/logger.js';
import { createNode, type LlmNode, type NodeOptions } from '../../src-main/core/node.js';
import { freePorts } from './ports.js';
import { closeEvery, trackEngines } from './processes.js';

export const DEMO_ENGINE = fileURLToPath(new URL('../../scripts/demo-engine.mjs', import.meta.url));

export interface ModelSpec {
  name: string;
  aliases?: string[];
  mode?: 'Chat' | 'Base' | 'Embedding' | 'Reranker';
  /** Flags for demo-engine.mjs (default: a 150 ms load). */
  flags?: string[];
  /** alive_time as written in YAML ("1s", 0, ...). Default 0: never stopped for idleness. */
  aliveTime?: string | number;
  startTimeout?: string | number;
  stopTimeout?: string | number;
  autoStart?: boolean;
  healthPath?: string;
  servedModelName?: string;
  /**
   * Launch through a script instead of command + args: the file name and its text, written into
   * the temp folder. The profile gets NODE (this node binary) and ENGINE (demo-engine.mjs) in its env,
   * and `flags` as the script's arguments.
   */
  script?: { file: string; text: string };
  /** The launch profile as written in YAML, instead of the demo engine (an engine profile, say: engine, model, ...). */
  profile?: Record<string, unknown>;
  /** More model keys as written in YAML (loading_stream, keep, ...). */
  keys?: Record<string, unknown>;
}

export interface FixtureOptions {
  models: ModelSpec[];
  bodyLimitMb?: number;
  /** More program: keys as written in YAML (api_keys, cors_origins, ...). */
  program?: Record<string, unknown>;
  /** More createNode options (supervisorDeps, webUiDir, ...). */
  nodeOptions?: Partial<NodeOptions>;
  /** More top-level keys as written in YAML (peers, ...). */
  root?: Record<string, unknown>;
}

export interface NodeFixture {
  node: LlmNode;
  /** http://127.0.0.1:port of the router. */
  url: string;
  dir: string;
  configPath: string;
  routerPort: number;
  /** name → the engine port from the config. */
  ports: Record<string, number>;
  /** Every pid this node's engines ever had (the leaders, plus any a script logged as "pid N"). */
  pids(): number[];
  /** GET /api/models/:name/info through the router. */
  info(name: string): Promise<ModelInfo>;
  /** How many times the node spawned the model (its "starting ..." log lines). */
  spawnCount(name: string): Promise<number>;
  /** Closes the node, then fails if any process it spawned still runs (and kills those). */
  close(): Promise<void>;
}

const DEFAULT_FLAGS = ['--load-ms', '150'];
const open = new Set<NodeFixture>();

export async function startNode(options: FixtureOptions): Promise<NodeFixture> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'llm-manager-it-'));
  const [routerPort, ...modelPorts] = await freePorts(options.models.length + 1);
  const ports: Record<string, number> = {};
  const models: Record<string, unknown> = {};
  options.models.forEach((spec, i) => {
    const port = modelPorts[i]!;
    ports[spec.name] = port;
    const profile: Record<string, unknown> = { required_devices: [] };
    if (spec.profile) {
      Object.assign(profile, spec.profile);
    } else if (spec.script) {
      fs.writeFileSync(path.join(dir, spec.script.file), spec.script.text, { mode: 0o755 });
      profile['script_path'] = spec.script.file;
      profile['args'] = spec.flags ?? DEFAULT_FLAGS;
      profile['env'] = { NODE: process.execPath, ENGINE: DEMO_ENGINE };
    } else {
      profile['command'] = process.execPath;
      profile['args'] = [DEMO_ENGINE, ...(spec.flags ?? DEFAULT_FLAGS)];
    }
    models[spec.name] = {
      aliases: spec.aliases ?? [],
      mode: spec.mode ?? 'Chat',
      port,
      auto_start: spec.autoStart ?? false,
      alive_time: spec.aliveTime ?? 0,
      ...(spec.startTimeout !== undefined ? { start_timeout: spec.startTimeout } : {}),
      ...(spec.stopTimeout !== undefined ? { stop_timeout: spec.stopTimeout } : {}),
      ...(spec.healthPath !== undefined ? { health_path: spec.healthPath } : {}),
      ...(spec.servedModelName !== undefined ? { served_model_name: spec.servedModelName } : {}),
      ...spec.keys,
      'Test-Profile': profile,
    };
  });
  const config = {
    program: {
      host: '127.0.0.1',
      port: routerPort,
      log_level: 'ERROR',
      alive_time: 0,
      Disable_GPU_monitoring: true,
      log_dir: 'logs',
      body_limit_mb: options.bodyLimitMb ?? 50,
      ...options.program,
    },
    'Local-Models': models,
    ...options.root,
  };
  const configPath = path.join(dir, 'config.yaml');
  fs.writeFileSync(configPath, stringify(config));

  // No web UI unless asked for: the router's own answers (404 for unknown paths) are under test.
  // The library sees no LM Studio folder or Hugging Face cache of this machine's user.
  const node = await createNode({ configPath, port: routerPort!, logger: silentLogger, webUiDir: null, library: { home: dir, env: {} }, ...options.nodeOptions });
  const apiKey = (options.program?.['api_keys'] as string[] | undefined)?.[0];

  const engines = trackEngines(node);

  let closed: Promise<void> | null = null;
  const fixture: NodeFixture = {
    node,
    url: node.url,
    dir,
    configPath,
    routerPort: routerPort!,
    ports,
    pids: engines.pids,
    async info(name) {
      const res = await fetch(`${node.url}/api/models/${encodeURIComponent(name)}/info`, apiKey ? { headers: { authorization: `Bearer ${apiKey}` } } : {});
      if (res.status !== 200) throw new Error(`info ${name}: HTTP ${res.status} ${await res.text()}`);
      return (await res.json()) as ModelInfo;
    },
    async spawnCount(name) {
      const lines = await node.api.modelLogs(name, 2000);
      return lines.filter((l) => l.stream === 'system' && l.text.startsWith(`starting ${name} `)).length;
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

/** For afterEach: closes every node a test started and fails if any engine process survived. */
export async function closeAllNodes(): Promise<void> {
  await closeEvery(open);
}

/** Waits until the model reaches `state` (polling its info through the API). */
export async function waitForState(fixture: NodeFixture, name: string, state: ModelInfo['state'], timeoutMs = 5000): Promise<ModelInfo> {
  let info: ModelInfo | undefined;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    info = await fixture.node.api.modelInfo(name);
    if (info.state === state) return info;
    if (Date.now() > deadline) throw new Error(`${name} is ${info.state}, not ${state}, after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
