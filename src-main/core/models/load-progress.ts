// How far an engine's start has come, from what its own log says: llama-server prints up to 100
// dots while it reads its weights (one per percent) and names each stage before it listens;
// vLLM prints tqdm bars ("Loading safetensors checkpoint shards:  56% Completed | 5/9") and a
// line per milestone ("Loading weights took", "Graph capturing finished"). Each recognised line
// moves the fraction forward, never back. Engines that say none of this are estimated elsewhere
// (elapsed time against the last start, supervisor.ts).

export interface EngineProgress {
  /** 0..1 of the whole start. */
  fraction: number;
  /** What the engine is doing now, in a few words. */
  stage: string;
}

interface Milestone {
  test: RegExp;
  fraction: number;
  stage: string;
}

// Fractions are rough shares of a typical start's time: reading weights dominates llama.cpp's;
// vLLM spends a good part after its weights on profiling and CUDA graphs.
const MILESTONES: readonly Milestone[] = [
  // llama.cpp (llama-server, and llama.cpp's loader in other programs)
  { test: /llama_model_loader: loaded meta data/, fraction: 0.02, stage: 'reading the model' },
  { test: /load_tensors: loading model tensors|llm_load_tensors:/, fraction: 0.05, stage: 'loading weights' },
  { test: /llama_context: constructing llama_context|llama_new_context_with_model:|llama_init_from_model:/, fraction: 0.92, stage: 'allocating the context' },
  { test: /warming up the model/, fraction: 0.96, stage: 'warming up' },
  { test: /main: model loaded|server is listening on/, fraction: 0.99, stage: 'ready soon' },
  // vLLM
  { test: /Starting to load model/, fraction: 0.03, stage: 'loading weights' },
  { test: /Loading (?:model )?weights took|Model loading took/, fraction: 0.55, stage: 'weights loaded' },
  { test: /Memory profiling takes/, fraction: 0.65, stage: 'profiling memory' },
  { test: /# GPU blocks:|GPU KV cache size:/, fraction: 0.7, stage: 'allocating the KV cache' },
  { test: /Graph capturing finished|init engine .* took/, fraction: 0.95, stage: 'starting the server' },
  { test: /Starting vLLM API server|Application startup complete/, fraction: 0.99, stage: 'ready soon' },
];

/** tqdm bars with a percentage: what they load and which share of the start they cover. */
const BARS: readonly { test: RegExp; from: number; to: number; stage: string }[] = [
  { test: /Loading \w*(?:safetensors|pt|bin) checkpoint shards:\s+(\d{1,3})%/, from: 0.05, to: 0.55, stage: 'loading weights' },
  { test: /Capturing CUDA graph[^:]*:\s+(\d{1,3})%/i, from: 0.7, to: 0.95, stage: 'capturing CUDA graphs' },
];

/** llama.cpp prints this many dots while loading (one per percent). */
const DOTS = 100;
/** The share of the start llama.cpp's dots cover (after 'loading weights' at 0.05). */
const DOTS_FROM = 0.05;
const DOTS_TO = 0.9;
/** A partial line longer than this is no progress line; it is dropped to keep memory bounded. */
const MAX_PARTIAL = 4096;

/** Reads one engine start's output, chunk by chunk, per stream. */
export class LoadProgressReader {
  private progress: EngineProgress | null = null;
  private readonly partial = new Map<string, string>();

  get current(): EngineProgress | null {
    return this.progress;
  }

  /** Feeds raw output; true when the progress moved (or its stage changed). */
  feed(stream: string, chunk: string): boolean {
    const before = this.progress;
    let text = (this.partial.get(stream) ?? '') + chunk;
    // tqdm redraws its bar with \r; a line ends at either.
    let start = 0;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === 10 || c === 13) {
        if (i > start) this.line(text.slice(start, i));
        start = i + 1;
      }
    }
    text = text.slice(start);
    if (text.length > MAX_PARTIAL) text = '';
    this.partial.set(stream, text);
    // llama.cpp's dots come one write at a time, on a line of their own that ends only at 100 %.
    if (text.length > 0 && /^\.+$/.test(text)) this.dots(text.length);
    return this.progress !== before;
  }

  private line(text: string): void {
    if (/^\.+$/.test(text)) return this.dots(text.length);
    for (const bar of BARS) {
      const m = bar.test.exec(text);
      if (m) return this.advance(bar.from + ((bar.to - bar.from) * Math.min(100, Number(m[1]))) / 100, bar.stage);
    }
    for (const milestone of MILESTONES) {
      if (milestone.test.test(text)) return this.advance(milestone.fraction, milestone.stage);
    }
  }

  private dots(count: number): void {
    this.advance(DOTS_FROM + ((DOTS_TO - DOTS_FROM) * Math.min(DOTS, count)) / DOTS, 'loading weights');
  }

  private advance(fraction: number, stage: string): void {
    if (this.progress && (fraction < this.progress.fraction || (fraction === this.progress.fraction && stage === this.progress.stage))) return;
    this.progress = { fraction, stage };
  }
}

/**
 * The start's progress as the window shows it: the engine's own word when it gave one, else the
 * time since the start against how long the last successful start took (at most 99 % until
 * ready), else only the time.
 */
export function loadingInfo(engine: EngineProgress | null, startedAt: number, now: number, expectedMs: number | null) {
  const elapsedMs = Math.max(0, now - startedAt);
  if (engine) return { fraction: engine.fraction, stage: engine.stage, source: 'engine' as const, elapsedMs, expectedMs };
  if (expectedMs !== null && expectedMs > 0) return { fraction: Math.min(0.99, elapsedMs / expectedMs), stage: null, source: 'estimate' as const, elapsedMs, expectedMs };
  return { fraction: null, stage: null, source: null, elapsedMs, expectedMs };
}
