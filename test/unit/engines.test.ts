// Engine profiles (core/engines): the exact command line each engine and field combination renders
// to, the schema's errors for them (file:line:col), the ${PORT}/${MODEL_NAME}/${MODEL_PATH} macros,
// where the engine program comes from, and the connection limit a llama.cpp profile implies.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { formatIssue, parseConfigText, type EngineSpec, type LaunchProfile, type LlamaCppEngine, type PythonServerEngine } from '../../src-shared/config.js';
import { engineBinary, expandMacros, expandProfile, installHint, renderEngine } from '../../src-main/core/engines/index.js';
import { resolveConfigPaths } from '../../src-main/core/config/load.js';
import { DEFAULT_MAX_CONNECTIONS, derivedMaxConnections } from '../../src-main/core/models/connection-limit.js';
import { launchIssue } from '../../src-main/core/models/process.js';

const llama = (over: Partial<LlamaCppEngine> = {}): LlamaCppEngine => ({
  kind: 'llama.cpp', model: '/m/qwen.gguf', context: null, gpuLayers: null, threads: null, flashAttn: null, mmproj: null, parallel: null, extraArgs: [], ...over,
});
const py = (kind: 'vllm' | 'sglang', over: Partial<PythonServerEngine> = {}): PythonServerEngine => ({
  kind, model: 'Qwen/Qwen2.5-7B-Instruct', gpuMemoryUtilization: null, maxModelLen: null, dtype: null, tensorParallelSize: null, trustRemoteCode: false, extraArgs: [], ...over,
});
const line = (spec: EngineSpec, binary?: string[], port: number | string = 18305) => {
  const launch = renderEngine(spec, { binary: binary ?? engineBinary(spec.kind, undefined), port, servedName: 'qwen' });
  return [launch.command, ...launch.args].join(' ');
};

describe('golden command lines', () => {
  it.each<[string, EngineSpec, string]>([
    ['llama.cpp, a file and nothing else', llama(), 'llama-server -m /m/qwen.gguf --alias qwen --host 127.0.0.1 --port 18305'],
    [
      'llama.cpp, every field',
      llama({ context: 8192, gpuLayers: 99, threads: 8, flashAttn: 'on', mmproj: '/m/mmproj.gguf', parallel: 2, extraArgs: ['--jinja', '--temp', '0.7'] }),
      'llama-server -m /m/qwen.gguf --alias qwen --ctx-size 8192 --n-gpu-layers 99 --threads 8 --flash-attn on --mmproj /m/mmproj.gguf --parallel 2 --host 127.0.0.1 --port 18305 --jinja --temp 0.7',
    ],
    ['llama.cpp, all layers, flash attention off', llama({ gpuLayers: 'all', flashAttn: 'off' }), 'llama-server -m /m/qwen.gguf --alias qwen --n-gpu-layers all --flash-attn off --host 127.0.0.1 --port 18305'],
    ['llama.cpp, context 0 (the model\'s own)', llama({ context: 0, gpuLayers: 0 }), 'llama-server -m /m/qwen.gguf --alias qwen --ctx-size 0 --n-gpu-layers 0 --host 127.0.0.1 --port 18305'],
    ['llama.cpp, hf: repo', llama({ model: 'hf:ggml-org/gemma-3-1b-it-GGUF' }), 'llama-server -hf ggml-org/gemma-3-1b-it-GGUF --alias qwen --host 127.0.0.1 --port 18305'],
    ['llama.cpp, hf: repo:quant', llama({ model: 'hf:unsloth/Qwen3-8B-GGUF:Q4_K_M' }), 'llama-server -hf unsloth/Qwen3-8B-GGUF:Q4_K_M --alias qwen --host 127.0.0.1 --port 18305'],
    [
      'llama.cpp, hf: repo/file',
      llama({ model: 'hf:ggml-org/Qwen2.5-Coder-0.5B-Q8_0-GGUF/qwen2.5-coder-0.5b-q8_0.gguf' }),
      'llama-server -hf ggml-org/Qwen2.5-Coder-0.5B-Q8_0-GGUF --hf-file qwen2.5-coder-0.5b-q8_0.gguf --alias qwen --host 127.0.0.1 --port 18305',
    ],
    ['vLLM, a Hugging Face id', py('vllm'), 'vllm serve Qwen/Qwen2.5-7B-Instruct --served-model-name qwen --host 127.0.0.1 --port 18305'],
    [
      'vLLM, every field',
      py('vllm', { model: '/models/qwen', gpuMemoryUtilization: 0.85, maxModelLen: 32768, dtype: 'bfloat16', tensorParallelSize: 2, trustRemoteCode: true, extraArgs: ['--enforce-eager'] }),
      'vllm serve /models/qwen --served-model-name qwen --host 127.0.0.1 --port 18305 --gpu-memory-utilization 0.85 --max-model-len 32768 --dtype bfloat16 --tensor-parallel-size 2 --trust-remote-code --enforce-eager',
    ],
    ['SGLang, a Hugging Face id', py('sglang'), 'python3 -m sglang.launch_server --model-path Qwen/Qwen2.5-7B-Instruct --served-model-name qwen --host 127.0.0.1 --port 18305'],
    [
      'SGLang, every field (its own flag names)',
      py('sglang', { gpuMemoryUtilization: 0.8, maxModelLen: 16384, dtype: 'float16', tensorParallelSize: 4, trustRemoteCode: true, extraArgs: ['--enable-metrics'] }),
      'python3 -m sglang.launch_server --model-path Qwen/Qwen2.5-7B-Instruct --served-model-name qwen --host 127.0.0.1 --port 18305 --mem-fraction-static 0.8 --context-length 16384 --dtype float16 --tp-size 4 --trust-remote-code --enable-metrics',
    ],
  ])('%s', (_name, spec, expected) => {
    expect(line(spec)).toBe(expected);
  });

  it('every engine answers /health and serves the model under the given name', () => {
    for (const spec of [llama(), py('vllm'), py('sglang')]) {
      const launch = renderEngine(spec, { binary: ['x'], port: 1, servedName: 'my-model' });
      expect(launch).toMatchObject({ healthPath: '/health', servedModelName: 'my-model' });
    }
  });

  it('a port given at start is rendered as ${PORT}', () => {
    expect(line(llama(), undefined, '${PORT}')).toBe('llama-server -m /m/qwen.gguf --alias qwen --host 127.0.0.1 --port ${PORT}');
  });
});

