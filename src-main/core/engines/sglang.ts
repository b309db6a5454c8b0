// SGLang: `python -m sglang.launch_server --model-path MODEL --served-model-name NAME ... --host
// 127.0.0.1 --port N`, with SGLang's own flag names for the fields vLLM profiles share. Pure, golden-tested.
import type { PythonServerEngine } from '../../../src-shared/config.js';
import { ENGINE_HOST, flag, type EngineLaunch, type RenderContext } from './types.js';

export function renderSglang(spec: PythonServerEngine, ctx: RenderContext): EngineLaunch {
  const [command, ...lead] = ctx.binary;
  const args = [
    ...lead,
    '--model-path', spec.model,
    '--served-model-name', ctx.servedName,
    '--host', ENGINE_HOST,
    '--port', String(ctx.port),
    ...flag('--mem-fraction-static', spec.gpuMemoryUtilization),
    ...flag('--context-length', spec.maxModelLen),
    ...flag('--dtype', spec.dtype),
    ...flag('--tp-size', spec.tensorParallelSize),
    ...(spec.trustRemoteCode ? ['--trust-remote-code'] : []),
    ...spec.extraArgs,
  ];
  return { kind: 'sglang', command: command!, args, healthPath: '/health', servedModelName: ctx.servedName };
}
