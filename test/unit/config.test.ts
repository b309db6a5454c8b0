import { describe, it, expect, afterEach, vi } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { closestKey, DEFAULT_USAGE, formatIssue, parseConfigText, type AppConfig, type ConfigParseResult } from '../../src-shared/config.js';
import {
  ConfigError,
  ensureConfigFile,
  loadConfig,
  resolveConfigPath,
  resolveConfigPaths,
  saveConfigText,
  watchConfig,
  type ConfigChange,
  type ConfigWatcher,
} from '../../src-main/core/config/load.js';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const EXAMPLE_PATH = path.join(REPO_ROOT, 'config.example.yaml');

// The example from LLM-Manager's README, verbatim (comments included).
const SEED_MANAGER = `program:
  host: "0.0.0.0"
  port: 8080
  log_level: "INFO"
  alive_time: 15          # 模型空闲自动关闭时间（分钟）
  Disable_GPU_monitoring: false # 是否禁用设备资源监控，禁用状态下资源不足时依然会强制启动模型

Local-Models:
  # 模型唯一标识符
  Qwen-14B-Chat:
    aliases: ["gpt-3.5-turbo", "qwen-14b"]  # API 调用的模型名称映射
    mode: "Chat"                            # 模式: Chat, Base, Embedding, Reranker
    port: 10001                             # 目标服务实际端口
    auto_start: false                       # 是否随程序启动

    # 配置方案 A: 双卡模式 (优先级高)
    Dual-GPU-Config:
      required_devices: ["rtx 4060", "v100"] # 必须同时在线的设备
      script_path: "scripts/qwen_dual.bat"   # 启动脚本路径
      memory_mb:
        "rtx 4060": 8000
        "v100": 16000

    # 配置方案 B: 单卡模式 (优先级低，当方案A设备不满足时回退)
    Single-GPU-Config:
      required_devices: ["v100"]
      script_path: "scripts/qwen_single.bat"
      memory_mb:
        "v100": 24000
`;

// The example from LLM-Node's README, verbatim.
const SEED_NODE = `program:
  host: "0.0.0.0"
  port: 8080
  log_level: "INFO"
  alive_time: 30          # 模型空闲自动关闭时间（分钟）
  # device_plugin_dir: "plugins/devices" # 可选：指定插件目录

Local-Models:
  # 模型配置示例
  Qwen-14B:
    aliases: ["qwen-14b", "gpt-3.5-turbo"]
    mode: "Chat"
    port: 10001
    auto_start: false
    
    # 硬件配置方案
    Standard-Config:
      required_devices: ["rtx 4060"]
      script_path: "scripts/run_qwen.bat" # Linux下请填写 .sh 路径
      memory_mb:
        "rtx 4060": 12000
`;

const DEFAULT_PROGRAM = {
  host: '127.0.0.1',
  port: 8080,
  logLevel: 'info',
  aliveTimeMs: 900_000,
  disableGpuMonitoring: false,
  devicePluginDir: null,
  memoryHeadroomMb: 512,
  logDir: 'logs',
  bodyLimitBytes: 50 * 1024 * 1024,
  apiKeys: [] as string[],
  apiKeyNames: [] as string[],
  usage: DEFAULT_USAGE,
  corsOrigins: [] as string[],
  allowedHosts: [] as string[],
  allowInsecureLan: false,
  engineKeys: false,
  maxQueuedRequests: 1000,
  headerTimeoutMs: 30_000,
  requestTimeoutMs: 300_000,
  bodyTimeoutMs: 30_000,
  engines: { llamaServer: null, vllm: null, sglang: null },
  enginePorts: { from: 20000, to: 20999 },
  modelsDirs: ['models'] as string[],
} as const;

function parseOk(text: string): Extract<ConfigParseResult, { ok: true }> {
  const result = parseConfigText(text, 'config.yaml');
  if (!result.ok) throw new Error(`expected a valid config, got:\n${result.errors.map((e) => formatIssue('config.yaml', e)).join('\n')}`);
  return result;
}

function errorLines(text: string): string[] {
  const result = parseConfigText(text, 'config.yaml');
  return result.ok ? [] : result.errors.map((e) => formatIssue('config.yaml', e));
}

/** One model with a single command profile, for tests about a single field. */
function model(fields: string, name = 'M'): string {
  return `Local-Models:\n  ${name}:\n${fields}    P:\n      command: node\n`;
}

// ---- parsing -----------------------------------------------------------------------------------