describe('the engine program', () => {
  it('comes from program.engines, else PATH defaults', () => {
    const binaries = { llamaServer: ['/opt/llama/llama-server'], vllm: ['/venv/bin/vllm'], sglang: ['/venv/bin/python3.11'] };
    expect(engineBinary('llama.cpp', binaries)).toEqual(['/opt/llama/llama-server']);
    expect(line(py('vllm'), engineBinary('vllm', binaries))).toMatch(/^\/venv\/bin\/vllm serve Qwen/);
    // A Python interpreter given for SGLang runs its module; a list is taken as it is.
    expect(engineBinary('sglang', binaries)).toEqual(['/venv/bin/python3.11', '-m', 'sglang.launch_server']);
    expect(engineBinary('sglang', { llamaServer: null, vllm: null, sglang: ['sgl', 'serve'] })).toEqual(['sgl', 'serve']);
    expect(engineBinary('llama.cpp', undefined)).toEqual(['llama-server']);
    expect(engineBinary('vllm', undefined)).toEqual(['vllm']);
    expect(engineBinary('sglang', undefined, (c) => c === 'python')).toEqual(['python', '-m', 'sglang.launch_server']);
    expect(engineBinary('sglang', undefined, (c) => c === 'python3')).toEqual(['python3', '-m', 'sglang.launch_server']);
  });

  it('a missing one is a launch issue that says how to install it', () => {
    const profile: LaunchProfile = {
      name: 'P', requiredDevices: [], scriptPath: null, command: 'llama-server', args: [], cwd: null, env: {}, memoryMb: {}, engine: llama({ model: 'hf:a/b' }),
    };
    const issue = launchIssue(profile, 'linux', { PATH: '/nonexistent' });
    expect(issue?.field).toBe('engine');
    expect(issue?.message).toBe(`command not found: llama-server (not on PATH): ${installHint('llama.cpp')}`);
    expect(issue?.message).toContain('program.engines.llama_server');
    expect(installHint('vllm')).toContain('pip install vllm');
    expect(installHint('sglang')).toContain('program.engines.sglang');
  });

  it('a llama.cpp model file that is not there is a launch issue at model', () => {
    const profile: LaunchProfile = {
      name: 'P', requiredDevices: [], scriptPath: null, command: process.execPath, args: [], cwd: null, env: {}, memoryMb: {}, engine: llama({ model: '/nonexistent/x.gguf' }),
    };
    expect(launchIssue(profile, 'linux')).toMatchObject({ field: 'model', message: 'model file not found: /nonexistent/x.gguf' });
  });
});

