// The Config page in real Chromium (issue #13, item 1): a text that parses but names a command
// that isn't there. The browser's own check can't see files; the node's can. Its warning shows in
// the problem list before saving (the page asks the node once typing pauses) and after saving, and
// the save's toast says plainly that the running model will fail. Screenshots under
// test-results/screenshots/.
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { closeEvery } from '../helpers/processes.js';
import { openBrowser, startE2eNode, type E2eBrowser, type E2eNode } from './fixture.js';

let node: E2eNode;
let ui: E2eBrowser;
let page: Page;

const MISSING = '/opt/llama.cpp/bin/llama-server';

describe('the Config page shows what only the node can check', () => {
  beforeAll(async () => {
    node = await startE2eNode();
    ui = await openBrowser();
    page = ui.page;
  });

  afterAll(() => closeEvery([ui, node].filter((f) => f !== undefined)));

  it('warns that a running model\'s new command does not exist, before and after saving, and the toast says it will fail', async () => {
    await node.node.api.startModel('demo');
    const original = fs.readFileSync(node.configPath, 'utf8');
    // demo's profile is the first `command:` in the file.
    const edited = original.replace(/command: .*/, `command: ${MISSING}`);
    expect(edited).not.toBe(original);

    await page.goto(`${node.url}/#/config`);
    const editor = page.getByTestId('config-editor');
    const panel = page.getByTestId('issue-panel');
    await editor.locator('.cm-content').click();
    await page.keyboard.press('Control+a');
    await page.keyboard.insertText(edited);

    // Before saving: the browser's parser finds nothing; the node finds the missing command.
    const warning = panel.locator('.issue-warning', { hasText: `command not found: ${MISSING}` });
    await warning.waitFor();
    expect(await panel.locator('header').textContent()).toBe('No errors · 1 warning');
    expect(await warning.locator('.issue-path').textContent()).toBe('Local-Models.demo.CPU-Config.command');
    expect(await warning.locator('.issue-msg').textContent()).toBe(`command not found: ${MISSING} — demo can't start`);
    const line = edited.slice(0, edited.indexOf(MISSING)).split('\n').length;
    expect(await warning.locator('.issue-where').textContent()).toBe(`Line ${line}:${edited.split('\n')[line - 1]!.indexOf(MISSING) + 1}`);
    // Underlined in the editor too, as a warning.
    await editor.locator('.cm-lintRange-warning', { hasText: MISSING }).waitFor();
    expect(fs.readFileSync(node.configPath, 'utf8')).toBe(original); // checked, not saved
    await ui.screenshot('config-launch-check-before-save');

    // Saved: it is (files come and go), but the toast says what will happen.
    await page.getByTestId('save-config').click();
    const toast = page.getByTestId('toast').filter({ hasText: 'Saved:' });
    await toast.waitFor();
    expect(await toast.locator('span').textContent()).toBe(`Saved: demo restarts now — but its command ${MISSING} does not exist, so it will fail.`);
    expect(await toast.getAttribute('class')).toContain('toast-warning');
    expect(fs.readFileSync(node.configPath, 'utf8')).toBe(edited);
    expect(await panel.locator('.issue-warning', { hasText: `command not found: ${MISSING}` }).count()).toBe(1);
    await ui.screenshot('config-launch-check-after-save', { keepToasts: true });

    // And so it does, for that reason.
    await expect.poll(async () => (await node.node.api.modelInfo('demo')).state, { timeout: 10_000 }).toBe('failed');
    expect((await node.node.api.modelInfo('demo')).lastError?.message).toContain(`command not found: ${MISSING}`);
    // A warning toast stays until read.
    await page.waitForTimeout(4500);
    expect(await toast.count()).toBe(1);
  });
});
