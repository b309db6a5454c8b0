// The window's SSE reader (it replaced EventSource so that a browser can send an API key).
import { describe, expect, it } from 'vitest';
import { readSse, SseParser, type SseMessage } from '../../src-renderer/lib/sse.js';

const STREAM = [
  ': connected',
  '',
  'id: 7',
  'event: model',
  'data: {"a":1}',
  '',
  ': ping',
  '',
  'data: line one',
  'data:  two, with a space kept',
  'data',
  '',
  'event: log',
  '',
  'data: [DONE]',
  '',
  '',
].join('\n');

const EXPECTED: SseMessage[] = [
  { event: 'model', data: '{"a":1}', id: '7' },
  { event: 'message', data: 'line one\n two, with a space kept\n', id: '7' },
  // "event: log" with no data dispatches nothing, and its name doesn't leak into the next message.
  { event: 'message', data: '[DONE]', id: '7' },
];

function parseIn(pieces: string[]): SseMessage[] {
  const parser = new SseParser();
  return pieces.flatMap((p) => parser.push(p));
}

describe('SseParser', () => {
  it('reads fields, comments, multi-line data and the default event name', () => {
    expect(parseIn([STREAM])).toEqual(EXPECTED);
  });

  it('gives the same messages however the text is cut', () => {
    expect(parseIn([...STREAM])).toEqual(EXPECTED);
    for (let cut = 1; cut < STREAM.length; cut += 7) expect(parseIn([STREAM.slice(0, cut), STREAM.slice(cut)])).toEqual(EXPECTED);
  });

  it('takes CRLF and lone CR line ends, a CRLF cut between its two characters included', () => {
    const crlf = STREAM.replaceAll('\n', '\r\n');
    expect(parseIn([crlf])).toEqual(EXPECTED);
    expect(parseIn([...crlf])).toEqual(EXPECTED);
    expect(parseIn([STREAM.replaceAll('\n', '\r')])).toEqual(EXPECTED);
    // "a\r" then "\nb": one line end, so both data lines belong to one message.
    expect(parseIn(['data: a\r', '\ndata: b\r\n\r\n'])).toEqual([{ event: 'message', data: 'a\nb', id: null }]);
  });

  it('keeps an unfinished message until its blank line arrives', () => {
    const parser = new SseParser();
    expect(parser.push('event: log\ndata: half')).toEqual([]);
    expect(parser.push('\n')).toEqual([]);
    expect(parser.push('\n')).toEqual([{ event: 'log', data: 'half', id: null }]);
  });
});

describe('readSse', () => {
  const body = (chunks: Uint8Array[]) =>
    new ReadableStream<Uint8Array>({
      start(controller) {
        for (const c of chunks) controller.enqueue(c);
        controller.close();
      },
    });

  it('decodes UTF-8 cut inside a character and stops when told', async () => {
    const bytes = new TextEncoder().encode('data: grüße 🙂\n\ndata: second\n\ndata: never read\n\n');
    const chunks = [...bytes].map((b) => Uint8Array.of(b));
    const seen: string[] = [];
    await readSse(body(chunks), (m) => {
      seen.push(m.data);
      return m.data === 'second' ? 'stop' : undefined;
    });
    expect(seen).toEqual(['grüße 🙂', 'second']);
  });
});