describe('parseConfigText: the formats of LLM-Manager and LLM-Node', () => {
  it("parses LLM-Manager's README example into the normalized config", () => {
    const result = parseOk(SEED_MANAGER);
    expect(result.warnings).toEqual([]);
    const expected: AppConfig = {
      program: { ...DEFAULT_PROGRAM, host: '0.0.0.0' },
      models: [
        {
          name: 'Qwen-14B-Chat',
          aliases: ['gpt-3.5-turbo', 'qwen-14b'],
          mode: 'Chat',
          port: 10001,
          autoStart: false,
          aliveTimeMs: 900_000,
          healthPath: '/health',
          servedModelName: null,
          startTimeoutMs: 300_000,
          stopTimeoutMs: 10_000,
          maxConnections: null,
          profiles: [
            {
              name: 'Dual-GPU-Config',
              requiredDevices: ['rtx 4060', 'v100'],
              scriptPath: 'scripts/qwen_dual.bat',
              command: null,
              args: [],
              cwd: null,
              env: {},
              memoryMb: { 'rtx 4060': 8000, v100: 16000 },
            },
            {
              name: 'Single-GPU-Config',
              requiredDevices: ['v100'],
              scriptPath: 'scripts/qwen_single.bat',
              command: null,
              args: [],
              cwd: null,
              env: {},
              memoryMb: { v100: 24000 },
            },
          ],
        },
      ],
    };
    expect(result.config).toEqual(expected);
  });

  it("parses LLM-Node's README example; its alive_time (30 min) is every model's default", () => {
    const { config, warnings } = parseOk(SEED_NODE);
    expect(warnings).toEqual([]);
    expect(config.program.aliveTimeMs).toBe(30 * 60_000);
    expect(config.models.map((m) => [m.name, m.aliveTimeMs, m.profiles.map((p) => p.name)])).toEqual([
      ['Qwen-14B', 30 * 60_000, ['Standard-Config']],
    ]);
    expect(config.models[0]!.profiles[0]!.memoryMb).toEqual({ 'rtx 4060': 12000 });
  });

  it('keeps launch profiles in file order, wherever they sit among the model keys', () => {
    const { config } = parseOk(`Local-Models:
  M:
    Zeta: { command: a }
    port: 10001
    Alpha: { command: b }
    mode: Base
    Mid: { script_path: run.sh, required_devices: [gpu1] }
`);
    expect(config.models[0]!.profiles.map((p) => p.name)).toEqual(['Zeta', 'Alpha', 'Mid']);
    expect(config.models[0]!.mode).toBe('Base');
  });

  it('reads the additions: command + args, cwd, env, health_path, auto_start, served_model_name', () => {
    const { config } = parseOk(`Local-Models:
  M:
    port: 10001
    auto_start: true
    served_model_name: " Qwen/Qwen2.5-7B-Instruct "
    health_path: /v1/models
    P:
      required_devices: [cpu]
      command: llama-server
      args: ["-m", "m.gguf", "--port", 10001, "-c", 4096]
      cwd: engines
      env: { CUDA_VISIBLE_DEVICES: 0, VERBOSE: true, NAME: x }
`);
    const m = config.models[0]!;
    expect(m.autoStart).toBe(true);
    expect(m.servedModelName).toBe('Qwen/Qwen2.5-7B-Instruct');
    expect(m.healthPath).toBe('/v1/models');
    expect(m.profiles[0]).toEqual({
      name: 'P',
      requiredDevices: ['cpu'],
      scriptPath: null,
      command: 'llama-server',
      args: ['-m', 'm.gguf', '--port', '10001', '-c', '4096'],
      cwd: 'engines',
      env: { CUDA_VISIBLE_DEVICES: '0', VERBOSE: 'true', NAME: 'x' },
      memoryMb: {},
    });
  });

  it('takes bat_path, the name LLM-Manager used before 2.1, as script_path, with a warning to rename it', () => {
    const result = parseOk(`Local-Models:
  M:
    port: 10001
    P:
      required_devices: ["v100"]
      bat_path: "scripts/qwen.bat"
`);
    expect(result.config.models[0]!.profiles[0]).toMatchObject({ scriptPath: 'scripts/qwen.bat', command: null });
    expect(result.warnings.map((w) => `${w.line}:${w.path} ${w.message}`)).toEqual([
      '6:Local-Models.M.P.bat_path "bat_path" is the older name of script_path; it works, but rename it to script_path',
    ]);
    expect(errorLines(`Local-Models:\n  M:\n    port: 10001\n    P:\n      bat_path: "a.bat"\n      script_path: "a.sh"\n`)).toEqual([
      'config.yaml:5:7 Local-Models.M.P.bat_path: set script_path or bat_path (its older name), not both',
    ]);
    expect(errorLines(`Local-Models:\n  M:\n    port: 10001\n    P:\n      bat_path: 5\n`)).toEqual([
      'config.yaml:5:17 Local-Models.M.P.bat_path: expected a file path, got 5',
    ]);
  });

  it('warns when a memory_mb key is a variant of a required device (it would claim a second device)', () => {
    const result = parseOk(`Local-Models:
  M:
    port: 10001
    P:
      required_devices: ["rtx 4060", "v100"]
      command: node
      memory_mb: { "4060": 8000, "V100": 16000, "cpu": 4000 }
`);
    expect(result.warnings.map((w) => `${w.line}:${w.col} ${w.path} ${w.message}`)).toEqual([
      '7:20 Local-Models.M.P.memory_mb.4060 "4060" is not in required_devices, so it claims another device of its own; if it is meant for "rtx 4060", write it the same way',
    ]);
  });

  it.each([
    ['alive_time: 15', 'aliveTimeMs', 900_000],
    ['alive_time: "90s"', 'aliveTimeMs', 90_000],
    ['alive_time: 1.5', 'aliveTimeMs', 90_000],
    ['alive_time: "15m"', 'aliveTimeMs', 900_000],
    ['alive_time: "0"', 'aliveTimeMs', 0],
    ['alive_time: 0', 'aliveTimeMs', 0],
    ['alive_time: "1h"', 'aliveTimeMs', 3_600_000],
    ['start_timeout: 45', 'startTimeoutMs', 45_000],
    ['start_timeout: "2m"', 'startTimeoutMs', 120_000],
    ['start_timeout: 2.5', 'startTimeoutMs', 2_500],
    ['stop_timeout: "500ms"', 'stopTimeoutMs', 500],
    ['stop_timeout: 3', 'stopTimeoutMs', 3_000],
  ] as const)('model %s → %s = %d', (line, field, ms) => {
    const { config } = parseOk(model(`    port: 10001\n    ${line}\n`));
    expect(config.models[0]![field]).toBe(ms);
  });

  it('defaults: start_timeout 300 s, stop_timeout 10 s, alive_time from program (15 min unless set)', () => {
    const m = parseOk(model('    port: 10001\n')).config.models[0]!;
    expect([m.startTimeoutMs, m.stopTimeoutMs, m.aliveTimeMs, m.healthPath, m.mode, m.autoStart, m.aliases]).toEqual([
      300_000, 10_000, 900_000, '/health', 'Chat', false, [],
    ]);
    const withProgram = parseOk(`program:\n  alive_time: "90s"\n${model('    port: 10001\n')}`).config;
    expect(withProgram.program.aliveTimeMs).toBe(90_000);
    expect(withProgram.models[0]!.aliveTimeMs).toBe(90_000);
  });

  it.each([
    ['DEBUG', 'debug'],
    ['info', 'info'],
    ['WARNING', 'warn'],
    ['ERROR', 'error'],
  ] as const)('log_level %s → %s', (value, level) => {
    expect(parseOk(`program:\n  log_level: ${value}\n`).config.program.logLevel).toBe(level);
  });

  it.each([
    ['an empty file', ''],
    ['only comments', '# nothing configured yet\n'],
    ['empty sections', 'program:\nLocal-Models:\n'],
  ])('%s is valid: no models, default program settings', (_name, text) => {
    const result = parseOk(text);
    expect(result.config).toEqual({ program: DEFAULT_PROGRAM, models: [] });
    expect(result.warnings).toEqual([]);
  });

  it('mode is case-insensitive and normalized', () => {
    expect(parseOk(model('    port: 10001\n    mode: embedding\n')).config.models[0]!.mode).toBe('Embedding');
  });
});

