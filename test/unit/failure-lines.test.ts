import { describe, expect, it } from 'vitest';
import type { LogLine } from '../../src-shared/contract.js';
import { failureLines } from '../../src-main/core/models/failure-lines.js';
import { isProbeLine } from '../../src-shared/probe-lines.js';

const PATHS = ['/health', '/v1/models'];

describe('isProbeLine', () => {
  it.each([
    ['GET /health 503', true],
    ['srv  log_server_r: request: GET /health 127.0.0.1 503', true],
    ['INFO:     127.0.0.1:51234 - "GET /health HTTP/1.1" 200 OK', true],
    ['GET /v1/models 200', true],
    ['HEAD /health 200', true],
    ['POST /v1/chat/completions 200', false],
    ['GET /healthz 200', false],
    ['error: cannot open /health/model.gguf', false],
    ['loading model from /models/health.gguf', false],
  ])('%s → %s', (text, probe) => {
    expect(isProbeLine(text, PATHS)).toBe(probe);
  });
});

describe('failureLines', () => {
  const line = (seq: number, text: string, stream: LogLine['stream'] = 'stderr'): LogLine => ({ seq, ts: seq, stream, text });
  it("keeps this run's lines only, leaves probe lines out, and picks the last error-looking lines", () => {
    const lines = [
      line(1, 'previous run: all good'),
      line(2, 'previous run: error: an old failure'),
      line(3, 'starting x', 'system'),
      line(4, 'loading model /m/x.gguf'),
      line(5, 'error: unknown model architecture: qwen9'),
      ...Array.from({ length: 30 }, (_, i) => line(6 + i, 'GET /health 503')),
      line(40, 'llama_model_load: failed to load model'),
      line(41, 'exiting'),
      line(42, 'process 1234 exited (exit code 1)', 'system'),
    ];
    const out = failureLines(lines, 3, PATHS, 20);
    expect(out.tail).toEqual(['loading model /m/x.gguf', 'error: unknown model architecture: qwen9', 'llama_model_load: failed to load model', 'exiting']);
    expect(out.errors).toEqual(['error: unknown model architecture: qwen9', 'llama_model_load: failed to load model']);
  });

  it('keeps at most `max` lines and three error lines, the latest', () => {
    const lines = Array.from({ length: 50 }, (_, i) => line(i + 1, `error ${i}`));
    const out = failureLines(lines, 0, PATHS, 5);
    expect(out.tail).toEqual(['error 45', 'error 46', 'error 47', 'error 48', 'error 49']);
    expect(out.errors).toEqual(['error 47', 'error 48', 'error 49']);
  });
});
