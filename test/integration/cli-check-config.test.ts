// `llm-manager check-config [--fix] FILE` as a seed user runs it: an LLM-Node config.yaml (host
// 0.0.0.0 without keys, .bat scripts, Python device plugins) and LLM-Manager's pre-2.1 JSON.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src-shared/config.js';
import { silentLogger } from '../../src-main/core/logger.js';
import { createNode } from '../../src-main/core/node.js';
import { checkSeedConfig } from '../../src-main/core/migrate/seed-config.js';
import { freePorts } from '../helpers/ports.js';
import { rawRequest } from '../helpers/raw-http.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CLI = ['--import', 'tsx', path.join(REPO, 'src-main/cli.ts')];
const dirs: string[] = [];

afterEach(() => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

function seedDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'llm-seed-'));
  dirs.push(dir);
  fs.mkdirSync(path.join(dir, 'scripts'));
  fs.mkdirSync(path.join(dir, 'plugins', 'devices'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'scripts', 'run_qwen.bat'), 'llama-server.exe -m D:\\models\\qwen.gguf --port %PORT%\r\n');
  fs.writeFileSync(path.join(dir, 'scripts', 'run_qwen.sh'), '#!/bin/bash\nexec llama-server -m ~/models/qwen.gguf --port "$PORT"\n');
  fs.writeFileSync(path.join(dir, 'scripts', 'embed.bat'), 'echo only for Windows\r\n');
  fs.writeFileSync(path.join(dir, 'plugins', 'devices', 'nvidia_gpu.py'), 'class NvidiaPlugin: pass\n');
  fs.writeFileSync(path.join(dir, 'plugins', 'devices', 'ascend_npu.py'), 'class AscendPlugin: pass\n');
  return dir;
}

// LLM-Node's README config, as a user had it (comments and all).
const LLM_NODE_YAML = `program:
  host: "0.0.0.0"
  port: 8080
  log_level: "INFO"
  alive_time: 30          # 模型空闲自动关闭时间（分钟）
  device_plugin_dir: "plugins/devices"

Local-Models:
  # 模型配置示例
  Qwen-14B:
    aliases: ["qwen-14b", "gpt-3.5-turbo"]
    mode: "Chat"
    port: 10001
    auto_start: false
    Standard-Config:
      required_devices: ["rtx 4060"]
      script_path: "scripts\\\\run_qwen.bat" # Linux下请填写 .sh 路径
      memory_mb:
        "rtx 4060": 12000
  BGE-M3:
    mode: "Embedding"
    port: 10002
    CPU-Config:
      required_devices: []
      bat_path: "scripts/embed.bat"
`;

function run(args: string[], cwd = REPO) {
  return spawnSync(process.execPath, [...CLI, 'check-config', ...args], { cwd, encoding: 'utf8', timeout: 20_000 });
}