describe('parseConfigText: every error names file:line:col and the key path', () => {
  const cases: { name: string; text: string; errors: string[] }[] = [
    {
      name: 'a port that is not a number',
      text: SEED_MANAGER.replace('port: 10001 ', 'port: "abc" '),
      errors: ['config.yaml:13:11 Local-Models.Qwen-14B-Chat.port: expected an integer 1-65535, got "abc"'],
    },
    {
      name: 'a port out of range',
      text: model('    port: 70000\n'),
      errors: ['config.yaml:3:11 Local-Models.M.port: expected an integer 1-65535, got 70000'],
    },
    {
      name: 'a port that is not an integer',
      text: model('    port: 10001.5\n'),
      errors: ['config.yaml:3:11 Local-Models.M.port: expected an integer 1-65535, got 10001.5'],
    },
    {
      name: 'an engine port range the wrong way round',
      text: 'program:\n  engine_ports: "21000-20000"\n',
      errors: ['config.yaml:2:17 program.engine_ports: expected a port range like "20000-20999", got "21000-20000"'],
    },
    {
      name: 'a router port out of range',
      text: 'program:\n  port: 0\n',
      errors: ['config.yaml:2:9 program.port: expected an integer 1-65535, got 0'],
    },
    {
      name: 'an unknown mode',
      text: model('    port: 10001\n    mode: Chatty\n'),
      errors: ['config.yaml:4:11 Local-Models.M.mode: expected one of Chat, Base, Embedding, Reranker, got "Chatty"'],
    },
    {
      name: 'an unreadable alive_time',
      text: model('    port: 10001\n    alive_time: soon\n'),
      errors: ['config.yaml:4:17 Local-Models.M.alive_time: expected a duration (minutes, or a string like "90s" / "15m"), got "soon"'],
    },
    {
      name: 'a negative alive_time',
      text: 'program:\n  alive_time: -1\n',
      errors: ['config.yaml:2:15 program.alive_time: expected a duration (minutes, or a string like "90s" / "15m"), got -1'],
    },
    {
      name: 'an unreadable start_timeout',
      text: model('    port: 10001\n    start_timeout: 2 minutes\n'),
      errors: ['config.yaml:4:20 Local-Models.M.start_timeout: expected a duration (seconds, or a string like "500ms" / "2m"), got "2 minutes"'],
    },
    {
      name: 'an unknown log_level',
      text: 'program:\n  log_level: verbose\n',
      errors: ['config.yaml:2:14 program.log_level: expected one of DEBUG, INFO, WARNING, ERROR, got "verbose"'],
    },
    {
      name: 'a health_path without a leading slash',
      text: model('    port: 10001\n    health_path: health\n'),
      errors: ['config.yaml:4:18 Local-Models.M.health_path: expected a path starting with "/", got "health"'],
    },
    {
      name: 'a profile with neither script_path nor command',
      text: 'Local-Models:\n  M:\n    port: 10001\n    P:\n      required_devices: ["v100"]\n',
      errors: ['config.yaml:4:5 Local-Models.M.P: needs engine (llama.cpp, vllm, sglang), script_path (a .sh/.bat script) or command (+ args) to launch the engine'],
    },
    {
      name: 'a profile with both script_path and command',
      text: 'Local-Models:\n  M:\n    port: 10001\n    P:\n      script_path: run.sh\n      command: node\n',
      errors: ['config.yaml:6:16 Local-Models.M.P.command: set either script_path or command, not both'],
    },
    {
      name: 'a model with no launch profile',
      text: 'Local-Models:\n  M:\n    port: 10001\n    mode: Chat\n',
      errors: [
        'config.yaml:2:3 Local-Models.M: no launch profile: add a mapping (e.g. "Default-Config:") with required_devices and script_path or command',
      ],
    },
    {
      name: 'a model that is not a mapping',
      text: 'Local-Models:\n  M: 10001\n',
      errors: ['config.yaml:2:6 Local-Models.M: expected a mapping with aliases, mode, port and launch profiles, got 10001'],
    },
    {
      name: 'memory_mb that is not a number',
      text: 'Local-Models:\n  M:\n    port: 10001\n    P:\n      command: node\n      memory_mb:\n        v100: lots\n',
      errors: ['config.yaml:7:15 Local-Models.M.P.memory_mb.v100: expected a number of megabytes, got "lots"'],
    },
    {
      name: 'required_devices that is not a list',
      text: 'Local-Models:\n  M:\n    port: 10001\n    P:\n      command: node\n      required_devices: v100\n',
      errors: ['config.yaml:6:25 Local-Models.M.P.required_devices: expected a list of strings, got "v100"'],
    },
    {
      name: 'the same alias on two models, in another case',
      text: `Local-Models:
  A:
    aliases: ["gpt-3.5-turbo"]
    port: 10001
    P: { command: node }
  B:
    aliases: ["b", "GPT-3.5-Turbo"]
    port: 10002
    P: { command: node }
`,
      errors: ['config.yaml:7:20 Local-Models.B.aliases[1]: alias "GPT-3.5-Turbo" is already used by model "A"'],
    },
    {
      name: "an alias equal to another model's name",
      text: `Local-Models:
  Qwen-14B:
    port: 10001
    P: { command: node }
  Other:
    aliases: [qwen-14b]
    port: 10002
    P: { command: node }
`,
      errors: ['config.yaml:6:15 Local-Models.Other.aliases[0]: alias "qwen-14b" is already used by model "Qwen-14B"'],
    },
    {
      name: 'two model names that differ only in case',
      text: 'Local-Models:\n  Qwen:\n    port: 10001\n    P: { command: node }\n  qwen:\n    port: 10002\n    P: { command: node }\n',
      errors: ['config.yaml:5:3 Local-Models.qwen: model name "qwen" differs only in case from model "Qwen"'],
    },
    {
      name: 'two models on one port',
      text: 'Local-Models:\n  A:\n    port: 10001\n    P: { command: node }\n  B:\n    port: 10001\n    P: { command: node }\n',
      errors: ['config.yaml:6:11 Local-Models.B.port: port 10001 is already used by model "A"'],
    },
    {
      name: "a model on the router's port",
      text: `program:\n  port: 9000\n${model('    port: 9000\n')}`,
      errors: ["config.yaml:5:11 Local-Models.M.port: port 9000 is the router's own port (program.port); pick another"],
    },
    {
      name: 'a line indented deeper than its siblings',
      text: 'program:\n  host: "127.0.0.1"\n    port: 8080\n',
      errors: ['config.yaml:3:5 YAML syntax: bad indentation: keys of one mapping must start at the same column'],
    },
    {
      name: 'a line indented deeper than its siblings, after an unquoted value',
      text: 'program:\n  host: localhost\n    port: 8080\n',
      errors: [
        'config.yaml:3:5 YAML syntax: bad indentation: this line is indented deeper than the key above it (keys of one mapping must line up; quote values that contain ": ")',
      ],
    },
    {
      name: 'a line indented less than its siblings',
      text: 'Local-Models:\n  M:\n    port: 10001\n   mode: Chat\n',
      errors: ['config.yaml:4:4 YAML syntax: bad indentation: keys of one mapping must start at the same column'],
    },
    {
      name: 'an unclosed double quote (pointed at where the string starts)',
      text: 'program:\n  host: "127.0.0.1\n  port: 8080\n',
      errors: ['config.yaml:2:9 YAML syntax: missing closing " (the string that starts here is never closed)'],
    },
    {
      name: 'an unclosed single quote',
      text: "program:\n  log_level: 'INFO\n",
      errors: ["config.yaml:2:14 YAML syntax: missing closing ' (the string that starts here is never closed)"],
    },
    {
      name: 'a tab used for indentation',
      text: 'program:\n\tport: 8080\n',
      errors: ['config.yaml:2:1 YAML syntax: Tabs are not allowed as indentation'],
    },
    {
      name: 'a duplicate key',
      text: 'program:\n  port: 8080\n  host: localhost\n  port: 8081\n',
      errors: ['config.yaml:4:3 YAML syntax: duplicate key "port" (keys of one mapping must be unique)'],
    },
    {
      name: 'a duplicate model name',
      text: `${model('    port: 10001\n')}  M:\n    port: 10002\n`,
      errors: ['config.yaml:6:3 YAML syntax: duplicate key "M" (keys of one mapping must be unique)'],
    },
    {
      name: 'a top level that is a list',
      text: '- program\n- Local-Models\n',
      errors: ['config.yaml:1:1 expected a mapping with "program:" and "Local-Models:", got a list'],
    },
    {
      name: 'a top level that is a plain string',
      text: 'hello\n',
      errors: ['config.yaml:1:1 expected a mapping with "program:" and "Local-Models:", got "hello"'],
    },
    {
      name: 'Local-Models that is a list',
      text: 'Local-Models:\n  - demo\n',
      errors: ['config.yaml:1:1 Local-Models: expected a mapping of model names, got a list'],
    },
    {
      name: 'several mistakes at once, in file order',
      text: 'program:\n  port: abc\nLocal-Models:\n  M:\n    port: 10001\n    mode: nope\n    P: { command: node }\n',
      errors: [
        'config.yaml:2:9 program.port: expected an integer 1-65535, got "abc"',
        'config.yaml:6:11 Local-Models.M.mode: expected one of Chat, Base, Embedding, Reranker, got "nope"',
      ],
    },
  ];

  it.each(cases)('$name', ({ text, errors }) => {
    expect(errorLines(text)).toEqual(errors);
  });

  it('issue offsets cover the offending text, for editors that underline it', () => {
    const text = model('    port: "abc"\n');
    const result = parseConfigText(text);
    expect(result.ok).toBe(false);
    const issue = !result.ok ? result.errors[0]! : null;
    expect(issue?.severity).toBe('error');
    expect(text.slice(issue!.from, issue!.to)).toBe('"abc"');
  });

  it('names the file it is given', () => {
    const result = parseConfigText('program:\n  port: x\n', 'my.yaml');
    expect(!result.ok && formatIssue('my.yaml', result.errors[0]!)).toBe('my.yaml:2:9 program.port: expected an integer 1-65535, got "x"');
  });
});

