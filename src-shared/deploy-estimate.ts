// How much memory a GGUF model will hold, for the Deploy form's suggestion: the weights (the file,
// a little more once loaded), the context's KV cache and the engine's compute buffers. An
// estimate, shown as one: a real figure comes from the engine once it runs. Pure.

export interface MemoryEstimate {
  weightsMb: number;
  contextMb: number;
  totalMb: number;
}

const MB = 1024 * 1024;
/** f16 K and V over all layers, per token, per parameter: ~128 KiB a token for an 8B model with grouped-query attention. */
const KV_BYTES_PER_TOKEN_PER_PARAM = 128 * 1024 / 8e9;
/** Without a parameter count: the same, from a Q4_K_M file's size (an 8B model is ~4.9 GB). */
const KV_BYTES_PER_TOKEN_PER_FILE_BYTE = 128 * 1024 / 4.9e9;
const COMPUTE_BUFFER_MB = 300;

/**
 * `fileBytes`: all parts of the model file; `context`: the context it is run with (tokens);
 * `parameters`: from its header when known; `gpuShare`: the part of the layers on the GPU (1: all).
 */
export function estimateGgufMemory(input: { fileBytes: number; context: number; parameters?: number | null; gpuShare?: number }): MemoryEstimate {
  const share = Math.min(1, Math.max(0, input.gpuShare ?? 1));
  const weightsMb = Math.ceil((input.fileBytes * 1.03 * share) / MB);
  const perToken = input.parameters ? input.parameters * KV_BYTES_PER_TOKEN_PER_PARAM : input.fileBytes * KV_BYTES_PER_TOKEN_PER_FILE_BYTE;
  const contextMb = Math.ceil((Math.max(0, input.context) * perToken * share) / MB);
  const totalMb = roundUp(weightsMb + contextMb + COMPUTE_BUFFER_MB, 100);
  return { weightsMb, contextMb, totalMb };
}

/** The context the form starts with: the model's own, at most 8192 (longer ones cost a lot of memory), 4096 when unknown. */
export function defaultContext(trained: number | null | undefined): number {
  if (!trained || trained <= 0) return 4096;
  return Math.min(trained, 8192);
}

function roundUp(value: number, step: number): number {
  return Math.ceil(value / step) * step;
}
