// The Config page's safety net in real Chromium (issue #12, item 3): a save that would remove
// every model asks first ("Remove all 4 models?") and only then saves, and "Restore…" loads a
// saved version into the editor to save it back. Screenshots under test-results/screenshots/.
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { closeEvery } from '../helpers/processes.js';
import { openBrowser, startE2eNode, type E2eBrowser, type E2eNode } from './fixture.js';

let node: E2eNode;
let ui: E2eBrowser;
let page: Page;

const modelIds = async () => ((await (await fetch(`${node.url}/v1/models`)).json()) as { data: { id: string }[] }).data.map((m) => m.id);
const saveState = () => page.getByTestId('save-state').textContent();

describe('the Config page keeps the config safe', () => {
  beforeAll(async () => {
    node = await startE2eNode();
    ui = await openBrowser();
    page = ui.page;
  });

  afterAll(() => closeEvery([ui, node].filter((f) => f !== undefined)));

  it('asks "Remove all 4 models?" before saving an empty config, and saves only when confirmed', async () => {
    const original = fs.readFileSync(node.configPath);
    await page.goto(`${node.url}/#/config`);
    const editor = page.getByTestId('config-editor');
    await editor.locator('.cm-content').click();
    await page.keyboard.press('Control+a');
    await page.keyboard.press('Delete');
    await expect.poll(() => page.getByTestId('save-config').isEnabled()).toBe(true);

    // Cancel: nothing is written, the models stay, the edit stays unsaved.
    await page.getByTestId('save-config').click();
    const dialog = page.getByTestId('confirm-dialog');
    await dialog.waitFor();
    expect(await dialog.getByRole('heading').textContent()).toBe('Remove all 4 models?');
    expect(await dialog.locator('.confirm-names li').allTextContents()).toEqual(['demo', 'demo-embed', 'demo-rerank', 'broken']);
    // The safe answer has the focus: Enter doesn't remove anything.
    expect(await page.evaluate('document.activeElement?.textContent')).toBe('Cancel');
    await ui.screenshot('config-confirm-remove-all');
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    expect(fs.readFileSync(node.configPath).equals(original)).toBe(true);
    expect(await modelIds()).toContain('demo');
    expect(await saveState()).toBe('Unsaved changes');

    // Confirmed: saved, every model gone.
    await page.getByTestId('save-config').click();
    await dialog.getByRole('button', { name: 'Remove all 4 models' }).click();
    await expect.poll(saveState).toBe('Saved');
    expect(fs.readFileSync(node.configPath, 'utf8')).toBe('');
    expect(fs.readFileSync(`${node.configPath}.bak`).equals(original)).toBe(true);
    expect(await modelIds()).toEqual([]);
  });

  it('restores a previous version: listed with its time, size and models, loaded into the editor, saved back', async () => {
    const previous = fs.readFileSync(`${node.configPath}.bak`, 'utf8');
    await page.goto(`${node.url}/#/config`);
    await page.getByTestId('config-editor').locator('.cm-content').waitFor();
    await page.getByTestId('restore-version').click();
    const dialog = page.getByTestId('versions-dialog');
    const versions = dialog.getByTestId('version');
    await versions.first().waitFor();
    expect(await versions.count()).toBe(1);
    expect(await versions.first().locator('.version-meta').textContent()).toMatch(/^just now · \d+\.\d KB · 4 models$/);
    await page.mouse.move(0, 0);
    await ui.screenshot('config-restore');

    await versions.first().getByRole('button', { name: /^Load the version saved / }).click();
    await dialog.waitFor({ state: 'detached' });
    await page.getByTestId('toast').filter({ hasText: 'Loaded the version saved' }).waitFor();
    const editor = page.getByTestId('config-editor');
    await editor.locator('.cm-line', { hasText: 'demo-embed:' }).waitFor();
    expect(await saveState()).toBe('Unsaved changes');
    // Nothing is written until the user saves.
    expect(fs.readFileSync(node.configPath, 'utf8')).toBe('');

    await page.getByTestId('save-config').click();
    await expect.poll(saveState).toBe('Saved');
    expect(fs.readFileSync(node.configPath, 'utf8')).toBe(previous);
    await expect.poll(modelIds).toContain('demo-chat');

    // The save kept the empty version in turn: two versions now, the newest first.
    await page.getByTestId('restore-version').click();
    await expect.poll(() => versions.count()).toBe(2);
    expect(await versions.locator('.version-meta').allTextContents()).toEqual([expect.stringMatching(/ · 0 B · 0 models$/), expect.stringMatching(/ · 4 models$/)]);
    await dialog.getByRole('button', { name: 'Close' }).click();
    await dialog.waitFor({ state: 'detached' });
  });
});
