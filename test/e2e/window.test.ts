// The window (dist/renderer) in real Chromium against a real node and real demo engines, over the
// HTTP transport: every page, light and dark, with screenshots under test-results/screenshots/.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Locator, Page } from 'playwright-core';
import { closeEvery } from '../helpers/processes.js';
import { openBrowser, startE2eNode, type E2eBrowser, type E2eNode } from './fixture.js';

let node: E2eNode;
let ui: E2eBrowser;
let page: Page;

const row = (name: string): Locator => page.locator(`tr.model-row[data-model="${name}"]`);
const badge = (name: string): Locator => row(name).locator('.badge');

async function open(hash: string): Promise<void> {
  await page.goto(`${node.url}/#/${hash}`);
}

/** Samples `read` until `done(value)` holds, returning every distinct value seen on the way. */
async function sampleUntil(read: () => Promise<string>, done: (value: string) => boolean, timeoutMs: number): Promise<string[]> {
  const seen: string[] = [];
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await read();
    if (seen.at(-1) !== value) seen.push(value);
    if (done(value)) return seen;
    await page.waitForTimeout(40);
  }
  throw new Error(`timed out; values seen: ${JSON.stringify(seen)}`);
}

describe('the window over HTTP', () => {
  beforeAll(async () => {
    node = await startE2eNode();
    ui = await openBrowser();
    page = ui.page;
  });

  // Both, whatever happens to the other: a page error must not leave engines running.
  afterAll(() => closeEvery([ui, node].filter((f) => f !== undefined)));

  it('starts a model from the Models page and its badge turns Ready', async () => {
    await open('models');
    await expect.poll(() => page.getByTestId('router-state').textContent()).toBe('Online');
    expect(await page.getByTestId('endpoint').textContent()).toBe(`${node.url}/v1`);
    await expect.poll(() => badge('demo').getAttribute('data-state')).toBe('stopped');
    expect(await row('demo').locator('.chip').allTextContents()).toEqual(['demo-chat']);

    await row('demo').getByRole('button', { name: 'Start demo' }).click();
    const states = await sampleUntil(
      async () => (await badge('demo').getAttribute('data-state')) ?? '',
      (state) => state === 'ready',
      10_000,
    );
    expect(states).toContain('starting');
    expect(states.at(-1)).toBe('ready');
    expect(await badge('demo').textContent()).toBe('Ready');
    expect(await row('demo').locator('.col-profile').textContent()).toBe('CPU-Config');
    expect(await row('demo').locator('.col-idle').textContent()).toMatch(/^stops in 15 m$/);
    expect(await row('demo').getByRole('button', { name: 'Stop demo' }).isVisible()).toBe(true);
    await expect.poll(() => page.getByTestId('running-count').textContent()).toBe('1 of 4');

    // Keyboard: focus the embed row, S starts it, Enter opens its details.
    await row('demo').focus();
    await page.keyboard.press('ArrowDown');
    expect(await row('demo-embed').evaluate((el) => el === el.ownerDocument.activeElement)).toBe(true);
    await page.keyboard.press('s');
    await expect.poll(() => badge('demo-embed').getAttribute('data-state'), { timeout: 10_000 }).toBe('ready');
    await page.keyboard.press('Enter');
    expect(await row('demo-embed').getAttribute('aria-expanded')).toBe('true');
    await page.keyboard.press('Enter');

    // A failed start: the row opens on the reason and the engine's last lines, colours and all.
    await row('broken').getByRole('button', { name: 'Start broken' }).click();
    await expect.poll(() => badge('broken').getAttribute('data-state'), { timeout: 10_000 }).toBe('failed');
    const failure = page.locator('#model-details-broken .failure');
    await expect.poll(() => failure.isVisible()).toBe(true);
    // The reason, once, in a line under the row; the details hold the engine's last lines.
    expect(await page.locator('tr.model-row[data-model="broken"] + tr.reason-row .failure-reason').textContent()).toMatch(/exit|exited|code 1/i);
    expect(await failure.getByTestId('log-tail').textContent()).toContain('failed to allocate 9.4 GB for the KV cache: out of memory');
    expect(await failure.getByTestId('error-lines').locator('.ansi-fg-1').first().textContent()).toBe('error:');
    await page.mouse.move(0, 0);
    await ui.screenshot('models');

    await failure.getByRole('button', { name: 'Open full log' }).click();
    await expect.poll(() => new URL(page.url()).hash).toBe('#/logs/broken');
  });

  it('shows log lines live on the Logs page', async () => {
    await open('logs/demo-rerank');
    await page.getByText('demo-rerank has written nothing yet').waitFor();
    await page.getByRole('button', { name: 'Start demo-rerank' }).click();
    const view = page.getByTestId('log-view');
    await view.waitFor();
    await view.locator('.log-line', { hasText: /starting demo-rerank \(profile CPU-Config/ }).waitFor();
    await view.locator('.log-line', { hasText: 'demo-rerank is ready' }).waitFor({ timeout: 10_000 });

    // A request through the endpoint: the engine's own line about it arrives without a reload.
    const before = Number(await view.getAttribute('data-line-count'));
    const res = await fetch(`${node.url}/v1/rerank`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'demo-rerank', query: 'bread', documents: ['bread and butter', 'cars'] }),
    });
    expect(res.status).toBe(200);
    await view.locator('.log-line', { hasText: 'demo-engine: POST /v1/rerank 200' }).waitFor();
    expect(Number(await view.getAttribute('data-line-count'))).toBeGreaterThan(before);

    // Thousands of lines: only the rows in view are in the page; scrolling up pauses following.
    await Promise.all(
      Array.from({ length: 1200 }, (_, i) =>
        fetch(`${node.url}/v1/rerank`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'demo-rerank', query: `q${i}`, documents: ['a'] }),
        }).then((r) => r.arrayBuffer()),
      ),
    );
    await expect.poll(async () => Number(await view.getAttribute('data-line-count'))).toBeGreaterThan(1200);
    expect(await view.locator('.log-line').count()).toBeLessThan(120);
    expect(await page.getByRole('button', { name: /Jump to latest/ }).count()).toBe(0);
    await view.hover();
    await page.mouse.wheel(0, -3000);
    const jump = page.getByRole('button', { name: /Jump to latest/ });
    await jump.waitFor();
    expect(await page.getByRole('checkbox', { name: 'Follow' }).isChecked()).toBe(false);
    await jump.click();
    await expect.poll(() => view.evaluate((el) => el.scrollHeight - el.scrollTop - el.clientHeight)).toBeLessThan(30);
    expect(await page.getByRole('checkbox', { name: 'Follow' }).isChecked()).toBe(true);

    // Copying a selection over many lines takes them all, also those scrolled out of the DOM.
    // (From near the end, where the view is now, up past 200 lines.)
    const box = (await view.boundingBox())!;
    const lastShown = Number(await view.locator('.log-line').last().getAttribute('data-index'));
    const topBefore = await view.evaluate((el) => el.scrollTop);
    await page.mouse.move(box.x + 300, box.y + box.height - 30);
    await page.mouse.down();
    await page.mouse.wheel(0, -4000);
    // The scroll has happened (on a loaded machine the wheel can land after the next move) before
    // the selection is dragged to the top.
    await expect.poll(() => view.evaluate((el) => el.scrollTop)).toBeLessThan(topBefore - 3000);
    await page.mouse.move(box.x + 200, box.y + 45, { steps: 4 });
    await page.mouse.up();
    const copy = () =>
      page.evaluate(`(() => {
        const data = new DataTransfer();
        document.dispatchEvent(new ClipboardEvent('copy', { clipboardData: data, bubbles: true, cancelable: true }));
        return data.getData('text/plain');
      })()`) as Promise<string>;
    const copied = (await copy()).split('\n');
    expect(copied.length).toBeGreaterThan(150);
    // The row the selection began on has left the DOM.
    expect(await view.locator(`.log-line[data-index="${lastShown}"]`).count()).toBe(0);
    const logged = await fetch(`${node.url}/api/models/demo-rerank/logs?tail=2000`).then((r) => r.json() as Promise<{ text: string }[]>);
    const start = logged.findIndex((l) => l.text === copied[0]);
    expect(start).toBeGreaterThanOrEqual(0);
    expect(copied).toEqual(logged.slice(start, start + copied.length).map((l) => l.text));
    // Ctrl+A in the log, then copy: every line.
    await view.focus();
    await page.keyboard.press('Control+A');
    expect((await copy()).split('\n').length).toBe(Number(await view.getAttribute('data-line-count')));
    await page.mouse.click(box.x + 200, box.y + 45);

    // Search highlights matches.
    await page.getByTestId('log-search').fill('ready');
    await expect.poll(() => view.locator('mark.match').count()).toBeGreaterThan(0);
    expect(await view.locator('mark.match').first().textContent()).toBe('ready');
    await page.getByTestId('log-search').fill('');

    // A browser can't open the node's folders: it is told where the log file is.
    await page.getByRole('button', { name: 'Log file path' }).click();
    const where = page.getByTestId('toast').filter({ hasText: 'demo-rerank logs to' });
    await where.waitFor();
    expect(await where.textContent()).toContain(path.join(node.dir, 'logs', 'demo-rerank.log'));

    // The broken model's log keeps its colours.
    await open('logs/broken');
    await page.getByTestId('log-view').locator('.ansi-fg-1', { hasText: 'out of memory' }).waitFor();
    await page.getByTestId('log-search').fill('memory');
    await page.mouse.move(0, 0);
    await ui.screenshot('logs');
  });

  it('shows an invalid config at the right line, keeps Save disabled and the file untouched', async () => {
    const onDisk = fs.readFileSync(node.configPath);
    const text = onDisk.toString('utf8');
    const portLine = `port: ${node.ports.demo}`;
    const lineNumber = text.split('\n').findIndex((l) => l.includes(portLine)) + 1;
    expect(lineNumber).toBeGreaterThan(0);

    await open('config');
    const editor = page.getByTestId('config-editor');
    await editor.locator('.cm-content').waitFor();
    expect(await page.getByTestId('save-config').isDisabled()).toBe(true);

    await editor.locator('.cm-line', { hasText: portLine }).click();
    await page.keyboard.press('End');
    for (let i = 0; i < String(node.ports.demo).length; i++) await page.keyboard.press('Backspace');
    await page.keyboard.type('"abc"');

    const issue = page.getByTestId('issue-panel').locator(`.issue-error[data-line="${lineNumber}"]`);
    await issue.waitFor();
    expect(await issue.textContent()).toContain('expected an integer 1-65535, got "abc"');
    expect(await issue.locator('.issue-path').textContent()).toBe('Local-Models.demo.port');
    await expect.poll(() => editor.locator('.cm-lintRange-error').textContent()).toBe('"abc"');
    expect(await editor.locator('.cm-lintRange-error').evaluate((el) => el.closest('.cm-line')?.textContent ?? '')).toContain('port: "abc"');
    expect(await page.getByTestId('save-config').isDisabled()).toBe(true);
    expect(await page.getByTestId('save-state').textContent()).toBe('Unsaved changes');

    // Ctrl+S in the editor doesn't save an invalid text either.
    await page.keyboard.press('Control+s');
    await page.waitForTimeout(300);
    expect(fs.readFileSync(node.configPath).equals(onDisk)).toBe(true);

    // Clicking the problem puts the cursor on it.
    await page.mouse.move(0, 0);
    await ui.screenshot('config-error');
    await issue.click();
    expect(await editor.locator('.cm-activeLine').textContent()).toContain('port: "abc"');

    // Undo brings the valid text back.
    for (let i = 0; i < 3 && (await page.getByTestId('save-state').textContent()) !== 'Saved'; i++) await page.keyboard.press('Control+z');
    await expect.poll(() => page.getByTestId('save-state').textContent()).toBe('Saved');
    await expect.poll(() => page.getByTestId('issue-panel').locator('header').textContent()).toContain('No problems');
    expect(fs.readFileSync(node.configPath).equals(onDisk)).toBe(true);
  });

  it('saves a valid change, keeps the draft across pages and applies it', async () => {
    await open('config');
    const editor = page.getByTestId('config-editor');
    await editor.locator('.cm-line', { hasText: '- demo-chat' }).click();
    await page.keyboard.press('End');
    await page.keyboard.press('Enter');
    await page.keyboard.type('- e2e-alias');
    await expect.poll(() => page.getByTestId('save-config').isEnabled()).toBe(true);

    // Unsaved edits survive a trip to another page.
    await page.getByRole('link', { name: 'Models' }).click();
    await row('demo').waitFor();
    expect(await page.locator('.nav-dot').count()).toBe(1);
    await page.getByRole('link', { name: 'Config' }).click();
    await editor.locator('.cm-line', { hasText: '- e2e-alias' }).waitFor();
    expect(await page.getByTestId('save-state').textContent()).toBe('Unsaved changes');

    const demoInfo = async () => (await (await fetch(`${node.url}/api/models/demo/info`)).json()) as { state: string; pid: number | null };
    const before = await demoInfo();
    expect(before.state).toBe('ready');
    await page.getByTestId('save-config').click();
    const toast = page.getByTestId('toast').filter({ hasText: 'Saved:' });
    await toast.waitFor();
    // Only a name was added: the running engine takes it without a restart.
    expect(await toast.textContent()).toContain('Saved: demo keeps running with its new settings.');
    await ui.screenshot('config-saved', { keepToasts: true });
    await expect.poll(() => page.getByTestId('save-state').textContent()).toBe('Saved');
    expect(fs.readFileSync(node.configPath, 'utf8')).toContain('- e2e-alias');

    const ids = async () => ((await (await fetch(`${node.url}/v1/models`)).json()) as { data: { id: string }[] }).data.map((m) => m.id);
    await expect.poll(ids, { timeout: 10_000 }).toContain('e2e-alias');
    await page.getByRole('link', { name: 'Models' }).click();
    await expect.poll(() => row('demo').locator('.chip').allTextContents()).toEqual(['demo-chat', 'e2e-alias']);
    expect(await demoInfo()).toMatchObject({ state: 'ready', pid: before.pid });
  });

  it('follows edits made on disk, and asks before replacing unsaved ones', async () => {
    await open('config');
    const editor = page.getByTestId('config-editor');
    await editor.locator('.cm-content').waitFor();

    // No local edits: the editor takes the new file as it is.
    fs.appendFileSync(node.configPath, '# edited outside the app\n');
    await editor.locator('.cm-line', { hasText: '# edited outside the app' }).waitFor();
    expect(await page.getByTestId('save-state').textContent()).toBe('Saved');

    // Local edits: a banner offers the file on disk instead.
    await editor.locator('.cm-line', { hasText: '- e2e-alias' }).click();
    await page.keyboard.press('End');
    await page.keyboard.type(' # mine');
    await expect.poll(() => page.getByTestId('save-state').textContent()).toBe('Unsaved changes');
    fs.appendFileSync(node.configPath, '# second outside edit\n');
    const reload = page.getByRole('button', { name: 'Reload from disk' });
    await reload.waitFor();
    await reload.click();
    await editor.locator('.cm-line', { hasText: '# second outside edit' }).waitFor();
    expect(await editor.locator('.cm-line', { hasText: '# mine' }).count()).toBe(0);
    expect(await page.getByTestId('save-state').textContent()).toBe('Saved');
  });

  it('adds a model from a template: valid at once, its name selected to rename, undone by Revert', async () => {
    await open('config');
    const editor = page.getByTestId('config-editor');
    await editor.locator('.cm-content').waitFor();
    await page.getByTestId('add-model').selectOption('vllm');
    await editor.locator('.cm-line', { hasText: 'model: "Qwen/Qwen2.5-7B-Instruct"' }).waitFor();
    expect(await page.evaluate('window.getSelection().toString()')).toBe('new-model');
    await expect.poll(() => page.getByTestId('save-config').isEnabled()).toBe(true);
    expect(await page.getByTestId('save-state').textContent()).toBe('Unsaved changes');
    await page.keyboard.type('qwen-vllm');
    await editor.locator('.cm-line', { hasText: 'qwen-vllm:' }).waitFor();
    await expect.poll(() => page.locator('.issue-panel').textContent()).toContain('No problems');
    await page.mouse.move(0, 0);
    await ui.screenshot('config-add-model');
    await page.getByRole('button', { name: 'Revert' }).click();
    await expect.poll(() => page.getByTestId('save-state').textContent()).toBe('Saved');
    expect(await editor.locator('.cm-line', { hasText: 'qwen-vllm' }).count()).toBe(0);
  });

  it('streams a chat answer as it is generated, and stops on request', async () => {
    await open('chat');
    await page.getByTestId('model-picker').selectOption('demo');
    await page.getByTestId('chat-input').fill('Hello there, how are you today');
    await page.getByTestId('chat-send').click();
    const answer = page.getByTestId('assistant-turn').last();
    const samples = await sampleUntil(
      async () => `${await answer.getAttribute('data-status')}|${(await answer.getByTestId('answer').textContent()) ?? ''}`,
      (value) => value.startsWith('done|'),
      15_000,
    );
    // While streaming, the text only grows, and it was seen at several lengths before the end.
    // (The answer is Markdown, drawn as HTML: its text ends with the line break after a paragraph.)
    const growing = samples.filter((v) => v.startsWith('streaming|Echo:')).map((v) => v.slice('streaming|'.length).trimEnd());
    expect(growing.length).toBeGreaterThanOrEqual(4);
    for (let i = 1; i < growing.length; i++) expect(growing[i]!.startsWith(growing[i - 1]!)).toBe(true);
    const final = ((await answer.getByTestId('answer').textContent()) ?? '').trimEnd();
    expect(final).toMatch(/^Echo: Hello there, how are you token1 .*token10$/);
    expect(await answer.getByTestId('turn-metrics').textContent()).toMatch(/\d+(\.\d)? tok\/s · first token \d+ ms · 16 tokens/);

    // Stop mid-answer.
    await page.getByTestId('chat-input').fill('Tell me more');
    await page.getByTestId('chat-send').click();
    const second = page.getByTestId('assistant-turn').last();
    await expect.poll(async () => ((await second.getByTestId('answer').textContent()) ?? '').length).toBeGreaterThan(12);
    await page.getByTestId('chat-stop').click();
    await expect.poll(() => second.getAttribute('data-status')).toBe('stopped');
    expect(await second.getByTestId('turn-metrics').textContent()).toContain('Stopped');
    await page.mouse.move(0, 0);
    await ui.screenshot('chat');

    // A toast raised on another page stays clear of the message box (it keeps clear as that grows).
    await open('config');
    await page.getByTestId('config-editor').locator('.cm-content').waitFor();
    fs.appendFileSync(node.configPath, '# edited while chatting\n');
    const toast = page.getByTestId('toast').filter({ hasText: 'changed on disk' });
    await toast.waitFor();
    await page.getByRole('navigation', { name: 'Pages' }).getByRole('link', { name: 'Chat' }).click();
    const composer = page.locator('.composer');
    await composer.waitFor();
    const clearOf = async () => {
      const [t, c] = [await toast.boundingBox(), await composer.boundingBox()];
      return t !== null && c !== null && t.y + t.height <= c.y;
    };
    await expect.poll(clearOf).toBe(true);
    await page.getByTestId('chat-input').fill('one\ntwo\nthree\nfour\nfive\nsix');
    await page.getByTestId('chat-input').evaluate((el) => el.setAttribute('style', 'height: 160px'));
    await expect.poll(clearOf).toBe(true);
    await ui.screenshot('chat-toast', { keepToasts: true });
    await page.getByTestId('chat-input').fill('');

    // The tries of the other modes.
    await open('chat/embeddings');
    await page.getByRole('button', { name: 'Embed' }).click();
    const embedding = page.getByTestId('embedding-result');
    await embedding.waitFor();
    expect(await embedding.locator('dd').first().textContent()).toBe('384');
    await ui.screenshot('chat-embeddings');
    await open('chat/rerank');
    await page.getByRole('button', { name: 'Rank' }).click();
    const ranking = page.getByTestId('rerank-result');
    await ranking.waitFor();
    expect(await ranking.locator('tbody tr').first().locator('td').last().textContent()).toMatch(/bread/i);
    await ui.screenshot('chat-rerank');
  });

  it('shows devices with memory split by model', async () => {
    await open('devices');
    const gpu = page.locator('[data-device="gpu0"]');
    await gpu.waitFor();
    await gpu.locator('.chart canvas').waitFor();
    expect(await gpu.locator('.legend').textContent()).toContain('demo');
    expect(await gpu.locator('.seg-other').count()).toBeGreaterThan(0);
    await expect.poll(() => page.locator('[data-device="gpu1"]').textContent()).toContain('Offline — no longer reported by nvidia-smi');
    await expect.poll(() => page.getByTestId('vram').textContent()).toMatch(/^\d+\.\d GB \/ 24\.0 GB$/);
    await page.mouse.move(0, 0);
    await ui.screenshot('devices');

    // A window opened now draws the node's last minutes at once (it polled all along), not just what it reads from now on.
    const fresh = await ui.context.newPage();
    try {
      await fresh.goto(`${node.url}/#/devices`);
      await expect.poll(async () => Number(await fresh.locator('[data-device="gpu0"] .chart-figure').getAttribute('data-points')), { timeout: 2000 }).toBeGreaterThan(5);
    } finally {
      await fresh.close();
    }

    // A Windows (WDDM) driver lists the engines but not their memory: they stay on the card with what
    // their profiles declared, or "not reported", and no "other processes" figure is made up.
    node.setWddm(true);
    try {
      await expect.poll(() => gpu.locator('.legend').textContent(), { timeout: 5000 }).toContain('demo≈ 7.7 GB (declared)');
      expect(await gpu.locator('.legend').textContent()).toContain('demo-embednot reported');
      expect(await gpu.locator('.seg-other').count()).toBe(0);
      expect(await gpu.locator('.membar-note').isVisible()).toBe(true);
      // Only demo declared memory_mb: the strip counts that, marked approximate.
      await expect.poll(() => page.getByTestId('vram').textContent()).toBe('≈ 7.7 GB / 24.0 GB');
      await ui.screenshot('devices-wddm');
      await open('models');
      await expect.poll(() => row('demo').locator('.col-vram').textContent()).toBe('≈ 7.7 GB (declared)');
      expect(await row('demo-embed').locator('.col-vram').textContent()).toBe('not reported');
      await page.mouse.move(0, 0);
      await ui.screenshot('models-wddm');
    } finally {
      node.setWddm(false);
    }
  });

  it('lets go of live readings while out of sight (the node stops polling), and catches up when shown', async () => {
    await open('devices');
    await page.locator('[data-device="gpu0"]').waitFor();
    // What Chromium does when Electron hides the window or a tab goes to the background.
    const setVisibility = (state: 'hidden' | 'visible') =>
      page.evaluate(`(() => {
        Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => '${state}' });
        Object.defineProperty(document, 'hidden', { configurable: true, get: () => ${state === 'hidden'} });
        document.dispatchEvent(new Event('visibilitychange'));
      })()`);
    await expect.poll(() => node.node.events.wants('devices')).toBe(true);
    const listeners = node.node.events.size;
    await setVisibility('hidden');
    // Not at once (a quick minimise and restore keeps the stream), but within a few seconds.
    expect(node.node.events.wants('devices')).toBe(true);
    await expect.poll(() => node.node.events.wants('devices'), { timeout: 8000 }).toBe(false);
    expect(node.node.events.size).toBe(listeners - 1);
    const before = await page.getByText(/^Updated /).textContent();
    await page.waitForTimeout(1100);
    await setVisibility('visible');
    await expect.poll(() => node.node.events.wants('devices')).toBe(true);
    await expect.poll(() => page.getByText(/^Updated /).textContent(), { timeout: 8000 }).not.toBe(before);
  });

  it('says what to do next when nothing is configured', async () => {
    const empty = await startE2eNode({ empty: true });
    try {
      await page.goto(`${empty.url}/#/models`);
      await page.getByText('No models yet').waitFor();
      await ui.screenshot('models-empty');
      await page.goto(`${empty.url}/#/devices`);
      await page.getByText('GPU monitoring is disabled in config').waitFor();
      await ui.screenshot('devices-disabled');
      await page.goto(`${empty.url}/#/chat`);
      await page.getByText('No Chat models').waitFor();
      await page.goto(`${empty.url}/#/models`);
      await page.getByRole('link', { name: 'Config', exact: true }).last().click();
      await page.getByTestId('config-editor').locator('.cm-content').waitFor();
      await page.goto('about:blank');
    } finally {
      await empty.close();
    }
  });

  it('stays readable at 150 % scaling', async () => {
    for (const hash of ['models', 'logs/demo', 'config']) {
      await ui.screenshotAt150(hash.split('/')[0]!, `${node.url}/#/${hash}`);
    }
  });

  it('holds models off from the status strip (every engine stops, requests start none) and releases them', async () => {
    await open('models');
    await expect.poll(() => badge('demo').getAttribute('data-state')).toBe('ready');
    await page.getByTestId('hold-toggle').click();
    await page.getByTestId('hold').getByText('Models held').waitFor();
    for (const name of ['demo', 'demo-embed', 'demo-rerank']) await expect.poll(() => badge(name).getAttribute('data-state'), { timeout: 10_000 }).toBe('stopped');
    const refused = await fetch(`${node.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'demo', messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(refused.status).toBe(503);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('models_held');
    await page.mouse.move(0, 0);
    await ui.screenshot('models-held', { keepToasts: true });

    // Released elsewhere (the tray): the strip follows.
    await node.node.api.releaseModels();
    await expect.poll(() => page.getByTestId('hold').textContent()).toBe('Hold models');
    const again = await fetch(`${node.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'demo', messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(again.status).toBe(200);
  });
});