describe('parseConfigText: unknown keys are warnings, not failures', () => {
  it.each([
    ['at the top level', 'colour: red\n', ['config.yaml:1:1 colour: unknown key "colour" is ignored (expected "program" or "Local-Models")']],
    ['in program', 'program:\n  prot: 8080\n', ['config.yaml:2:3 program.prot: unknown key "prot" is ignored; did you mean "port"?']],
    [
      'a scalar in a model (profiles are mappings)',
      model('    port: 10001\n    colour: x\n'),
      ['config.yaml:4:5 Local-Models.M.colour: unknown key "colour" is ignored (launch profiles are mappings)'],
    ],
    [
      'in a profile',
      'Local-Models:\n  M:\n    port: 10001\n    P:\n      command: node\n      script: run.sh\n',
      ['config.yaml:6:7 Local-Models.M.P.script: unknown key "script" is ignored'],
    ],
  ])('%s', (_name, text, warnings) => {
    const result = parseOk(text);
    expect(result.warnings.map((w) => formatIssue('config.yaml', w))).toEqual(warnings);
    expect(result.warnings.every((w) => w.severity === 'warning')).toBe(true);
  });

  it('come back alongside errors too', () => {
    const result = parseConfigText('program:\n  port: x\n  prot: 1\n');
    expect(result.ok).toBe(false);
    expect(result.warnings.map((w) => formatIssue('config.yaml', w))).toEqual(['config.yaml:3:3 program.prot: unknown key "prot" is ignored; did you mean "port"?']);
  });

  it('suggest the key a typo meant, at every level, and say where a key in the wrong place belongs', () => {
    const text = [
      'program:',
      '  alive_tme: 5',
      '  disable_gpu_monitoring: true',
      'Local-models: {}',
      'Local-Models:',
      '  M:',
      '    port: 10001',
      '    aliasses: [m]',
      '    required_devices: []',
      '    P:',
      '      command: node',
      '      requried_devices: []',
      '      cwdd: /tmp',
      '      port: 10002',
      '      script: run.sh',
      '',
    ].join('\n');
    expect(parseOk(text).warnings.map((w) => formatIssue('config.yaml', w))).toEqual([
      'config.yaml:2:3 program.alive_tme: unknown key "alive_tme" is ignored; did you mean "alive_time"?',
      'config.yaml:3:3 program.disable_gpu_monitoring: unknown key "disable_gpu_monitoring" is ignored; did you mean "Disable_GPU_monitoring"?',
      'config.yaml:4:1 Local-models: unknown key "Local-models" is ignored; did you mean "Local-Models"?',
      'config.yaml:8:5 Local-Models.M.aliasses: unknown key "aliasses" is ignored; did you mean "aliases"?',
      'config.yaml:9:5 Local-Models.M.required_devices: "required_devices" is ignored here: it belongs inside a launch profile (a mapping such as "Default-Config:" under the model)',
      'config.yaml:12:7 Local-Models.M.P.requried_devices: unknown key "requried_devices" is ignored; did you mean "required_devices"?',
      'config.yaml:13:7 Local-Models.M.P.cwdd: unknown key "cwdd" is ignored; did you mean "cwd"?',
      'config.yaml:14:7 Local-Models.M.P.port: "port" is ignored here: it is a setting of the model, not of a launch profile (move it up one level)',
      // Too far from any key to guess (script_path is 5 edits away).
      'config.yaml:15:7 Local-Models.M.P.script: unknown key "script" is ignored',
    ]);
  });

  it.each([
    ['alive_tme', ['alive_time', 'aliases'], 'alive_time'],
    ['requried_devices', ['required_devices'], 'required_devices'],
    ['ALIVE_TIME', ['alive_time'], 'alive_time'],
    ['prot', ['port', 'mode'], 'port'],
    ['colour', ['port', 'mode', 'cwd'], null],
    ['ab', ['ac', 'ad'], null], // two equally near: no guess
    ['x'.repeat(100), ['x'.repeat(99)], null], // not for keys that long
  ])('closestKey(%j) is %j', (key, known, expected) => {
    expect(closestKey(key, known)).toBe(expected);
  });
});