describe('llm-manager check-config', () => {
  it('lists what changes and why, exits 1, and writes nothing without --fix', () => {
    const dir = seedDir();
    const file = path.join(dir, 'config.yaml');
    fs.writeFileSync(file, LLM_NODE_YAML);
    const result = run([file]);
    expect(result.status, result.stderr).toBe(1);
    const out = result.stdout;
    expect(out).toContain(`${file}: 3 changes, 3 problems`);
    expect(out).toMatch(/change {3}program\.api_keys: add a new random key: host "0\.0\.0\.0" is reachable from other machines/);
    expect(out).toContain('change   Local-Models.Qwen-14B.Standard-Config.script_path: scripts\\run_qwen.bat → scripts/run_qwen.sh');
    expect(out).toContain('change   Local-Models.BGE-M3.CPU-Config.bat_path: bat_path → script_path');
    expect(out).toContain('problem  Local-Models.BGE-M3.CPU-Config.script_path: scripts/embed.bat is a Windows script, which runs only under cmd.exe, and there is no scripts/embed.sh next to it');
    expect(out).toMatch(/problem {2}plugins\/devices\/ascend_npu\.py: a Python device plugin.*port it to a \.mjs module/);
    expect(out).toMatch(/problem {2}plugins\/devices\/nvidia_gpu\.py: a Python device plugin.*NVIDIA GPUs \(through nvidia-smi\).*delete it/);
    expect(out).toContain('Run again with --fix to write them (the original is kept as config.yaml.bak).');
    expect(fs.readFileSync(file, 'utf8')).toBe(LLM_NODE_YAML);
    expect(fs.existsSync(`${file}.bak`)).toBe(false);
  });

  it('--fix writes the converted file atomically, keeps the original as .bak and comments in place; the node then listens on 0.0.0.0 with the new key', async () => {
    const dir = seedDir();
    const file = path.join(dir, 'config.yaml');
    fs.writeFileSync(file, LLM_NODE_YAML);
    const result = run(['--fix', file]);
    // The .bat without a .sh and the Python plugins are left for a person.
    expect(result.status, result.stderr).toBe(1);
    expect(result.stdout).toContain(`Wrote ${file} (the original is kept as config.yaml.bak).`);
    const key = /New API key \(clients send "Authorization: Bearer <key>"\): (\S+)/.exec(result.stdout)?.[1];
    expect(key).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(result.stdout).toContain('3 problems are left for you (above).');

    expect(fs.readFileSync(`${file}.bak`, 'utf8')).toBe(LLM_NODE_YAML);
    const fixed = fs.readFileSync(file, 'utf8');
    expect(fixed).toContain('# 模型空闲自动关闭时间（分钟）');
    expect(fixed).toContain('# Linux下请填写 .sh 路径');
    expect(fixed).toContain(`api_keys: [ ${key} ]`);
    expect(fixed).toContain('script_path: "scripts/run_qwen.sh" # Linux下请填写 .sh 路径');
    expect(fixed).toContain('script_path: "scripts/embed.bat"');
    expect(fixed).not.toContain('bat_path');
    expect(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    const parsed = parseConfigText(fixed);
    expect(parsed.ok).toBe(true);
    if (parsed.ok) expect(parsed.config.program.apiKeys).toEqual([key]);

    // What the seed config did (listen on every interface) now works, behind the key.
    const [port] = await freePorts(1);
    const node = await createNode({ configPath: file, port: port!, logger: silentLogger, watchConfig: false, webUiDir: null, deviceMonitor: { nvidiaSmi: '/nonexistent/nvidia-smi' } });
    try {
      expect((await rawRequest(node.url, { path: '/api/models' })).status).toBe(401);
      expect((await rawRequest(node.url, { path: '/api/models', headers: { authorization: `Bearer ${key}` } })).status).toBe(200);
    } finally {
      await node.close();
    }

    // Fixed what it could: a second run lists only what needs a person, and changes nothing more.
    const again = run(['--fix', file]);
    expect(again.status).toBe(1);
    expect(again.stdout).toContain(`${file}: 0 changes, 3 problems`);
    expect(fs.readFileSync(file, 'utf8')).toBe(fixed);
  });

  it('--loopback listens on 127.0.0.1 instead of adding a key; a clean config exits 0', () => {
    const dir = seedDir();
    const file = path.join(dir, 'node.yaml');
    fs.writeFileSync(file, 'program:\n  host: "0.0.0.0"   # every interface\n  port: 8080\nLocal-Models: {}\n');
    const result = run(['--fix', '--loopback', file]);
    expect(result.status, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toContain('change   program.host: "0.0.0.0" → "127.0.0.1"');
    expect(result.stdout).not.toContain('New API key');
    expect(fs.readFileSync(file, 'utf8')).toBe('program:\n  host: "127.0.0.1" # every interface\n  port: 8080\nLocal-Models: {}\n');
    const clean = run([file]);
    expect(clean.status).toBe(0);
    expect(clean.stdout).toBe(`${file}: nothing to change.\n`);
  });

  it("converts LLM-Manager's pre-2.1 JSON to a YAML file beside it, leaving the JSON as it is", () => {
    const dir = seedDir();
    const file = path.join(dir, 'config.json');
    const json = JSON.stringify(
      {
        program: { host: '127.0.0.1', port: 8080, log_level: 'INFO', alive_time: 15, Disable_GPU_monitoring: false },
        'Local-Models': { 'Qwen-14B-Chat': { aliases: ['gpt-3.5-turbo'], mode: 'Chat', port: 10001, auto_start: false, 'Single-GPU-Config': { required_devices: ['v100'], bat_path: 'scripts/run_qwen.bat', memory_mb: { v100: 24000 } } } },
      },
      null,
      2,
    );
    fs.writeFileSync(file, json);
    const check = run([file]);
    expect(check.status).toBe(1);
    expect(check.stdout).toContain('change   config.json: JSON (LLM-Manager before 2.1) → YAML in config.yaml');
    expect(check.stdout).toContain(`Run again with --fix to write them to ${path.join(dir, 'config.yaml')}.`);
    const fix = run(['--fix', file]);
    expect(fix.status, fix.stdout + fix.stderr).toBe(0);
    expect(fs.readFileSync(file, 'utf8')).toBe(json);
    const yaml = fs.readFileSync(path.join(dir, 'config.yaml'), 'utf8');
    const parsed = parseConfigText(yaml);
    expect(parsed.ok).toBe(true);
    if (parsed.ok) {
      expect(parsed.config.models[0]!.profiles[0]!.scriptPath).toBe('scripts/run_qwen.sh');
      expect(parsed.config.models[0]!.aliases).toEqual(['gpt-3.5-turbo']);
    }
    expect(run([path.join(dir, 'config.yaml')]).status).toBe(0);
  });

  it('on Windows the .sh of a seed config becomes the .bat next to it', () => {
    const dir = seedDir();
    const text = 'Local-Models:\n  q:\n    port: 10001\n    P:\n      script_path: scripts/run_qwen.sh\n';
    const report = checkSeedConfig(path.join(dir, 'config.yaml'), text, { platform: 'win32' });
    expect(report.changes.map((c) => c.message)).toEqual(['scripts/run_qwen.sh → scripts/run_qwen.bat: scripts/run_qwen.sh is a shell script (.sh), which Windows runs only through bash; the .bat next to it is the one for this system']);
    expect(report.text).toContain('script_path: scripts/run_qwen.bat');
  });

  it('a file that is not a config is a problem (exit 1); bad usage is exit 2', () => {
    const dir = seedDir();
    const broken = path.join(dir, 'broken.yaml');
    fs.writeFileSync(broken, 'program: [unclosed\n');
    const result = run(['--fix', broken]);
    expect(result.status).toBe(1);
    expect(result.stdout).toContain('problem  broken.yaml: YAML syntax:');
    expect(fs.readFileSync(broken, 'utf8')).toBe('program: [unclosed\n');
    expect(run([path.join(dir, 'missing.yaml')]).status).toBe(1);
    for (const args of [[], ['--frobnicate', broken], [broken, broken]]) {
      const bad = run(args);
      expect(bad.status, args.join(' ')).toBe(2);
      expect(bad.stderr).toContain('Usage: llm-manager check-config');
    }
    const help = run(['--help']);
    expect([help.status, help.stdout.startsWith('Usage: llm-manager check-config')]).toEqual([0, true]);
  });
});
