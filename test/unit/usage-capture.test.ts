import { describe, expect, it } from 'vitest';
import { quickModelOf, quickStreamInfo } from '../../src-main/core/router/json-model.js';
import { AnswerTail, generationSpeed, readUsage, TAIL_BYTES, UsageEventFilter, userAgentProduct, withIncludeUsage, withoutChunkLines } from '../../src-main/core/usage/capture.js';

describe('readUsage', () => {
  it('reads OpenAI, Anthropic and llama-server shapes, the last value winning', () => {
    expect(readUsage('{"usage":{"prompt_tokens":12,"completion_tokens":5,"total_tokens":17,"prompt_tokens_details":{"cached_tokens":8}}}')).toEqual({ promptTokens: 12, completionTokens: 5, cachedTokens: 8, enginePerSecond: null, timings: false });
    expect(readUsage('event: message_delta\ndata: {"usage":{"input_tokens":3,"cache_read_input_tokens":2,"output_tokens":9}}')).toMatchObject({ promptTokens: 3, completionTokens: 9, cachedTokens: 2 });
    // A stream's earlier "usage": null and a later figure: the later one.
    expect(readUsage('data: {"usage":null}\n\ndata: {"usage":{"prompt_tokens":1,"completion_tokens":2}}\n\n').completionTokens).toBe(2);
    // Timings alone (llama-server without include_usage): prompt = processed + cached.
    expect(readUsage('"timings":{"cache_n":5,"prompt_n":10,"predicted_n":7,"predicted_per_second":41.5}')).toEqual({ promptTokens: 15, completionTokens: 7, cachedTokens: 5, enginePerSecond: 41.5, timings: true });
  });

  it('text inside a JSON string never counts (its quotes are escaped)', () => {
    const tail = '{"choices":[{"message":{"content":"say \\"prompt_tokens\\": 999"}}],"usage":{"prompt_tokens":4,"completion_tokens":1}}';
    expect(readUsage(tail).promptTokens).toBe(4);
    expect(readUsage('{"content":"\\"completion_tokens\\": 5"}').completionTokens).toBeNull();
  });

  it('chunk lines taken out of a relayed tail join a field split across chunks', () => {
    const raw = 'a\r\ndata: {"usage":{"prompt_tokens":1\r\n5\r\n23,"completion_tokens":4}}\r\n0\r\n\r\n';
    expect(readUsage(withoutChunkLines(raw)).promptTokens).toBe(123);
  });
});

describe('UsageEventFilter', () => {
  const events = ['data: {"choices":[{"delta":{"content":"a"}}]}\n\n', 'data: {"choices":[],"usage":{"prompt_tokens":3}}\n\n', 'data: [DONE]\n\n'];
  const all = events.join('');

  it('drops only the usage event, whatever the pieces, every other byte as sent', () => {
    for (let cut = 1; cut < all.length; cut++) {
      for (const cut2 of [cut, Math.min(all.length, cut + 7)]) {
        const filter = new UsageEventFilter();
        const out = Buffer.concat([filter.feed(Buffer.from(all.slice(0, cut))), filter.feed(Buffer.from(all.slice(cut, cut2))), filter.feed(Buffer.from(all.slice(cut2))), filter.flush()]).toString();
        expect(out).toBe(events[0]! + events[2]!);
        expect(filter.dropped).toBe(events[1]);
      }
    }
  });

  it('CRLF events, and a stream whose usage event has choices: the client asked — nothing dropped', () => {
    const filter = new UsageEventFilter();
    const crlf = 'data: {"choices":[],"usage":{"prompt_tokens":1}}\r\n\r\ndata: [DONE]\r\n\r\n';
    expect(filter.feed(Buffer.from(crlf)).toString()).toBe('data: [DONE]\r\n\r\n');
    const other = new UsageEventFilter();
    const text = 'data: {"choices":[{"delta":{}}],"usage":{"prompt_tokens":1}}\n\n';
    expect(other.feed(Buffer.from(text)).toString()).toBe(text);
    // Mixed endings (a CRLF line, an LF blank line) still end an event.
    const mixed = new UsageEventFilter();
    expect(mixed.feed(Buffer.from('data: {"choices":[],"usage":{"prompt_tokens":1}}\r\n\ndata: {"a":1}\n\n')).toString()).toBe('data: {"a":1}\n\n');
    // CR-only line endings, and "usage" in an event that is not the usage one.
    const cr = new UsageEventFilter();
    expect(cr.feed(Buffer.from('data: {"choices":[{"delta":{"content":"\\"usage\\""}}]}\r\rdata: {"choices":[],"usage":{"prompt_tokens":1}}\r\rdata: [DONE]\r\r\n')).toString()).toBe(
      'data: {"choices":[{"delta":{"content":"\\"usage\\""}}]}\r\rdata: [DONE]\r\r\n',
    );
    expect(cr.dropped).toBe('data: {"choices":[],"usage":{"prompt_tokens":1}}\r\r');
    // An event never finished is passed on at the end.
    expect(other.feed(Buffer.from('data: {"x"')).toString()).toBe('');
    expect(other.flush().toString()).toBe('data: {"x"');
  });
});