describe('config.example.yaml', () => {
  const text = fs.readFileSync(EXAMPLE_PATH, 'utf8');

  it('parses with no errors and no warnings', () => {
    const result = parseConfigText(text, 'config.example.yaml');
    expect(result.ok ? [] : result.errors.map((e) => formatIssue('config.example.yaml', e))).toEqual([]);
    expect(result.warnings).toEqual([]);
  });

  it('has the program defaults and the CPU-only demo models', () => {
    const { config } = parseOk(text);
    expect(config.program).toEqual({ ...DEFAULT_PROGRAM, devicePluginDir: 'plugins/devices' });
    const demo = config.models.find((m) => m.name === 'demo');
    expect(demo).toMatchObject({ mode: 'Chat', aliases: ['gpt-3.5-turbo', 'demo-chat'], port: 10090, aliveTimeMs: 5 * 60_000 });
    expect(demo?.profiles).toEqual([
      {
        name: 'CPU-Config',
        requiredDevices: [],
        scriptPath: null,
        command: 'node',
        args: ['scripts/demo-engine.mjs', '--load-ms', '800'],
        cwd: null,
        env: {},
        memoryMb: {},
      },
    ]);
    const embed = config.models.find((m) => m.name === 'demo-embed');
    expect(embed).toMatchObject({ mode: 'Embedding', port: 10091 });
    expect(embed?.profiles.map((p) => [p.command, p.args[0], p.requiredDevices])).toEqual([['node', 'scripts/demo-engine.mjs', []]]);
  });

  it('says the demo is a test engine, and documents PORT for scripts', () => {
    expect(text).toMatch(/a test engine, not a real model/);
    expect(text).toMatch(/\$PORT/);
    expect(text).toMatch(/%PORT%/);
    expect(text).toMatch(/LLM_PORT/);
    expect(text).toMatch(/MODEL_NAME/);
  });

  it('its commented-out examples are valid once uncommented', () => {
    // Uncomment lines that hold a key (and the comments nested in the examples); prose stays a comment.
    const uncommented = text
      .split('\n')
      .map((line) => (/^ {2}# ( *)("[^"]*"|[\w.-]+):(\s|$)/.test(line) || /^ {2}# ( *)#/.test(line) ? line.replace(/^ {2}# /, '  ') : line))
      .join('\n');
    const result = parseOk(uncommented);
    expect(result.warnings).toEqual([]);
    const byName = new Map(result.config.models.map((m) => [m.name, m]));
    expect(byName.get('Qwen-14B-Chat')?.profiles.map((p) => [p.name, p.requiredDevices, p.scriptPath, p.memoryMb])).toEqual([
      ['Dual-GPU-Config', ['rtx 4060', 'v100'], 'scripts/qwen_dual.bat', { 'rtx 4060': 8000, v100: 16000 }],
      ['Single-GPU-Config', ['v100'], 'scripts/qwen_single.bat', { v100: 24000 }],
    ]);
    const llama = [...byName.values()].find((m) => m.profiles.some((p) => p.command === 'llama-server'));
    expect(llama?.profiles[0]?.args).toEqual(['-m', '${MODEL_PATH}', '--port', '${PORT}', '-ngl', '99']);
    expect(byName.get('Qwen-7B')).toMatchObject({ port: null, servedModelName: 'Qwen-7B', profiles: [{ engine: { kind: 'llama.cpp', gpuLayers: 99, parallel: 2 } }, { engine: { kind: 'llama.cpp', threads: 8 } }] });
    expect(byName.get('Qwen-7B-vLLM')?.profiles[0]?.engine).toMatchObject({ kind: 'vllm', model: 'Qwen/Qwen2.5-7B-Instruct', maxModelLen: 16384 });
    expect(result.config.program.engines?.sglang).toEqual(['/opt/sglang/bin/python']);
  });
});

// ---- files -------------------------------------------------------------------------------------

const tempDirs: string[] = [];
function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'llm-manager-config-'));
  tempDirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of tempDirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

const VALID = model('    port: 10001\n');

describe('resolveConfigPath', () => {
  const cwd = path.resolve(os.tmpdir(), 'somewhere');
  it.each([
    ['--config wins over the environment', 'cli.yaml', { LLM_MANAGER_CONFIG: '/etc/env.yaml' }, path.join(cwd, 'cli.yaml')],
    ['an absolute --config stays as it is', path.resolve('/opt/x/config.yaml'), { LLM_MANAGER_CONFIG: 'env.yaml' }, path.resolve('/opt/x/config.yaml')],
    ['LLM_MANAGER_CONFIG when no --config', undefined, { LLM_MANAGER_CONFIG: 'conf/env.yaml' }, path.join(cwd, 'conf', 'env.yaml')],
    ['an empty LLM_MANAGER_CONFIG is ignored', undefined, { LLM_MANAGER_CONFIG: '' }, path.join(cwd, 'config.yaml')],
    ['config.yaml in the working folder otherwise', undefined, {}, path.join(cwd, 'config.yaml')],
    ['~ means the home folder', '~/llm/config.yaml', {}, path.join(os.homedir(), 'llm', 'config.yaml')],
  ])('%s', (_name, cliPath, env, expected) => {
    const result = resolveConfigPath({ cliPath, env, cwd });
    expect(result).toBe(expected);
    expect(path.isAbsolute(result)).toBe(true);
  });
});

