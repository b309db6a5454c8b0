// llama.cpp's llama-server: `llama-server -m MODEL.gguf --alias NAME ... --host 127.0.0.1 --port N`.
// Pure: the same fields always give the same command line (golden-tested).
import type { LlamaCppEngine } from '../../../src-shared/config.js';
import { ENGINE_HOST, flag, type EngineLaunch, type RenderContext } from './types.js';

/**
 * `model` as llama-server takes it: a file (-m), or a Hugging Face reference it downloads itself:
 * `hf:owner/repo[:quant]` → `-hf owner/repo[:quant]`, `hf:owner/repo/file.gguf` → `-hf owner/repo --hf-file file.gguf`.
 */
export function llamaModelArgs(model: string): string[] {
  if (!/^hf:/i.test(model)) return ['-m', model];
  const ref = model.slice(3);
  const [owner, repo, ...file] = ref.split('/');
  if (file.length > 0) return ['-hf', `${owner}/${repo}`, '--hf-file', file.join('/')];
  return ['-hf', ref];
}

export function renderLlamaCpp(spec: LlamaCppEngine, ctx: RenderContext): EngineLaunch {
  const [command, ...lead] = ctx.binary;
  const args = [
    ...lead,
    ...llamaModelArgs(spec.model),
    '--alias', ctx.servedName,
    ...flag('--ctx-size', spec.context),
    ...flag('--n-gpu-layers', spec.gpuLayers),
    ...flag('--threads', spec.threads),
    ...flag('--flash-attn', spec.flashAttn),
    ...flag('--mmproj', spec.mmproj),
    ...flag('--parallel', spec.parallel),
    '--host', ENGINE_HOST,
    '--port', String(ctx.port),
    ...spec.extraArgs,
  ];
  return { kind: 'llama.cpp', command: command!, args, healthPath: '/health', servedModelName: ctx.servedName };
}