describe('the request side', () => {
  it('reads the top-level "stream" and "stream_options" while finding the model', () => {
    const info = (body: string) => (quickModelOf(Buffer.from(body)) === undefined ? null : { ...quickStreamInfo });
    expect(info('{"model":"a","stream":true}')).toEqual({ stream: true, streamOptions: false });
    expect(info('{"stream":false,"model":"a"}')).toEqual({ stream: false, streamOptions: false });
    expect(info('{"model":"a","stream":true,"stream_options":{"include_usage":false}}')).toEqual({ stream: true, streamOptions: true });
    // Nested keys are not the request's.
    expect(info('{"model":"a","x":{"stream":true,"stream_options":1}}')).toEqual({ stream: false, streamOptions: false });
    expect(info('{"model":"a","stream":"true"}')).toEqual({ stream: false, streamOptions: false });
    // An escaped top-level key might spell either: left alone.
    expect(info('{"model":"a","stream":true,"strea\\u006d_options":null}')).toEqual({ stream: true, streamOptions: true });
  });

  it('adds include_usage as the first member, the rest as sent', () => {
    const body = Buffer.from('  {"model":"a", "stream":true}');
    const out = withIncludeUsage(body).toString();
    expect(out).toBe('  {"stream_options":{"include_usage":true},"model":"a", "stream":true}');
    expect(JSON.parse(out)).toEqual({ stream_options: { include_usage: true }, model: 'a', stream: true });
  });

  it('client names from User-Agent products', () => {
    expect(userAgentProduct('OpenAI/Python 1.51.0')).toBe('OpenAI/Python');
    expect(userAgentProduct('curl/8.5.0')).toBe('curl');
    expect(userAgentProduct(undefined)).toBe('');
    expect(userAgentProduct('x'.repeat(200))).toHaveLength(64);
  });
});

describe('tail and speed', () => {
  it('keeps at least the last TAIL_BYTES by reference', () => {
    const tail = new AnswerTail();
    for (let i = 0; i < 100; i++) tail.push(Buffer.alloc(1000, 0x61 + (i % 26)));
    tail.push(Buffer.from('END'));
    const text = tail.text();
    expect(text).toHaveLength(TAIL_BYTES);
    expect(text.endsWith('END')).toBe(true);
  });

  it("the engine's figure first, else completion tokens over generation time", () => {
    const usage = { promptTokens: 10, completionTokens: 20, cachedTokens: null, enginePerSecond: null, timings: false };
    expect(generationSpeed(usage, true, 100, 1100)).toBe(20);
    expect(generationSpeed(usage, false, 100, 1000)).toBe(20);
    expect(generationSpeed({ ...usage, enginePerSecond: 55.555 }, true, 1, 2)).toBe(55.56);
    expect(generationSpeed({ ...usage, completionTokens: 0 }, true, 1, 2)).toBeNull();
  });
});
