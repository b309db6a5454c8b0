// Engine profiles (`engine: llama.cpp | vllm | sglang`): which program runs them, how their typed
// fields become a command line (one pure renderer per engine), and the ${PORT} / ${MODEL_NAME} /
// ${MODEL_PATH} macros every profile's args and env may use.
import type { EngineBinaries, EngineKind, EngineSpec, LaunchProfile } from '../../../src-shared/config.js';
import { renderLlamaCpp } from './llama-cpp.js';
import { renderSglang } from './sglang.js';
import type { EngineLaunch, RenderContext } from './types.js';
import { renderVllm } from './vllm.js';

export type { EngineLaunch, RenderContext } from './types.js';
export { llamaModelArgs } from './llama-cpp.js';

export function renderEngine(spec: EngineSpec, ctx: RenderContext): EngineLaunch {
  switch (spec.kind) {
    case 'llama.cpp':
      return renderLlamaCpp(spec, ctx);
    case 'vllm':
      return renderVllm(spec, ctx);
    case 'sglang':
      return renderSglang(spec, ctx);
  }
}

/** The program.engines key of each kind. */
export const ENGINE_SETTING: Record<EngineKind, string> = { 'llama.cpp': 'program.engines.llama_server', vllm: 'program.engines.vllm', sglang: 'program.engines.sglang' };

const PYTHON = /^python(\d+(\.\d+)*)?(\.exe)?$/i;
const SGLANG_MODULE = ['-m', 'sglang.launch_server'];

/**
 * The words an engine of `kind` starts with: program.engines' setting (a Python interpreter given
 * for SGLang gets `-m sglang.launch_server`), else the default: llama-server; vllm (`serve` is the
 * renderer's); python3 (or python, whichever `has` finds first) -m sglang.launch_server.
 */
export function engineBinary(kind: EngineKind, binaries: EngineBinaries | undefined, has: (command: string) => boolean = () => true): string[] {
  const set = kind === 'llama.cpp' ? binaries?.llamaServer : kind === 'vllm' ? binaries?.vllm : binaries?.sglang;
  if (set && set.length > 0) {
    if (kind === 'sglang' && set.length === 1 && PYTHON.test(baseName(set[0]!))) return [set[0]!, ...SGLANG_MODULE];
    return [...set];
  }
  if (kind === 'llama.cpp') return ['llama-server'];
  if (kind === 'vllm') return ['vllm'];
  return [has('python3') || !has('python') ? 'python3' : 'python', ...SGLANG_MODULE];
}

/** What to tell a person whose engine program isn't there. */
export function installHint(kind: EngineKind): string {
  switch (kind) {
    case 'llama.cpp':
      return `install llama.cpp (a release from https://github.com/ggml-org/llama.cpp/releases, "brew install llama.cpp" or "winget install llama.cpp") so llama-server is on PATH, or set ${ENGINE_SETTING[kind]} to its path`;
    case 'vllm':
      return `install vLLM ("pip install vllm", Linux with an NVIDIA GPU) so vllm is on PATH, or set ${ENGINE_SETTING[kind]} to the vllm program of its environment (e.g. "/opt/vllm/bin/vllm")`;
    case 'sglang':
      return `install SGLang ("pip install sglang[all]") and set ${ENGINE_SETTING[kind]} to the Python of its environment (e.g. "/opt/sglang/bin/python"), or make python3 on PATH the one it is installed in`;
  }
}

function baseName(p: string): string {
  return p.split(/[\\/]/).pop() ?? p;
}

// ---- macros ----------------------------------------------------------------------------------

export interface MacroValues {
  PORT: string;
  MODEL_NAME: string;
  MODEL_PATH?: string;
}

const MACRO = /\$\{(PORT|MODEL_NAME|MODEL_PATH)\}/g;

/** `text` with ${PORT}, ${MODEL_NAME} and ${MODEL_PATH} replaced; any other ${...} is left as written. */
export function expandMacros(text: string, values: MacroValues): string {
  return text.replace(MACRO, (whole, name: keyof MacroValues) => values[name] ?? whole);
}

/** The profile with its command, args and env values expanded (what is spawned and shown). */
export function expandProfile(profile: LaunchProfile, values: MacroValues): LaunchProfile {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(profile.env)) env[k] = expandMacros(v, values);
  return {
    ...profile,
    command: profile.command === null ? null : expandMacros(profile.command, values),
    args: profile.args.map((a) => expandMacros(a, values)),
    env,
  };
}

/**
 * An engine profile rendered into command + args (port left as "${PORT}" when the model has none:
 * it is given at each start). Other profiles come back as they are.
 */
export function renderProfile(profile: LaunchProfile, model: { name: string; port: number | null; servedModelName: string | null }, binaries: EngineBinaries | undefined, has?: (command: string) => boolean): LaunchProfile {
  if (!profile.engine) return profile;
  const launch = renderEngine(profile.engine, {
    binary: engineBinary(profile.engine.kind, binaries, has),
    port: model.port ?? '${PORT}',
    servedName: model.servedModelName ?? model.name,
  });
  return { ...profile, command: launch.command, args: launch.args };
}
