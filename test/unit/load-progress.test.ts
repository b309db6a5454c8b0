// A start's progress from the engine's own output (llama-server's dots and stages, vLLM's shard bars
// and milestones), the estimate from the last start's time, the SSE comment a waiting client reads,
// and the config keys of #16 items 4-5 with their file:line:col errors.
import { describe, expect, it } from 'vitest';
import { formatIssue, parseConfigText } from '../../src-shared/config.js';
import { LoadProgressReader, loadingInfo } from '../../src-main/core/models/load-progress.js';
import { loadingComment } from '../../src-main/core/router/loading-stream.js';

/** What the reader says after each chunk, as "percent stage" (or null before anything it knows). */
function trace(chunks: readonly (string | [string, string])[]): (string | null)[] {
  const reader = new LoadProgressReader();
  return chunks.map((c) => {
    const [stream, text] = typeof c === 'string' ? ['stderr', c] : c;
    reader.feed(stream, text);
    const p = reader.current;
    return p ? `${Math.round(p.fraction * 100)} ${p.stage}` : null;
  });
}

describe('engine load progress', () => {
  it('llama-server: stages, then a dot per percent while the weights load, written one at a time', () => {
    expect(
      trace([
        'build: 6000 (abc) with cc for x86_64-linux-gnu\n',
        'llama_model_loader: loaded meta data with 33 key-value pairs and 292 tensors from m.gguf (version GGUF V3 (latest))\n',
        'print_info: file type   = Q4_K - Medium\n',
        'load_tensors: loading model tensors, this can take a while... (mmap = true)\nload_tensors:   CPU_Mapped model buffer size =  4403.49 MiB\n',
        '.'.repeat(20),
        '.'.repeat(30),
        `${'.'.repeat(50)}\n`,
        'llama_context: constructing llama_context\n',
        'common_init_from_params: warming up the model with an empty run - please wait ... (--no-warmup to disable)\n',
        'main: model loaded\n',
      ]),
    ).toEqual([null, '2 reading the model', '2 reading the model', '5 loading weights', '22 loading weights', '48 loading weights', '90 loading weights', '92 allocating the context', '96 warming up', '99 ready soon']);
  });

  it('a line with dots in it is no progress, and progress never goes back', () => {
    expect(trace(['load_tensors: loading model tensors, this can take a while... (mmap = true)\n', 'size = 4.36 GiB ...\n', '.'.repeat(10), 'llama_model_loader: loaded meta data\n'])).toEqual([
      '5 loading weights',
      '5 loading weights',
      '14 loading weights',
      '14 loading weights',
    ]);
  });

  it('vLLM: the shard bar (redrawn with \\r or on new lines), then milestones', () => {
    expect(
      trace([
        'INFO 01-31 10:27:32 model_runner.py:1110] Starting to load model Qwen/Qwen2.5-7B...\n',
        'Loading safetensors checkpoint shards:   0% Completed | 0/4 [00:00<?, ?it/s]\r',
        'Loading safetensors checkpoint shards:  50% Completed | 2/4 [00:00<00:00,  2.90it/s]\r',
        'Loading safetensors checkpoint shards: 100% Completed | 4/4 [00:01<00:00,  3.22it/s]\n',
        '(EngineCore pid=1) INFO 08-26 22:26:02 [default_loader.py:384] Loading weights took 51.88 seconds\n',
        'INFO 04-03 14:16:17 gpu_executor.py:122] # GPU blocks: 4109, # CPU blocks: 512\n',
        'INFO 04-03 14:16:33 model_runner.py:1430] Graph capturing finished in 14 secs.\n',
        '(APIServer pid=1) INFO:     Application startup complete.\n',
      ]),
    ).toEqual(['3 loading weights', '5 loading weights', '30 loading weights', '55 loading weights', '55 weights loaded', '70 allocating the KV cache', '95 starting the server', '99 ready soon']);
  });

  it('keeps each stream\'s unfinished line apart', () => {
    expect(trace([['stdout', 'Loading safetensors checkpoint '], ['stderr', 'noise\n'], ['stdout', 'shards:  50% Completed | 1/2\n']])).toEqual([null, null, '30 loading weights']);
  });

  it.each([
    ['engine progress wins', { fraction: 0.42, stage: 'loading weights' }, 5000, 60_000, { fraction: 0.42, stage: 'loading weights', source: 'engine', elapsedMs: 5000, expectedMs: 60_000 }],
    ['else elapsed against the last start', null, 15_000, 60_000, { fraction: 0.25, stage: null, source: 'estimate', elapsedMs: 15_000, expectedMs: 60_000 }],
    ['an estimate stops at 99 % until ready', null, 90_000, 60_000, { fraction: 0.99, stage: null, source: 'estimate', elapsedMs: 90_000, expectedMs: 60_000 }],
    ['neither: only the time', null, 3000, null, { fraction: null, stage: null, source: null, elapsedMs: 3000, expectedMs: null }],
  ] as const)('%s', (_name, engine, elapsed, expected, result) => {
    expect(loadingInfo(engine, 1000, 1000 + elapsed, expected)).toEqual(result);
  });

  it.each([
    [{ fraction: 0.427, stage: 'loading weights', source: 'engine', elapsedMs: 4000, expectedMs: null }, 'loading qwen 42% (loading weights)'],
    [{ fraction: 0.5, stage: null, source: 'estimate', elapsedMs: 4000, expectedMs: 8000 }, 'loading qwen 50%'],
    [{ fraction: null, stage: null, source: null, elapsedMs: 12_400, expectedMs: null }, 'loading qwen 12 s'],
  ] as const)('the SSE comment: %j', (loading, line) => {
    expect(loadingComment({ name: 'qwen', state: 'starting', loading })).toBe(line);
  });
});

describe('config: keep, resident, priority, exclusive_group, loading_stream', () => {
  const text = (program: string, model: string) =>
    `program:\n  port: 8080\n${program}Local-Models:\n  qwen:\n    port: 10001\n${model}    Default:\n      command: llama-server\n`;

  it('reads them; absent keys leave the model as it was', () => {
    const on = parseConfigText(text('  loading_stream: true\n', '    keep: true\n    resident: true\n    priority: 5\n    exclusive_group: big-gpu\n'));
    expect(on.ok && on.config.models[0]).toMatchObject({ keep: true, resident: true, priority: 5, exclusiveGroup: 'big-gpu', loadingStream: true });
    expect(on.ok && on.config.program.loadingStream).toBe(true);
    const off = parseConfigText(text('', ''));
    expect(off.ok && Object.keys(off.config.models[0]!).filter((k) => ['keep', 'resident', 'priority', 'exclusiveGroup', 'loadingStream'].includes(k))).toEqual([]);
    // A model's own loading_stream wins over the program's.
    const declined = parseConfigText(text('  loading_stream: true\n', '    loading_stream: false\n'));
    expect(declined.ok && declined.config.models[0]!.loadingStream).toBeUndefined();
  });

  it('names file:line:col and the key for a wrong value', () => {
    const result = parseConfigText(text('  loading_stream: "yes"\n', '    keep: 1\n    priority: high\n    exclusive_group: ""\n'));
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors.map((e) => formatIssue('config.yaml', e))).toEqual([
      'config.yaml:3:19 program.loading_stream: expected true or false, got "yes"',
      'config.yaml:7:11 Local-Models.qwen.keep: expected true or false, got 1',
      'config.yaml:8:15 Local-Models.qwen.priority: expected a number (higher stays longer when memory is short), got "high"',
      'config.yaml:9:22 Local-Models.qwen.exclusive_group: expected a group name, e.g. "big-gpu", got ""',
    ]);
  });
});
