// The Chat page with a model that answers Markdown (the demo engine with --echo repeats the
// message it gets): Markdown and code blocks drawn, the model's own HTML shown as text, copy and
// regenerate, one conversation per model, states in the picker, errors as sentences, and a
// stream that redraws only what changed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Locator, Page } from 'playwright-core';
import { closeEvery } from '../helpers/processes.js';
import { openBrowser, startE2eNode, type E2eBrowser, type E2eNode } from './fixture.js';

let node: E2eNode;
let ui: E2eBrowser;
let page: Page;

const answers = (): Locator => page.getByTestId('assistant-turn');
const lastAnswer = (): Locator => answers().last();
const clipboard = () => page.evaluate('navigator.clipboard.readText()') as Promise<string>;

async function send(text: string): Promise<void> {
  await page.getByTestId('chat-input').fill(text);
  await page.getByTestId('chat-send').click();
}

async function answered(): Promise<void> {
  await expect.poll(() => lastAnswer().getAttribute('data-status'), { timeout: 15_000 }).not.toBe('streaming');
}

// What a model might answer: Markdown, and HTML that must never become markup.
const MARKDOWN = [
  'Here is **bold**, *emphasis* and `inline code`.',
  '',
  'Beware <img src=x onerror="window.__xss = 1"> and <script>window.__xss = 2</script> here.',
  '',
  '```js',
  'const answer = 42;',
  'console.log("<b>not bold</b>");',
  '```',
  '',
  '- first point',
  '- second point',
  '',
  '| Model | Speed |',
  '| --- | --- |',
  '| demo | fast |',
  '',
  'See [the docs](https://example.com/docs).',
].join('\n');

