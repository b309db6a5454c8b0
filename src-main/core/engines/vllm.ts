// vLLM: `vllm serve MODEL --served-model-name NAME ... --host 127.0.0.1 --port N`. Pure, golden-tested.
import type { PythonServerEngine } from '../../../src-shared/config.js';
import { ENGINE_HOST, flag, type EngineLaunch, type RenderContext } from './types.js';

export function renderVllm(spec: PythonServerEngine, ctx: RenderContext): EngineLaunch {
  const [command, ...lead] = ctx.binary;
  const args = [
    ...lead,
    'serve', spec.model,
    '--served-model-name', ctx.servedName,
    '--host', ENGINE_HOST,
    '--port', String(ctx.port),
    ...flag('--gpu-memory-utilization', spec.gpuMemoryUtilization),
    ...flag('--max-model-len', spec.maxModelLen),
    ...flag('--dtype', spec.dtype),
    ...flag('--tensor-parallel-size', spec.tensorParallelSize),
    ...(spec.trustRemoteCode ? ['--trust-remote-code'] : []),
    ...spec.extraArgs,
  ];
  return { kind: 'vllm', command: command!, args, healthPath: '/health', servedModelName: ctx.servedName };
}
