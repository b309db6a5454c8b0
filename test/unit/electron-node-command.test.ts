// A bare `node` that isn't installed runs with the app's own executable (ELECTRON_RUN_AS_NODE=1):
// the pure rewrite, then a real node whose PATH has no `node` starting the demo engine through it.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { LaunchProfile } from '../../src-shared/config.js';
import { silentLogger } from '../../src-main/core/logger.js';
import { findExecutable } from '../../src-main/core/models/process.js';
import { createNode, type LlmNode } from '../../src-main/core/node.js';
import { withElectronAsNode } from '../../src-main/electron/node-command.js';
import { DEMO_ENGINE } from '../helpers/node-fixture.js';
import { freePorts } from '../helpers/ports.js';

const profile = (over: Partial<LaunchProfile>): LaunchProfile => ({
  name: 'CPU',
  requiredDevices: [],
  scriptPath: null,
  command: 'node',
  args: ['scripts/demo-engine.mjs'],
  cwd: null,
  env: { DEMO_TPS: '0' },
  memoryMb: {},
  ...over,
});
const APP = '/opt/LLM Manager/llm-manager';
const noNode = { execPath: APP, hasCommand: () => false };

describe('withElectronAsNode', () => {
  it('runs a bare node with the app executable as Node when PATH has none', () => {
    expect(withElectronAsNode(profile({}), noNode)).toEqual(profile({ command: APP, env: { DEMO_TPS: '0', ELECTRON_RUN_AS_NODE: '1' } }));
    expect(withElectronAsNode(profile({ command: 'node.exe' }), noNode).command).toBe(APP);
    expect(withElectronAsNode(profile({ command: 'NODE' }), noNode).command).toBe(APP);
  });

  it('leaves everything else alone', () => {
    const installed = profile({});
    expect(withElectronAsNode(installed, { execPath: APP, hasCommand: (c) => c === 'node' })).toBe(installed);
    for (const other of [profile({ command: '/usr/local/bin/node' }), profile({ command: 'nodejs' }), profile({ command: 'llama-server' }), profile({ command: null, scriptPath: '/m/run.sh' })]) {
      expect(withElectronAsNode(other, noNode)).toBe(other);
    }
  });
});

describe('a node started with the rewrite', () => {
  let node: LlmNode | null = null;
  let dir = '';
  const savedPath = process.env['PATH'];
  afterEach(async () => {
    process.env['PATH'] = savedPath;
    await node?.close();
    node = null;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('starts a `node` engine although PATH has no node', async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'llm-run-as-node-'));
    const [routerPort, enginePort] = await freePorts(2);
    const configPath = path.join(dir, 'config.yaml');
    fs.writeFileSync(
      configPath,
      stringify({
        program: { port: routerPort, log_level: 'ERROR', Disable_GPU_monitoring: true, log_dir: 'logs' },
        'Local-Models': { demo: { mode: 'Chat', port: enginePort, alive_time: 0, CPU: { required_devices: [], command: 'node', args: [DEMO_ENGINE, '--load-ms', '50'] } } },
      }),
    );
    process.env['PATH'] = dir; // no node here
    expect(findExecutable('node')).toBeNull();
    node = await createNode({
      configPath,
      logger: silentLogger,
      webUiDir: null,
      watchConfig: false,
      // In the app execPath is Electron; here it is Node, which ignores ELECTRON_RUN_AS_NODE.
      adaptProfile: (p) => withElectronAsNode(p, { execPath: process.execPath, hasCommand: (c) => findExecutable(c) !== null }),
    });
    const ready = await node.api.startModel('demo');
    expect(ready.state).toBe('ready');
    const started = (await node.api.modelLogs('demo', 50)).find((l) => l.stream === 'system' && l.text.startsWith('starting demo'));
    expect(started?.text).toContain(process.execPath);
  });
});