describe('the Chat page', () => {
  beforeAll(async () => {
    node = await startE2eNode({ demoFlags: ['--echo', '--stream-delay-ms', '15'] });
    ui = await openBrowser();
    page = ui.page;
    await ui.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: node.url });
    await page.goto(`${node.url}/#/chat`);
    await page.getByTestId('model-picker').waitFor();
  });

  afterAll(() => closeEvery([ui, node].filter((f) => f !== undefined)));

  it("shows each model's state in the picker", async () => {
    const picker = page.getByTestId('model-picker');
    expect(await picker.locator('option').allTextContents()).toEqual(['demo — stopped', 'broken — stopped']);
    expect(await page.locator('.picker').textContent()).toContain('starts on the first message');
  });

  it("renders an answer's Markdown, with the model's own HTML as text", async () => {
    await send(MARKDOWN);
    await answered();
    const answer = lastAnswer().getByTestId('answer');
    expect(await lastAnswer().getAttribute('data-status')).toBe('done');
    expect(await answer.locator('strong').textContent()).toBe('bold');
    expect(await answer.locator('em').textContent()).toBe('emphasis');
    expect(await answer.locator('p code').textContent()).toBe('inline code');
    expect(await answer.locator('li').allTextContents()).toEqual(['first point', 'second point']);
    expect(await answer.locator('table td').allTextContents()).toEqual(['demo', 'fast']);
    const link = answer.locator('a', { hasText: 'the docs' });
    expect(await link.getAttribute('href')).toBe('https://example.com/docs');
    expect(await link.getAttribute('target')).toBe('_blank');
    // The HTML in the answer is text on the page: no element, no handler run.
    expect(await answer.locator('img, script').count()).toBe(0);
    expect(await answer.textContent()).toContain('Beware <img src=x onerror="window.__xss = 1"> and <script>window.__xss = 2</script> here.');
    expect(await page.evaluate('window.__xss')).toBeUndefined();
    // A code block: its language, its code as text, and a Copy button.
    const code = answer.locator('.code-block');
    expect(await code.locator('.code-lang').textContent()).toBe('js');
    expect(await code.locator('code').textContent()).toBe('const answer = 42;\nconsole.log("<b>not bold</b>");\n');
    expect(await code.locator('b').count()).toBe(0);
    // The question stays plain text as typed.
    expect(await page.getByTestId('user-turn').locator('.bubble').textContent()).toBe(MARKDOWN);
    expect(await lastAnswer().getByTestId('turn-metrics').textContent()).toMatch(/tok\/s · first token \d+ ms( \(includes starting the model\))? · \d+ tokens/);
    await page.mouse.move(0, 0);
    await ui.screenshot('chat-markdown');
  });

  it('copies a code block, and a whole answer as the Markdown it was', async () => {
    const copy = lastAnswer().locator('.code-block .code-copy');
    await copy.click();
    await expect.poll(() => copy.textContent()).toBe('Copied');
    expect(await clipboard()).toBe('const answer = 42;\nconsole.log("<b>not bold</b>");\n');
    await lastAnswer().getByRole('button', { name: 'Copy message' }).click();
    await expect.poll(clipboard).toBe(MARKDOWN);
  });

  it('regenerates the last answer in place', async () => {
    expect(await answers().count()).toBe(1);
    const regenerate = lastAnswer().getByTestId('regenerate');
    expect(await regenerate.textContent()).toBe('Regenerate');
    await regenerate.click();
    await expect.poll(() => lastAnswer().getAttribute('data-status')).toBe('streaming');
    await answered();
    expect(await answers().count()).toBe(1);
    expect(await page.getByTestId('user-turn').count()).toBe(1);
    expect(await lastAnswer().getAttribute('data-status')).toBe('done');
    expect(await lastAnswer().locator('strong').textContent()).toBe('bold');
  });

  it('redraws only the block being written while an answer streams; finished messages stay untouched', async () => {
    const long = Array.from({ length: 30 }, (_, i) => `Paragraph ${i} with **some** words to stream one by one.\n\n\`\`\`\nblock ${i}\n\`\`\``).join('\n\n');
    // Mark the finished answer's nodes and watch it, and the first block of the new one, for changes.
    await page.evaluate(`(() => {
      const done = document.querySelector('[data-testid="assistant-turn"] .markdown');
      window.__finishedChanges = 0;
      new MutationObserver((records) => (window.__finishedChanges += records.length)).observe(done, { subtree: true, childList: true, characterData: true, attributes: true });
    })()`);
    await send(long);
    const streaming = lastAnswer();
    await expect.poll(() => streaming.locator('.md-blocks').count(), { timeout: 10_000 }).toBeGreaterThan(3);
    await page.evaluate(`document.querySelectorAll('[data-testid="assistant-turn"]')[1].querySelector('.md-blocks').__first = true`);
    await answered();
    expect(await streaming.locator('.md-blocks').count()).toBeGreaterThan(30);
    // The new answer's first block is the same element it was mid-stream: not parsed and drawn again.
    expect(await page.evaluate(`document.querySelectorAll('[data-testid="assistant-turn"]')[1].querySelector('.md-blocks').__first === true`)).toBe(true);
    expect(await page.evaluate('window.__finishedChanges')).toBe(0);
    expect(await streaming.locator('.code-block').count()).toBe(30);
  });

  it('starts a new conversation when another model is picked, and offers to continue the last one with it', async () => {
    await page.getByTestId('model-picker').selectOption('broken');
    expect(await answers().count()).toBe(0);
    const empty = page.locator('.conversation-empty');
    expect(await empty.textContent()).toContain('New conversation with broken.');
    const resume = page.getByTestId('continue-earlier');
    expect(await resume.textContent()).toBe('Continue the conversation with demo instead');
    await page.mouse.move(0, 0);
    await ui.screenshot('chat-new-conversation');
    await resume.click();
    expect(await answers().count()).toBe(2);
    // Cleared again: nothing to continue any more.
    await page.getByRole('button', { name: 'Clear' }).click();
    expect(await page.getByTestId('continue-earlier').count()).toBe(0);
  });

  it('says why a model failed in sentences, and offers to try again', async () => {
    await send('Hello broken');
    await answered();
    const failed = lastAnswer();
    expect(await failed.getAttribute('data-status')).toBe('error');
    expect(await failed.locator('.turn-error').textContent()).toBe('broken exited before it was ready (exit code 1). Check the model on the Models page or its log.');
    expect(await failed.getByTestId('turn-metrics').count()).toBe(0);
    expect(await failed.getByTestId('answer').count()).toBe(0);
    expect(await failed.getByTestId('regenerate').textContent()).toBe('Try again');
    await expect.poll(() => page.getByTestId('model-picker').locator('option').allTextContents()).toEqual(['demo — ready', 'broken — failed']);
    expect(await page.locator('.picker').textContent()).toContain('its last start failed; a message tries again');
    await page.mouse.move(0, 0);
    await ui.screenshot('chat-error');
  });

  it('tells a turn stopped before the model answered as that, without empty figures', async () => {
    await node.node.api.stopModel('demo');
    await page.getByTestId('model-picker').selectOption('demo');
    await expect.poll(() => page.getByTestId('model-picker').locator('option').first().textContent()).toBe('demo — stopped');
    await send('Are you there?');
    await expect.poll(() => lastAnswer().getByTestId('answer').textContent()).toBe('Starting demo…');
    await page.getByTestId('chat-stop').click();
    await expect.poll(() => lastAnswer().getAttribute('data-status')).toBe('stopped');
    const metrics = await lastAnswer().getByTestId('turn-metrics').textContent();
    expect(metrics).toBe('Stopped while demo was starting.');
    expect(metrics).not.toContain('—');
    expect(await lastAnswer().getByTestId('regenerate').textContent()).toBe('Try again');
    await page.mouse.move(0, 0);
    await ui.screenshot('chat-stopped-early');
  });
});