describe('macros', () => {
  it('${PORT}, ${MODEL_NAME} and ${MODEL_PATH} expand; anything else stays as written', () => {
    const values = { PORT: '20001', MODEL_NAME: 'qwen', MODEL_PATH: '/m/q.gguf' };
    expect(expandMacros('--port ${PORT} --alias ${MODEL_NAME} -m ${MODEL_PATH} ${HOME} $PORT', values)).toBe('--port 20001 --alias qwen -m /m/q.gguf ${HOME} $PORT');
    expect(expandMacros('${MODEL_PATH}', { PORT: '1', MODEL_NAME: 'x' })).toBe('${MODEL_PATH}');
  });

  it('expand in a profile\'s command, args and env values', () => {
    const profile: LaunchProfile = {
      name: 'P', requiredDevices: [], scriptPath: null, command: 'llama-server', args: ['--port', '${PORT}', '-m', '${MODEL_PATH}'], cwd: null,
      env: { URL: 'http://127.0.0.1:${PORT}/v1', NAME: '${MODEL_NAME}' }, memoryMb: {}, modelPath: '/m/q.gguf',
    };
    const out = expandProfile(profile, { PORT: '20001', MODEL_NAME: 'qwen', MODEL_PATH: '/m/q.gguf' });
    expect(out.args).toEqual(['--port', '20001', '-m', '/m/q.gguf']);
    expect(out.env).toEqual({ URL: 'http://127.0.0.1:20001/v1', NAME: 'qwen' });
    expect(profile.args[1]).toBe('${PORT}'); // the config itself is untouched
  });
});

describe('engine profiles in config.yaml', () => {
  const errorLines = (text: string) => {
    const result = parseConfigText(text, 'config.yaml');
    expect(result.ok).toBe(false);
    return result.ok ? [] : result.errors.map((e) => formatIssue('config.yaml', e));
  };
  const parse = (text: string) => {
    const result = parseConfigText(text, 'config.yaml');
    if (!result.ok) throw new Error(result.errors.map((e) => formatIssue('config.yaml', e)).join('\n'));
    return result;
  };

  it('parses typed fields; the port may be left out; the served name is the model\'s', () => {
    const result = parse(
      'Local-Models:\n  qwen:\n    GPU:\n      engine: llama.cpp\n      model: models/qwen.gguf\n      context: 8192\n      gpu_layers: all\n      flash_attn: true\n      parallel: 2\n' +
        '  big:\n    port: 10002\n    V:\n      engine: vLLM\n      model: Qwen/Qwen2.5-7B-Instruct\n      gpu_memory_utilization: 0.9\n      trust_remote_code: true\n',
    );
    const [qwen, big] = result.config.models;
    expect(qwen).toMatchObject({ port: null, servedModelName: 'qwen' });
    expect(qwen!.profiles[0]).toMatchObject({ command: null, scriptPath: null, modelPath: 'models/qwen.gguf', engine: llama({ model: 'models/qwen.gguf', context: 8192, gpuLayers: 'all', flashAttn: 'on', parallel: 2 }) });
    expect(big!.profiles[0]!.engine).toEqual(py('vllm', { gpuMemoryUtilization: 0.9, trustRemoteCode: true }));
    expect(result.warnings).toEqual([]);
  });

  it.each<[string, string, string[]]>([
    ['an unknown engine', '      engine: lmdeploy\n      model: x\n', ['config.yaml:5:15 Local-Models.M.P.engine: expected one of llama.cpp, vllm, sglang, ollama, got "lmdeploy"']],
    ['no model', '      engine: llama.cpp\n', ['config.yaml:4:5 Local-Models.M.P.model: is required (expected a .gguf file path or "hf:owner/repo[:quant]" / "hf:owner/repo/file.gguf")']],
    ['a bad hf: reference', '      engine: llama.cpp\n      model: "hf:just-a-name"\n', ['config.yaml:6:14 Local-Models.M.P.model: expected "hf:owner/repo", "hf:owner/repo:quant" or "hf:owner/repo/file.gguf", got "hf:just-a-name"']],
    ['gpu_layers as a word', '      engine: llama.cpp\n      model: a.gguf\n      gpu_layers: many\n', ['config.yaml:7:19 Local-Models.M.P.gpu_layers: expected a number of layers ≥ 0, "all" or "auto", got "many"']],
    ['a memory fraction above 1', '      engine: vllm\n      model: a/b\n      gpu_memory_utilization: 90\n', ['config.yaml:7:31 Local-Models.M.P.gpu_memory_utilization: expected a fraction above 0 and at most 1, e.g. 0.9, got 90']],
    ['command in an engine profile', '      engine: sglang\n      model: a/b\n      command: python\n', ['config.yaml:7:7 Local-Models.M.P.command: an engine profile is launched from its fields: remove "command" (put extra engine flags in extra_args), or remove "engine" to launch with command']],
    ['${MODEL_PATH} without a model', '      command: node\n      args: ["--m", "${MODEL_PATH}"]\n', ['config.yaml:6:21 Local-Models.M.P.args[1]: ${MODEL_PATH} is used, but this profile has no "model" to expand it to; add model: "path/to/the/model"']],
    ['a valid vLLM profile (no errors)', '      engine: vllm\n      model: a/b\n', []],
  ])('%s', (_name, profile, errors) => {
    const text = `Local-Models:\n  M:\n    port: 10001\n    P:\n${profile}`;
    if (errors.length === 0) return void parse(text);
    expect(errorLines(text)).toEqual(errors);
  });

  it('program.engines and engine_ports are checked at line:col', () => {
    expect(errorLines('program:\n  engines:\n    llama_server: 5\n')).toEqual([
      'config.yaml:3:19 program.engines.llama_server: expected a program (a path or a name in PATH) or a list of words like ["python3", "-m", "sglang.launch_server"], got 5',
    ]);
    expect(errorLines('program:\n  engine_ports: "20000-70000"\n')).toEqual(['config.yaml:2:17 program.engine_ports: expected a port range like "20000-20999", got "20000-70000"']);
    expect(parse('program:\n  engine_ports: "30000-30099"\n  engines: { sglang: ["/venv/bin/python", "-m", "sglang.launch_server"] }\n').config.program).toMatchObject({
      enginePorts: { from: 30000, to: 30099 },
      engines: { llamaServer: null, vllm: null, sglang: ['/venv/bin/python', '-m', 'sglang.launch_server'] },
    });
  });

  it('a key of another engine is a warning that says whose it is', () => {
    const result = parse('Local-Models:\n  M:\n    P:\n      engine: llama.cpp\n      model: a.gguf\n      max_model_len: 4096\n');
    expect(result.warnings.map((w) => formatIssue('config.yaml', w))).toEqual([
      'config.yaml:6:7 Local-Models.M.P.max_model_len: "max_model_len" is ignored: it is a vLLM setting, not a llama.cpp one (put the engine\'s own flags in extra_args)',
    ]);
  });

  it('two models without a port are fine; two with the same port are not', () => {
    parse('Local-Models:\n  A:\n    P:\n      command: node\n  B:\n    P:\n      command: node\n');
    expect(errorLines('Local-Models:\n  A:\n    port: 9000\n    P:\n      command: node\n  B:\n    port: 9000\n    P:\n      command: node\n')).toEqual([
      'config.yaml:7:11 Local-Models.B.port: port 9000 is already used by model "A"',
    ]);
  });
});

