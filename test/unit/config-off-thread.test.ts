// A large config text is parsed in a worker thread (issue #12, item 4): the event loop keeps
// turning meanwhile, a parse over the time limit is refused, and small texts stay in place.
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src-shared/config.js';
import { OFF_THREAD_ABOVE, parseConfigOffThread } from '../../src-main/core/config/parse-off-thread.js';

/** A valid config of about `kb` KB: one model and many comment-free unknown keys (warnings). */
function largeConfig(kb: number): string {
  let text = 'program:\n  port: 8080\nLocal-Models:\n  demo:\n    port: 10001\n    P:\n      command: node\n';
  for (let i = 0; text.length < kb * 1024; i++) text += `extra_${i}: some value ${i}\n`;
  return text;
}

/** Runs `work` while a 5 ms interval ticks; returns its value and how many ticks ran before it settled. */
async function ticksDuring<T>(work: () => Promise<T>): Promise<{ value: T; ticks: number }> {
  let ticks = 0;
  const interval = setInterval(() => (ticks += 1), 5);
  try {
    const value = await work();
    return { value, ticks };
  } finally {
    clearInterval(interval);
  }
}

describe('parseConfigOffThread', () => {
  it('parses a small text in place, as parseConfigText does', async () => {
    const text = 'Local-Models: {}\n';
    expect(text.length).toBeLessThan(OFF_THREAD_ABOVE);
    expect(await parseConfigOffThread(text)).toEqual({ result: parseConfigText(text), where: 'inline' });
  });

  it('parses a 200 KB text in a worker while the event loop keeps running', async () => {
    const text = largeConfig(200);
    const { value, ticks } = await ticksDuring(() => parseConfigOffThread(text, { fileName: 'big.yaml' }));
    expect(value.where).toBe('worker');
    expect(value.result).toEqual(parseConfigText(text, 'big.yaml'));
    expect(value.result.ok && value.result.config.models.map((m) => m.name)).toEqual(['demo']);
    // A parse on this thread would have let no tick run before it returned.
    expect(ticks).toBeGreaterThan(0);
  });

  it('refuses a text whose parse takes longer than the limit, and stops the worker', async () => {
    const { result, where } = await parseConfigOffThread(largeConfig(200), { timeLimitMs: 1 });
    expect(where).toBe('worker');
    expect(result).toEqual({
      ok: false,
      errors: [{ severity: 'error', path: '', message: 'the config took too long to parse (over 1 ms); it was not read', line: 1, col: 1, from: 0, to: 0, limit: 'time' }],
      warnings: [],
    });
  });

  it('answers the hostile texts from the worker with the same issues', async () => {
    const bomb = `${'# padding\n'.repeat(2000)}a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n`;
    const parsed = await parseConfigOffThread(bomb);
    expect(parsed.where).toBe('worker');
    expect(!parsed.result.ok && parsed.result.errors[0]).toMatchObject({ limit: 'aliases', line: 2002 });
  });
});