describe('ensureConfigFile', () => {
  it('copies the example once, creating folders when asked (the app\'s own folder), and says so', () => {
    const dir = tempDir();
    const target = path.join(dir, 'nested', 'deeper', 'config.yaml');
    expect(ensureConfigFile(target, EXAMPLE_PATH, { createFolder: true })).toEqual({ created: true });
    const copied = fs.readFileSync(target, 'utf8');
    // Elsewhere than the example, the demo engine's path is made absolute so the demo still runs.
    const demoScript = path.join(path.dirname(EXAMPLE_PATH), 'scripts', 'demo-engine.mjs');
    expect(copied).toBe(fs.readFileSync(EXAMPLE_PATH, 'utf8').replaceAll('"scripts/demo-engine.mjs"', JSON.stringify(demoScript)));
    const demo = loadConfig(target).config.models.find((m) => m.name === 'demo')!;
    expect(demo.profiles[0]!.args[0]).toBe(demoScript);
    expect(fs.existsSync(demo.profiles[0]!.args[0]!)).toBe(true);

    fs.writeFileSync(target, VALID);
    expect(ensureConfigFile(target, EXAMPLE_PATH)).toEqual({ created: false });
    expect(fs.readFileSync(target, 'utf8')).toBe(VALID);
  });

  it('refuses to create a config in a folder that does not exist (a mistyped --config), saying which', () => {
    const dir = tempDir();
    const target = path.join(dir, 'typo', 'config.yaml');
    const error = catchConfigError(() => ensureConfigFile(target, EXAMPLE_PATH));
    expect(error.message).toBe(`config file not found: ${target}, and its folder ${path.join(dir, 'typo')} does not exist either. Check the path: a new config is created only in a folder that exists.`);
    expect(error.code).toBe('ENOENT');
    expect(fs.existsSync(path.join(dir, 'typo'))).toBe(false);
    // A file where the folder should be.
    fs.writeFileSync(path.join(dir, 'file'), '');
    expect(catchConfigError(() => ensureConfigFile(path.join(dir, 'file', 'config.yaml'), EXAMPLE_PATH)).message).toContain(`${path.join(dir, 'file')} is a file, not a folder`);
    // In a folder that exists, it is created.
    expect(ensureConfigFile(path.join(dir, 'config.yaml'), EXAMPLE_PATH)).toEqual({ created: true });
  });

  it('fails with a clear ConfigError when the example is missing too', () => {
    const dir = tempDir();
    const target = path.join(dir, 'config.yaml');
    const example = path.join(dir, 'missing.example.yaml');
    const error = catchConfigError(() => ensureConfigFile(target, example));
    expect(error.message).toContain(target);
    expect(error.message).toContain(example);
    expect(error.message).not.toContain('\n');
    expect(fs.existsSync(target)).toBe(false);
  });
});

function catchConfigError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('resolves relative paths against the config folder, on a copy', () => {
    const dir = tempDir();
    const file = path.join(dir, 'sub', 'config.yaml');
    fs.mkdirSync(path.dirname(file));
    const absolute = path.join(dir, 'abs', 'llama-server');
    fs.writeFileSync(
      file,
      `\uFEFFprogram:
  log_dir: my-logs
  device_plugin_dir: plugins/devices
Local-Models:
  M:
    port: 10001
    Script: { script_path: scripts/run.sh }
    DotSlash: { command: ./bin/engine, cwd: work }
    Relative: { command: bin/engine, cwd: ~/engines }
    Bare: { command: node, args: [scripts/demo-engine.mjs] }
    Absolute: { command: ${JSON.stringify(absolute)}, cwd: ${JSON.stringify(dir)} }
`,
    );
    const base = path.join(dir, 'sub');
    const loaded = loadConfig(file);
    expect(loaded.dir).toBe(base);
    expect(loaded.text.startsWith('program:')).toBe(true);
    expect(loaded.warnings).toEqual([]);
    expect(loaded.config.program.logDir).toBe(path.join(base, 'my-logs'));
    expect(loaded.config.program.devicePluginDir).toBe(path.join(base, 'plugins', 'devices'));
    expect(loaded.config.models[0]!.profiles.map((p) => [p.name, p.scriptPath, p.command, p.cwd, p.args])).toEqual([
      ['Script', path.join(base, 'scripts', 'run.sh'), null, base, []],
      ['DotSlash', null, path.join(base, 'bin', 'engine'), path.join(base, 'work'), []],
      ['Relative', null, path.join(base, 'bin', 'engine'), path.join(os.homedir(), 'engines'), []],
      ['Bare', null, 'node', base, ['scripts/demo-engine.mjs']],
      ['Absolute', null, absolute, dir, []],
    ]);
  });

  it('resolves from the parse result without changing it', () => {
    const parsed = parseOk('program:\n  log_dir: logs\nLocal-Models:\n  M:\n    port: 10001\n    P: { script_path: run.sh, env: { A: 1 } }\n');
    const snapshot = structuredClone(parsed.config);
    const dir = path.resolve(os.tmpdir(), 'cfg');
    const resolved = resolveConfigPaths(parsed.config, dir);
    expect(parsed.config).toEqual(snapshot);
    expect(resolved.models[0]!.profiles[0]!.scriptPath).toBe(path.join(dir, 'run.sh'));
    resolved.models[0]!.profiles[0]!.env['B'] = '2';
    resolved.models[0]!.aliases.push('x');
    expect(parsed.config).toEqual(snapshot);
  });

  it.runIf(process.platform === 'win32')('treats C:\\ paths as absolute on Windows', () => {
    const parsed = parseOk("Local-Models:\n  M:\n    port: 10001\n    P: { script_path: 'C:\\models\\run.bat', cwd: 'D:\\work' }\n");
    const resolved = resolveConfigPaths(parsed.config, 'E:\\configs');
    expect(resolved.models[0]!.profiles[0]!.scriptPath).toBe('C:\\models\\run.bat');
    expect(resolved.models[0]!.profiles[0]!.cwd).toBe('D:\\work');
  });

  it('throws a ConfigError listing the issues one per line, without a stack trace', () => {
    const dir = tempDir();
    const file = path.join(dir, 'config.yaml');
    fs.writeFileSync(file, 'program:\n  port: abc\nLocal-Models:\n  M:\n    port: 0\n    P: { command: node }\n');
    const error = catchConfigError(() => loadConfig(file));
    expect(error.file).toBe(file);
    expect(error.issues).toHaveLength(2);
    expect(error.message).toBe(
      [
        'config.yaml:2:9 program.port: expected an integer 1-65535, got "abc"',
        'config.yaml:5:11 Local-Models.M.port: expected an integer 1-65535, got 0',
      ].join('\n'),
    );
    expect(error.message).not.toContain('    at ');
    expect(String(error.stack)).not.toContain('    at ');
  });

  it.each([
    ['a missing file', (dir: string) => path.join(dir, 'nope.yaml'), 'config file not found: '],
    [
      'a folder',
      (dir: string) => {
        fs.mkdirSync(path.join(dir, 'config.yaml'));
        return path.join(dir, 'config.yaml');
      },
      'config path is a folder, not a file: ',
    ],
  ])('reports %s as a one-line ConfigError naming the path', (_name, make, prefix) => {
    const file = make(tempDir());
    const error = catchConfigError(() => loadConfig(file));
    expect(error.message).toBe(`${prefix}${file}`);
    expect(error.file).toBe(file);
    expect(String(error.stack)).not.toContain('    at ');
  });

  it.runIf(process.platform !== 'win32' && process.getuid?.() !== 0)('reports an unreadable file as a one-line ConfigError', () => {
    const file = path.join(tempDir(), 'config.yaml');
    fs.writeFileSync(file, VALID, { mode: 0o000 });
    const error = catchConfigError(() => loadConfig(file));
    expect(error.message).toBe(`permission denied reading config file: ${file}`);
  });
});

