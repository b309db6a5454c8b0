// The Chat page without a browser: a model's Markdown as HTML (never the model's own markup), and
// the conversation: one per model, regenerate, what the model is sent, errors as sentences.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { renderMarkdown, splitBlocks } from '../../src-renderer/pages/chat/markdown.js';
import type { ChatMessage, StreamChat } from '../../src-renderer/pages/chat/chat-types.js';
import * as session from '../../src-renderer/pages/chat/session.js';
import { errorText, sentence } from '../../src-renderer/lib/toasts.js';

const { chatSettings, chatTurns, earlierConversation } = session;

// The endpoint is stood in for: each call answers with the next scripted reply.
type Reply = { pieces: string[]; fail?: Error; hang?: boolean };
const replies: Reply[] = [];
const sent: { model: string; messages: ChatMessage[] }[] = [];
const stream: StreamChat = async (request, onDelta, signal) => {
  sent.push({ model: request.model, messages: request.messages });
  const reply = replies.shift() ?? { pieces: ['ok'] };
  for (const piece of reply.pieces) onDelta(piece);
  if (reply.hang) {
    await new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError'))));
  }
  if (reply.fail) throw reply.fail;
  return { finishReason: 'stop', completionTokens: reply.pieces.length, chunks: reply.pieces.length };
};

