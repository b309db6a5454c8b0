// A config that parses can still be one the node can't run: a command or script that isn't there,
// a cwd that doesn't exist, a device that isn't present. The node says so wherever a config
// reaches it (a save, a check without saving, an edit on disk, startup), located at file:line:col
// like the parser's issues, and a save's summary says what will become of each model.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import { afterEach, describe, expect, it } from 'vitest';
import { formatIssue, type ConfigIssue } from '../../src-shared/config.js';
import type { ConfigCheckResult, ConfigSaveResult } from '../../src-shared/contract.js';
import type { RunCommand } from '../../src-main/core/devices/run-command.js';
import type { Logger } from '../../src-main/core/logger.js';
import { createNode, type LlmNode } from '../../src-main/core/node.js';
import { closeAllNodes, DEMO_ENGINE, startNode, waitForState } from '../helpers/node-fixture.js';
import { postJson, readJson, waitFor } from '../helpers/http.js';
import { freePorts } from '../helpers/ports.js';

const nodes: LlmNode[] = [];
const dirs: string[] = [];
afterEach(async () => {
  await closeAllNodes();
  for (const node of nodes.splice(0)) await node.close();
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const at = (level: string) => (message: string) => void lines.push(`${level} ${message}`);
  return { lines, debug: () => undefined, info: at('INFO'), warn: at('WARN'), error: at('ERROR') };
}

/** `config.yaml:L:C` of the first place `needle` appears in `text` (1-based, as issues count). */
function where(text: string, needle: string): string {
  const at = text.indexOf(needle);
  if (at < 0) throw new Error(`${needle} is not in the text`);
  const before = text.slice(0, at).split('\n');
  return `config.yaml:${before.length}:${before[before.length - 1]!.length + 1}`;
}

const lines = (issues: ConfigIssue[]) => issues.map((i) => formatIssue('config.yaml', i));

/** nvidia-smi as the device monitor runs it, answering with one RTX 3060. */
const oneRtx3060: RunCommand = async (_file, args) =>
  args[0]?.startsWith('--query-compute-apps') ? { stdout: '', stderr: '', code: 0 } : { stdout: '0, GPU-t-0, NVIDIA GeForce RTX 3060, 12288, 300, 11988, 0, 35, 20.0', stderr: '', code: 0 };

describe('what the node knows about a config before a start', () => {
  it("a save that breaks a running model's command is saved, but the summary and the problems say it will fail", async () => {
    const fx = await startNode({ models: [{ name: 'demo', flags: ['--load-ms', '50'] }] });
    await fx.node.api.startModel('demo');
    const doc = parse(fs.readFileSync(fx.configPath, 'utf8'));
    doc['Local-Models'].demo['Test-Profile'].command = '/nonexistent/bin/llama-server';
    const text = stringify(doc);

    // Through POST /api/config, as the window and other clients save.
    const res = await postJson(`${fx.url}/api/config`, { text });
    expect(res.status).toBe(200);
    const result = (await readJson(res)) as ConfigSaveResult;
    expect(result.ok).toBe(true);
    expect(result.message).toBe('Saved: demo restarts now — but its command /nonexistent/bin/llama-server does not exist, so it will fail.');
    expect(lines(result.issues)).toEqual([
      `${where(text, '/nonexistent/bin/llama-server')} Local-Models.demo.Test-Profile.command: command not found: /nonexistent/bin/llama-server — demo can't start`,
    ]);
    expect(result.issues[0]!.severity).toBe('warning');
    expect(text.slice(result.issues[0]!.from, result.issues[0]!.to)).toBe('/nonexistent/bin/llama-server');
    // As said: it restarts, and fails for that reason.
    const failed = await waitForState(fx, 'demo', 'failed', 10_000);
    expect(failed.lastError?.message).toContain('command not found: /nonexistent/bin/llama-server');
  });

  it('a model with another profile that can run only gets a warning for the broken one; a running model whose launch is unchanged keeps running', async () => {
    const fx = await startNode({ models: [{ name: 'demo', flags: ['--load-ms', '50'] }, { name: 'other', flags: ['--load-ms', '50'] }] });
    await fx.node.api.startModel('other');
    const pid = (await fx.info('other')).pid;
    const doc = parse(fs.readFileSync(fx.configPath, 'utf8'));
    const working = doc['Local-Models'].demo['Test-Profile'];
    delete doc['Local-Models'].demo['Test-Profile'];
    doc['Local-Models'].demo['GPU-Config'] = { ...working, cwd: 'no-such-models-folder' };
    doc['Local-Models'].demo['CPU-Config'] = working;
    doc['Local-Models'].other.aliases = ['o'];
    const text = stringify(doc);
    const result = await fx.node.api.saveConfig(text);
    expect(result.message).toBe('Saved: demo updated; other keeps running with its new settings.');
    expect(lines(result.issues)).toEqual([
      `${where(text, 'no-such-models-folder')} Local-Models.demo.GPU-Config.cwd: folder not found (cwd): ${path.join(fx.dir, 'no-such-models-folder')} — this profile is skipped; CPU-Config can still start demo`,
    ]);
    expect((await fx.info('other')).pid).toBe(pid);
    // And it does start, with the profile that can.
    expect((await fx.node.api.startModel('demo')).profile).toBe('CPU-Config');
  });

  it('checks a text without saving it (POST /api/config/check): the parser\'s issues and the node\'s, nothing written, nothing applied', async () => {
    const fx = await startNode({ models: [{ name: 'demo', flags: ['--load-ms', '50'] }] });
    const before = fs.readFileSync(fx.configPath, 'utf8');
    const doc = parse(before);
    doc['Local-Models'].demo['Test-Profile'].command = 'surely-no-such-engine-xyz';
    doc['Local-Models'].demo.alive_tme = 5;
    const text = stringify(doc);
    const res = await postJson(`${fx.url}/api/config/check`, { text });
    expect(res.status).toBe(200);
    const checked = (await readJson(res)) as ConfigCheckResult;
    expect(checked.ok).toBe(true);
    expect(lines(checked.issues).sort()).toEqual(
      [
        `${where(text, 'surely-no-such-engine-xyz')} Local-Models.demo.Test-Profile.command: command not found: surely-no-such-engine-xyz (not on PATH) — demo can't start`,
        `${where(text, 'alive_tme')} Local-Models.demo.alive_tme: unknown key "alive_tme" is ignored; did you mean "alive_time"?`,
      ].sort(),
    );
    expect(fs.readFileSync(fx.configPath, 'utf8')).toBe(before);
    expect(fx.node.config.models[0]!.profiles[0]!.command).toBe(process.execPath);

    // An invalid text: its errors, ok false (a save would be refused).
    const invalid = await fx.node.api.checkConfig(text.replace(/port: \d+/, 'port: abc'));
    expect(invalid.ok).toBe(false);
    expect(invalid.issues.some((i) => i.severity === 'error' && i.message.includes('expected an integer 1-65535'))).toBe(true);
    // Not a text: 400, as for a save.
    const bad = await postJson(`${fx.url}/api/config/check`, { text: 42 });
    expect(bad.status).toBe(400);
  });

  it('warns about a device name no device present matches (GPU monitoring on), at that name', async () => {
    const logger = recordingLogger();
    const fx = await startNode({
      models: [{ name: 'demo', flags: ['--load-ms', '50'] }],
      program: { Disable_GPU_monitoring: false },
      nodeOptions: { logger, deviceMonitor: { nvidiaSmi: 'fake-nvidia-smi', run: oneRtx3060 } },
    });
    const doc = parse(fs.readFileSync(fx.configPath, 'utf8'));
    doc['Local-Models'].demo['Test-Profile'].required_devices = ['rtx 4090'];
    const text = stringify(doc);
    const result = await fx.node.api.saveConfig(text);
    expect(lines(result.issues)).toEqual([
      `${where(text, 'rtx 4090')} Local-Models.demo.Test-Profile.required_devices[0]: no device here matches "rtx 4090" (GPUs here: gpu0: NVIDIA GeForce RTX 3060) — demo can't start`,
    ]);
    expect(result.message).toBe('Saved: demo updated — but no device here matches "rtx 4090", so it can\'t start.');
  });

  it('logs what it finds at startup, located in the file', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'llm-launch-check-'));
    dirs.push(dir);
    const [routerPort, enginePort] = await freePorts(2);
    const configPath = path.join(dir, 'config.yaml');
    const text = stringify({
      program: { port: routerPort, Disable_GPU_monitoring: true, log_dir: 'logs' },
      'Local-Models': { demo: { port: enginePort, 'CPU-Config': { command: 'surely-no-such-engine-xyz', args: [DEMO_ENGINE] } } },
    });
    fs.writeFileSync(configPath, text);
    const logger = recordingLogger();
    const node = await createNode({ configPath, logger, webUiDir: null, watchConfig: false });
    nodes.push(node);
    const [, line, col] = where(text, 'surely-no-such-engine-xyz').split(':');
    expect(logger.lines).toContain(`WARN ${configPath}:${line}:${col} Local-Models.demo.CPU-Config.command: command not found: surely-no-such-engine-xyz (not on PATH) — demo can't start`);
  });

  it('logs one line per applied config, saying whether it came from the window/API or from the file on disk', async () => {
    const logger = recordingLogger();
    const fx = await startNode({ models: [{ name: 'demo', flags: ['--load-ms', '50'] }], nodeOptions: { logger } });
    const configLines = () => logger.lines.filter((l) => /config/i.test(l) && l.startsWith('INFO'));

    const doc = parse(fs.readFileSync(fx.configPath, 'utf8'));
    doc['Local-Models'].demo.alive_time = 7;
    await fx.node.api.saveConfig(stringify(doc));
    expect(configLines()).toEqual(['INFO config saved (window/API): demo updated.']);

    doc['Local-Models'].demo.alive_time = 8;
    fs.writeFileSync(fx.configPath, stringify(doc));
    await waitFor(() => configLines().length > 1, 10_000, 'the edit on disk to be applied');
    await new Promise((resolve) => setTimeout(resolve, 300)); // nothing more comes
    expect(configLines()).toEqual(['INFO config saved (window/API): demo updated.', 'INFO config file edited on disk, applied: demo updated.']);
  });
});