describe('loaded engine profiles', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('are rendered into command + args with paths resolved against the config folder', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'llm-engines-'));
    dirs.push(dir);
    const result = parseConfigText(
      'program:\n  engines:\n    llama_server: bin/llama-server\nLocal-Models:\n  qwen:\n    P:\n      engine: llama.cpp\n      model: models/q.gguf\n      parallel: 3\n' +
        '  v:\n    port: 10005\n    P:\n      engine: vllm\n      model: ./local-model\n  h:\n    P:\n      engine: vllm\n      model: org/name\n',
    );
    if (!result.ok) throw new Error('parse failed');
    const config = resolveConfigPaths(result.config, dir);
    const [qwen, v, h] = config.models;
    expect([qwen!.profiles[0]!.command, ...qwen!.profiles[0]!.args]).toEqual([
      path.join(dir, 'bin/llama-server'), '-m', path.join(dir, 'models/q.gguf'), '--alias', 'qwen', '--parallel', '3', '--host', '127.0.0.1', '--port', '${PORT}',
    ]);
    expect(qwen!.profiles[0]!.modelPath).toBe(path.join(dir, 'models/q.gguf'));
    expect(v!.profiles[0]!.args).toEqual(['serve', path.join(dir, 'local-model'), '--served-model-name', 'v', '--host', '127.0.0.1', '--port', '10005']);
    expect(h!.profiles[0]!.args.slice(0, 2)).toEqual(['serve', 'org/name']);
    // The router's connection limit reads llama.cpp's parallel itself, whatever the program is called.
    expect(derivedMaxConnections(qwen!.profiles[0]!)).toBe(4);
    expect(derivedMaxConnections(v!.profiles[0]!)).toBe(DEFAULT_MAX_CONNECTIONS);
  });
});