describe('an answer as Markdown', () => {
  it('renders emphasis, lists, tables and code blocks with a Copy button and their language', () => {
    const html = renderMarkdown('**bold** and `x < y`\n\n- one\n- two\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n```ts\nconst s = "<b>";\n```\n');
    expect(html).toContain('<strong>bold</strong>');
    expect(html).toContain('<code>x &lt; y</code>');
    expect(html).toContain('<li>one</li>');
    expect(html).toContain('<div class="table-scroll"><table>');
    expect(html).toContain('<span class="code-lang">ts</span>');
    expect(html).toContain('data-copy-code');
    expect(html).toContain('<code class="language-ts">const s = &quot;&lt;b&gt;&quot;;\n</code>');
  });

  it('never lets the model\'s own HTML through: tags, handlers and scripts are text', () => {
    for (const evil of ['<img src=x onerror="alert(1)">', '<script>alert(1)</script>', '<iframe src="https://example.com"></iframe>', '<div onclick="x()">\nblock\n</div>', '<a href="javascript:alert(1)">a</a>']) {
      const html = renderMarkdown(`Look: ${evil}`);
      expect(html).not.toMatch(/<(img|script|iframe|div onclick|a href="javascript)/i);
      expect(html).toContain('&lt;');
    }
    // A code fence's language can't break out of its attribute either.
    expect(renderMarkdown('```"><img src=x onerror=alert(1)>\nx\n```')).not.toContain('<img');
  });

  it('keeps links safe and outside the window, and shows no images', () => {
    const html = renderMarkdown('[ok](https://example.com) [bad](javascript:alert(1)) [data](data:text/html,<b>x</b>) ![pic](https://tracker.example/p.png)');
    expect(html).toContain('<a href="https://example.com" target="_blank" rel="noopener noreferrer nofollow">ok</a>');
    expect(html).not.toContain('href="javascript:');
    expect(html).not.toContain('href="data:');
    expect(html).not.toContain('<img');
  });

  it('renders a half-streamed answer (an open code fence) without throwing', () => {
    expect(renderMarkdown('Here:\n\n```py\nprint(1)')).toContain('<code class="language-py">print(1)</code>');
  });

  it('cuts a text into runs of whole blocks that render as the whole text does', () => {
    const texts = [
      '# T\n\nPara one\nline two\n\n- a\n- b\n\n- c\n\n1. x\n\n2. y\n\nAfter',
      '```js\nconst a = 1;\n\n\nconst b = 2;\n```\n\nText\n\n~~~\n```\n\nstill code\n~~~\n\nout',
      '    indented\n\n    more\n\nthen\n\n> quote\n\n> another\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n---\n\n***bold***',
      '- item\n\n  continued in the item\n\n  ```\n  code\n\n  more\n  ```\n\nnext',
      'no blank lines at all\njust text',
      '',
      '\n\n\nlead',
    ];
    for (const text of texts) {
      const blocks = splitBlocks(text);
      expect(blocks.join('')).toBe(text);
      expect(blocks.map(renderMarkdown).join('')).toBe(renderMarkdown(text));
    }
    expect(splitBlocks('# T\n\nPara\n\n```\na\n\nb\n```\n\nEnd')).toEqual(['# T\n\n', 'Para\n\n', '```\na\n\nb\n```\n\n', 'End']);
  });

  it('keeps each update of a long streaming answer cheap: only its last block is parsed again', () => {
    const block = '## Part\n\nSome *text* with `code` and a [link](https://example.com).\n\n```js\nconst x = 1;\n```\n\n- a\n- b\n\n';
    const long = block.repeat(200); // ~20 KB, a long answer
    renderMarkdown(long);
    const t0 = performance.now();
    for (let i = 0; i < 20; i++) renderMarkdown(splitBlocks(`${long}The last para${'graph'.repeat(i)}`).at(-1)!);
    expect((performance.now() - t0) / 20).toBeLessThan(2);
  });
});

describe('error text', () => {
  it('ends sentences with a full stop, once', () => {
    expect(sentence('cancelled: stop requested')).toBe('cancelled: stop requested.');
    expect(sentence('broken exited before it was ready (exit code 1)')).toBe('broken exited before it was ready (exit code 1).');
    expect(sentence('Is LLM Manager still running?')).toBe('Is LLM Manager still running?');
    expect(sentence('Done.')).toBe('Done.');
    expect(sentence('trailing colon:')).toBe('trailing colon.');
    expect(errorText(new Error('first line\nlast log lines:\nmore'))).toBe('first line.');
    expect(errorText('nothing')).toBe('Something went wrong.');
  });
});

describe('the conversation', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    replies.length = 0;
    sent.length = 0;
    session.clearConversation();
    chatSettings.set({ model: 'alpha', system: '', temperature: 0.7 });
  });
  afterEach(() => vi.useRealTimers());

  const shown = () => chatTurns.get().map((t) => `${t.role}:${t.status}:${t.content}`);

  it('sends each question with the earlier answers, and keeps the turns it did not change as they were', async () => {
    replies.push({ pieces: ['Hi', ' there'] });
    await session.sendMessage('hello', false, stream);
    const first = chatTurns.get();
    replies.push({ pieces: ['Second'] });
    await session.sendMessage('again', false, stream);
    expect(shown()).toEqual(['user:done:hello', 'assistant:done:Hi there', 'user:done:again', 'assistant:done:Second']);
    expect(sent[1]!.messages).toEqual([
      { role: 'user', content: 'hello' },
      { role: 'assistant', content: 'Hi there' },
      { role: 'user', content: 'again' },
    ]);
    // The earlier turns are the same objects: the page doesn't re-render (or re-parse) them.
    expect(chatTurns.get()[0]).toBe(first[0]);
    expect(chatTurns.get()[1]).toBe(first[1]);
  });

  it('regenerates the last answer: the same question again, the old answer replaced', async () => {
    replies.push({ pieces: ['one'] }, { pieces: ['two'] });
    await session.sendMessage('q', false, stream);
    await session.regenerate(false, stream);
    expect(shown()).toEqual(['user:done:q', 'assistant:done:two']);
    expect(sent[1]!.messages).toEqual([{ role: 'user', content: 'q' }]);
  });

  it('leaves a question that got no answer out of what the model is sent next', async () => {
    replies.push({ pieces: [], fail: new Error('broken exited before it was ready (exit code 1)\nlast log lines:\nerror: x') });
    await session.sendMessage('first', false, stream);
    expect(chatTurns.get()[1]).toMatchObject({ status: 'error', error: 'broken exited before it was ready (exit code 1).' });
    await session.sendMessage('second', false, stream);
    expect(sent[1]!.messages).toEqual([{ role: 'user', content: 'second' }]);
  });

  it('stopped before the first token: no time to first token, nothing sent on as history', async () => {
    replies.push({ pieces: [], hang: true });
    const answering = session.sendMessage('slow', true, stream);
    expect(session.isStreaming()).toBe(true);
    session.stopStreaming();
    await answering;
    expect(chatTurns.get()[1]).toMatchObject({ status: 'stopped', ttftMs: null, content: '', coldStart: true });
    await session.sendMessage('next', false, stream);
    expect(sent[1]!.messages).toEqual([{ role: 'user', content: 'next' }]);
  });

  it('starts a new conversation when another model is picked, and can continue the last one with it instead', async () => {
    replies.push({ pieces: ['from alpha'] });
    await session.sendMessage('q1', false, stream);
    const before = chatTurns.get();
    session.switchModel('beta');
    expect(chatSettings.get().model).toBe('beta');
    expect(chatTurns.get()).toEqual([]);
    expect(earlierConversation.get()).toEqual({ model: 'alpha', turns: before });
    session.continueEarlier();
    expect(chatTurns.get()).toBe(before);
    expect(earlierConversation.get()).toBeNull();
    replies.push({ pieces: ['from beta'] });
    await session.sendMessage('q2', false, stream);
    expect(sent[1]).toEqual({ model: 'beta', messages: [{ role: 'user', content: 'q1' }, { role: 'assistant', content: 'from alpha' }, { role: 'user', content: 'q2' }] });
    expect(chatTurns.get().map((t) => t.model ?? null)).toEqual([null, 'alpha', null, 'beta']);
  });

  it('a message in the new conversation drops the offer to continue the last one; an empty one leaves nothing to continue', async () => {
    replies.push({ pieces: ['a'] });
    await session.sendMessage('q', false, stream);
    session.switchModel('beta');
    await session.sendMessage('fresh', false, stream);
    expect(earlierConversation.get()).toBeNull();
    session.clearConversation();
    session.switchModel('alpha');
    expect(earlierConversation.get()).toBeNull();
  });

  it("doesn't switch models mid-answer", async () => {
    replies.push({ pieces: ['x'], hang: true });
    const answering = session.sendMessage('q', false, stream);
    session.switchModel('beta');
    expect(chatSettings.get().model).toBe('alpha');
    session.stopStreaming();
    await answering;
  });

  it('shows streamed text at most once a frame, and all of it at the end', async () => {
    const seen: string[] = [];
    const off = chatTurns.subscribe(() => {
      const last = chatTurns.get().at(-1);
      if (last?.role === 'assistant') seen.push(last.content);
    });
    replies.push({ pieces: ['a', 'b', 'c', 'd'], hang: true });
    const answering = session.sendMessage('q', false, stream);
    await vi.advanceTimersByTimeAsync(20);
    session.stopStreaming();
    await answering;
    off();
    // Four deltas in one frame: one update with all of them (plus the turn's creation and its end).
    expect(seen.filter((c) => c !== '')).toEqual(['abcd', 'abcd', 'abcd']);
  });
});