describe('saveConfigText', () => {
  const siblings = (dir: string) => fs.readdirSync(dir).sort();

  it('replaces the file, keeps the previous version as .bak and leaves no temp file', () => {
    const dir = tempDir();
    const file = path.join(dir, 'config.yaml');
    fs.writeFileSync(file, VALID);
    const next = model('    port: 10002\n    alive_time: "90s"\n');
    const result = saveConfigText(file, next);
    expect(result.config.models[0]).toMatchObject({ port: 10002, aliveTimeMs: 90_000 });
    expect(result.config.models[0]!.profiles[0]!.cwd).toBe(dir); // resolved like loadConfig
    expect(result.warnings).toEqual([]);
    expect(fs.readFileSync(file, 'utf8')).toBe(next);
    expect(fs.readFileSync(`${file}.bak`, 'utf8')).toBe(VALID);
    expect(siblings(dir)).toEqual(['config.yaml', 'config.yaml.bak']);
    expect(loadConfig(file).config.models[0]!.port).toBe(10002);
  });

  it('creates a file that does not exist yet, without a .bak', () => {
    const dir = tempDir();
    const file = path.join(dir, 'config.yaml');
    saveConfigText(file, VALID);
    expect(siblings(dir)).toEqual(['config.yaml']);
  });

  it('returns warnings for unknown keys and still saves', () => {
    const file = path.join(tempDir(), 'config.yaml');
    const { warnings } = saveConfigText(file, `extra: 1\n${VALID}`);
    expect(warnings.map((w) => w.path)).toEqual(['extra']);
    expect(fs.readFileSync(file, 'utf8')).toBe(`extra: 1\n${VALID}`);
  });

  it('refuses an invalid config: ConfigError, file byte-identical, nothing else written', () => {
    const dir = tempDir();
    const file = path.join(dir, 'config.yaml');
    const original = Buffer.from(`\uFEFF# mine\r\n${VALID.replace(/\n/g, '\r\n')}`, 'utf8');
    fs.writeFileSync(file, original);
    const error = catchConfigError(() => saveConfigText(file, model('    port: 99999\n')));
    expect(error.message).toBe('config.yaml:3:11 Local-Models.M.port: expected an integer 1-65535, got 99999');
    expect(fs.readFileSync(file).equals(original)).toBe(true);
    expect(siblings(dir)).toEqual(['config.yaml']);
  });

  it('leaves the original untouched and removes the temp file when a step fails', () => {
    const dir = tempDir();
    const file = path.join(dir, 'config.yaml');
    fs.writeFileSync(file, VALID);
    fs.mkdirSync(`${file}.bak`); // the backup copy cannot be written over a folder
    const error = catchConfigError(() => saveConfigText(file, model('    port: 10002\n')));
    expect(error.message).toMatch(/^cannot save config file .*config\.yaml: could not keep the previous version as config\.yaml\.bak: /);
    expect(error.message).not.toContain('\n');
    expect(fs.readFileSync(file, 'utf8')).toBe(VALID);
    expect(siblings(dir)).toEqual(['config.yaml', 'config.yaml.bak']);
  });

  it.runIf(process.platform !== 'win32')('writes through a symlinked config file, keeping the link', () => {
    const dir = tempDir();
    const real = path.join(dir, 'dotfiles', 'config.yaml');
    fs.mkdirSync(path.dirname(real));
    fs.writeFileSync(real, VALID);
    const link = path.join(dir, 'config.yaml');
    fs.symlinkSync(real, link);
    saveConfigText(link, model('    port: 10003\n'));
    expect(fs.lstatSync(link).isSymbolicLink()).toBe(true);
    expect(fs.readFileSync(real, 'utf8')).toBe(model('    port: 10003\n'));
    expect(fs.readFileSync(`${real}.bak`, 'utf8')).toBe(VALID);
  });

  it.runIf(process.platform !== 'win32' && process.getuid?.() !== 0)('refuses to replace a read-only file', () => {
    const dir = tempDir();
    const file = path.join(dir, 'config.yaml');
    fs.writeFileSync(file, VALID, { mode: 0o444 });
    const error = catchConfigError(() => saveConfigText(file, model('    port: 10002\n')));
    expect(error.message).toBe(`config file is read-only: ${file}`);
    expect(fs.readFileSync(file, 'utf8')).toBe(VALID);
    expect(siblings(dir)).toEqual(['config.yaml']);
  });

  it('refuses to save over a folder', () => {
    const dir = tempDir();
    const file = path.join(dir, 'config.yaml');
    fs.mkdirSync(file);
    const error = catchConfigError(() => saveConfigText(file, VALID));
    expect(error.message).toBe(`config path is a folder, not a file: ${file}`);
    expect(siblings(dir)).toEqual(['config.yaml']);
  });
});

