import { describe, expect, it } from 'vitest';
import type { LogLine } from '../../src-shared/contract.js';
import { foldRepeats } from '../../src-renderer/pages/logs/fold.js';

const line = (seq: number, text: string, stream: LogLine['stream'] = 'stdout'): LogLine => ({ seq, ts: seq * 10, stream, text });

describe('foldRepeats', () => {
  it('shows a run of one probe line once, with its count and the last time; other lines stay as they are, repeated or not', () => {
    const lines = [
      line(1, 'loading model'),
      ...Array.from({ length: 17 }, (_, i) => line(2 + i, 'demo-engine: GET /health 503')),
      line(19, 'server is listening'),
      line(20, 'demo-engine: GET /health 200'),
      line(21, 'demo-engine: GET /health 200'),
      line(22, 'demo-engine: GET /health 200', 'stderr'),
      line(23, 'demo-engine: POST /v1/chat/completions 200'),
      line(24, 'demo-engine: POST /v1/chat/completions 200'),
    ];
    const shown = foldRepeats(lines);
    expect(shown.map((l) => [l.text, l.repeat, l.seq])).toEqual([
      ['loading model', 1, 1],
      ['demo-engine: GET /health 503', 17, 18],
      ['server is listening', 1, 19],
      ['demo-engine: GET /health 200', 2, 21],
      ['demo-engine: GET /health 200', 1, 22],
      ['demo-engine: POST /v1/chat/completions 200', 1, 23],
      ['demo-engine: POST /v1/chat/completions 200', 1, 24],
    ]);
  });

  it('folds access-log lines that differ only in the client address', () => {
    const shown = foldRepeats([
      line(1, 'INFO:     127.0.0.1:51234 - "GET /health HTTP/1.1" 200 OK'),
      line(2, 'INFO:     127.0.0.1:51240 - "GET /health HTTP/1.1" 200 OK'),
      line(3, 'INFO:     127.0.0.1:51250 - "POST /v1/chat/completions HTTP/1.1" 200 OK'),
    ]);
    expect(shown.map((l) => l.repeat)).toEqual([2, 1]);
  });
});
