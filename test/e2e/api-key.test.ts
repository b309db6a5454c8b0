// The window in a plain browser against a node with program.api_keys: it asks for a key, checks
// it, and then everything (calls, the live event stream, the Chat page's /v1 stream) carries it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Locator, Page } from 'playwright-core';
import { closeEvery } from '../helpers/processes.js';
import { openBrowser, startE2eNode, type E2eBrowser, type E2eNode } from './fixture.js';

const KEY = 'e2e-key-7f3a9c1d5b2e8f40';

let node: E2eNode;
let ui: E2eBrowser;
let page: Page;

const dialog = (p: Page = page): Locator => p.getByRole('dialog', { name: 'This LLM Manager needs an API key' });
const badge = (name: string): Locator => page.locator(`tr.model-row[data-model="${name}"] .badge`);

async function enterKey(p: Page, key: string, remember = false): Promise<void> {
  await dialog(p).getByLabel('API key').fill(key);
  if (remember) await dialog(p).getByLabel('Remember on this browser').check();
  await dialog(p).getByRole('button', { name: 'Continue' }).click();
}

describe('the window in a browser, with api_keys set', () => {
  beforeAll(async () => {
    node = await startE2eNode({ apiKeys: [KEY] });
    ui = await openBrowser();
    page = ui.page;
  });

  // Both, whatever happens to the other: a page error must not leave engines running.
  afterAll(() => closeEvery([ui, node].filter((f) => f !== undefined)));

  it('asks for a key before showing anything, and refuses a wrong one', async () => {
    await page.goto(`${node.url}/#/models`);
    await dialog().waitFor();
    expect(await page.locator('tr.model-row').count()).toBe(0);
    await expect.poll(() => page.getByTestId('router-state').textContent()).toBe('Needs an API key');
    expect(await dialog().getByRole('button', { name: 'Continue' }).isDisabled()).toBe(true);
    await ui.screenshot('api-key');

    await enterKey(page, 'not-the-key');
    await expect.poll(() => dialog().getByRole('alert').textContent()).toContain("isn't one of program.api_keys");
    expect(await dialog().isVisible()).toBe(true);
    // Escape doesn't dismiss it: without a key nothing on the page would work.
    await page.keyboard.press('Escape');
    expect(await dialog().isVisible()).toBe(true);
  });

  it('with the right key, loads the page and follows live events over the keyed stream', async () => {
    await enterKey(page, KEY);
    await dialog().waitFor({ state: 'hidden' });
    // "Online" needs /api/health and the event stream, both sent with the key.
    await expect.poll(() => page.getByTestId('router-state').textContent()).toBe('Online');
    await expect.poll(() => badge('demo').getAttribute('data-state')).toBe('stopped');
    expect(await page.getByRole('button', { name: 'Forget key' }).isVisible()).toBe(true);
    await ui.screenshot('api-key-unlocked');

    // Started behind the page's back: only the event stream can tell it.
    const res = await fetch(`${node.url}/api/models/demo/start`, { method: 'POST', headers: { authorization: `Bearer ${KEY}` } });
    expect(res.status).toBe(200);
    await expect.poll(() => badge('demo').getAttribute('data-state'), { timeout: 10_000 }).toBe('ready');
  });

  it('streams a chat answer through /v1 with the key', async () => {
    await page.goto(`${node.url}/#/chat`);
    await page.getByTestId('model-picker').selectOption('demo');
    await page.getByTestId('chat-input').fill('Hello with a key');
    await page.getByTestId('chat-send').click();
    const answer = page.getByTestId('assistant-turn').last();
    await expect.poll(() => answer.getAttribute('data-status'), { timeout: 15_000 }).toBe('done');
    expect(await answer.getByTestId('answer').textContent()).toMatch(/^Echo: Hello with a key/);
  });

  it('keeps the key for the tab only, unless told to remember it; "Forget key" asks again', async () => {
    // A reload of the tab keeps it.
    await page.reload();
    await expect.poll(() => page.getByTestId('router-state').textContent()).toBe('Online');
    expect(await dialog().isVisible()).toBe(false);

    // Another tab of the same browser doesn't have it.
    const other = await ui.context.newPage();
    try {
      await other.goto(`${node.url}/#/models`);
      await dialog(other).waitFor();
      await enterKey(other, KEY, true);
      await dialog(other).waitFor({ state: 'hidden' });
    } finally {
      await other.close();
    }
    // Remembered: a third tab opens without asking.
    const third = await ui.context.newPage();
    try {
      await third.goto(`${node.url}/#/models`);
      await expect.poll(() => third.getByTestId('router-state').textContent()).toBe('Online');
      expect(await dialog(third).isVisible()).toBe(false);
    } finally {
      await third.close();
    }

    await page.getByRole('button', { name: 'Forget key' }).click();
    await dialog().waitFor();
    expect(await page.evaluate(() => [localStorage.length, sessionStorage.length])).toEqual([0, 0]);
  });
});