describe('watchConfig', () => {
  const DEBOUNCE_MS = 150;
  const watchers: ConfigWatcher[] = [];
  afterEach(() => {
    for (const w of watchers.splice(0)) w.close();
  });

  /** Starts a watcher that records every change; `next()` waits for the next one. */
  function watch(file: string) {
    const changes: ConfigChange[] = [];
    let wake: (() => void) | null = null;
    const watcher = watchConfig(file, (change) => {
      changes.push(change);
      wake?.();
    });
    watchers.push(watcher);
    const next = (timeoutMs = 3000) =>
      new Promise<ConfigChange>((resolve, reject) => {
        const seen = changes.length;
        const timer = setTimeout(() => reject(new Error('no change reported')), timeoutMs);
        wake = () => {
          if (changes.length > seen) {
            clearTimeout(timer);
            wake = null;
            resolve(changes[seen]!);
          }
        };
      });
    /** Resolves when nothing was reported for a while (debounce plus slack). */
    const quiet = async () => {
      const before = changes.length;
      await sleep(DEBOUNCE_MS * 4);
      return changes.slice(before);
    };
    return { watcher, changes, next, quiet };
  }

  function setup() {
    const dir = tempDir();
    const file = path.join(dir, 'config.yaml');
    fs.writeFileSync(file, VALID);
    return { dir, file, ...watch(file) };
  }

  it('reports an edit made by another program with the new config', async () => {
    const { file, next } = setup();
    const changed = next();
    fs.writeFileSync(file, model('    port: 10005\n'));
    const change = await changed;
    expect(change.ok).toBe(true);
    if (change.ok) {
      expect(change.config.models[0]!.port).toBe(10005);
      expect(change.config.models[0]!.profiles[0]!.cwd).toBe(path.dirname(file));
    }
  });

  it('reports an editor-style save (new file renamed over the old one) once', async () => {
    const { dir, file, next, quiet } = setup();
    const changed = next();
    const tmp = path.join(dir, 'config.yaml~');
    fs.writeFileSync(tmp, model('    port: 10006\n'));
    fs.renameSync(tmp, file);
    const change = await changed;
    expect(change.ok && change.config.models[0]!.port).toBe(10006);
    expect(await quiet()).toEqual([]);
  });

  it('reports an invalid edit as a ConfigError', async () => {
    const { file, next } = setup();
    const changed = next();
    fs.writeFileSync(file, model('    port: nope\n'));
    const change = await changed;
    expect(change.ok).toBe(false);
    if (!change.ok) {
      expect(change.error).toBeInstanceOf(ConfigError);
      expect(change.error.message).toBe('config.yaml:3:11 Local-Models.M.port: expected an integer 1-65535, got "nope"');
    }
  });

  it('stays silent when the file is rewritten unchanged, or another file in the folder changes', async () => {
    const { dir, file, quiet } = setup();
    fs.writeFileSync(file, VALID);
    fs.writeFileSync(path.join(dir, 'other.yaml'), 'x: 1\n');
    expect(await quiet()).toEqual([]);
  });

  it('stays silent for our own saveConfigText, and reports the next outside edit', async () => {
    const { file, next, quiet } = setup();
    saveConfigText(file, model('    port: 10007\n'));
    expect(await quiet()).toEqual([]);
    const changed = next();
    fs.writeFileSync(file, model('    port: 10008\n'));
    const change = await changed;
    expect(change.ok && change.config.models[0]!.port).toBe(10008);
  });

  it('stays silent for text announced with expect()', async () => {
    const { file, watcher, quiet } = setup();
    const text = model('    port: 10009\n');
    watcher.expect(text);
    fs.writeFileSync(file, text);
    expect(await quiet()).toEqual([]);
  });

  it('coalesces a burst of writes into one report of the final text', async () => {
    const { file, next, quiet } = setup();
    const changed = next();
    for (let port = 10010; port <= 10014; port++) fs.writeFileSync(file, model(`    port: ${port}\n`));
    const change = await changed;
    expect(change.ok && change.config.models[0]!.port).toBe(10014);
    expect(await quiet()).toEqual([]);
  });

  it('keeps watching when the listener throws', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'config.yaml');
    fs.writeFileSync(file, VALID);
    const seen: number[] = [];
    const errorSpy = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      watchers.push(
        watchConfig(file, (change) => {
          seen.push(change.ok ? change.config.models[0]!.port ?? 0 : -1);
          throw new Error('listener bug');
        }),
      );
      fs.writeFileSync(file, model('    port: 10020\n'));
      await waitUntil(() => seen.length === 1);
      fs.writeFileSync(file, model('    port: 10021\n'));
      await waitUntil(() => seen.length === 2);
      expect(seen).toEqual([10020, 10021]);
      expect(errorSpy).toHaveBeenCalled();
    } finally {
      errorSpy.mockRestore();
    }
  });

  it('reports a deleted file as an error, and its return as a change', async () => {
    const { file, next } = setup();
    let changed = next();
    fs.rmSync(file);
    const gone = await changed;
    expect(!gone.ok && gone.error.message).toBe(`config file not found: ${file}`);
    changed = next();
    fs.writeFileSync(file, VALID);
    const back = await changed;
    expect(back.ok && back.config.models[0]!.port).toBe(10001);
  });

  it('takes a second look at an emptied file (editors truncate before writing), then reports it as not applied', async () => {
    const { file, next } = setup();
    const changed = next();
    const started = Date.now();
    fs.writeFileSync(file, ' \n\n');
    const change = await changed;
    expect(Date.now() - started).toBeGreaterThanOrEqual(DEBOUNCE_MS * 2 - 10);
    // Applied, it would stop every model: removing them all takes a save with confirmation.
    expect(change.ok).toBe(false);
    expect(!change.ok && [change.empty, change.error.issues.map((i) => i.message)]).toEqual([true, ['the file is empty; still running the last config']]);
  });

  it('reports nothing after close()', async () => {
    const { file, watcher, quiet } = setup();
    watcher.close();
    fs.writeFileSync(file, model('    port: 10030\n'));
    expect(await quiet()).toEqual([]);
  });
});

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function waitUntil(condition: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await sleep(20);
  }
}
