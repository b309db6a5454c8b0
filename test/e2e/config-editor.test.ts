// The Config page's editor with a file as people write them (a long command line, a long comment):
// the view never scrolls sideways by itself, Ctrl+End reaches the last line, and a "not saved"
// toast goes away once its reason has.
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Locator, Page } from 'playwright-core';
import { closeEvery } from '../helpers/processes.js';
import { openBrowser, startE2eNode, type E2eBrowser, type E2eNode } from './fixture.js';

let node: E2eNode;
let ui: E2eBrowser;
let page: Page;
let editor: Locator;

const LONG_COMMENT = `# ${'a long comment that goes on and on, '.repeat(12)}the end`;
const scroller = () => editor.locator('.cm-scroller');
const scrollLeft = () => scroller().evaluate((el) => el.scrollLeft);
const activeLine = () => editor.locator('.cm-activeLine').textContent();

describe('the config editor with a long line', () => {
  beforeAll(async () => {
    node = await startE2eNode();
    // A long line near the top, and enough lines after it that the end is far out of view.
    const text = fs.readFileSync(node.configPath, 'utf8').replace('program:\n', `program:\n  ${LONG_COMMENT}\n`);
    const filler = Array.from({ length: 80 }, (_, i) => `# note ${i + 1}`).join('\n');
    fs.writeFileSync(node.configPath, `${text}${filler}\n# the last line\n`);
    ui = await openBrowser();
    page = ui.page;
    await page.goto(`${node.url}/#/config`);
    editor = page.getByTestId('config-editor');
    await editor.locator('.cm-content').waitFor();
  });

  afterAll(() => closeEvery([ui, node].filter((f) => f !== undefined)));

  it('keeps the start of every line in view when a line is clicked and typed in', async () => {
    expect(await scroller().evaluate((el) => el.scrollWidth > el.clientWidth + 500)).toBe(true);
    expect(await scrollLeft()).toBe(0);

    // A click on a short line (Playwright first scrolls the line "into view", as a browser does).
    await editor.locator('.cm-line', { hasText: 'mode: Chat' }).first().click();
    expect(await scrollLeft()).toBe(0);
    await page.keyboard.type(' ');
    await page.keyboard.press('Backspace');
    expect(await scrollLeft()).toBe(0);
    // The gutter doesn't cover the text: the first character starts right of it.
    const gutterRight = await editor.locator('.cm-gutters').evaluate((el) => el.getBoundingClientRect().right);
    const textLeft = await editor.locator('.cm-line', { hasText: 'Local-Models:' }).evaluate((el) => el.getBoundingClientRect().left);
    expect(textLeft).toBeGreaterThanOrEqual(gutterRight);

    // Clicking the long line and typing at its start keeps the view at the left too.
    await editor.locator('.cm-line', { hasText: 'a long comment' }).click();
    await page.keyboard.press('Home');
    await page.keyboard.type('x');
    expect(await scrollLeft()).toBe(0);
    await page.keyboard.press('Backspace');

    // At its end the view follows the caret, and Home brings it back.
    await page.keyboard.press('End');
    await expect.poll(scrollLeft).toBeGreaterThan(500);
    await page.keyboard.press('Home');
    await expect.poll(scrollLeft).toBe(0);
    await page.mouse.move(0, 0);
    await ui.screenshot('config-long-line');
  });

  it('goes to the last line with Ctrl+End and back to the first with Ctrl+Home', async () => {
    await editor.locator('.cm-line', { hasText: 'mode: Chat' }).first().click();
    await page.keyboard.press('Control+End');
    // The file ends in a newline: the caret is on the empty line after "# the last line".
    await expect.poll(() => editor.locator('.cm-activeLine').evaluate((el) => el.previousElementSibling?.textContent)).toBe('# the last line');
    expect(await activeLine()).toBe('');
    const [view, last] = [await scroller().boundingBox(), await editor.locator('.cm-activeLine').boundingBox()];
    expect(last!.y + last!.height).toBeLessThanOrEqual(view!.y + view!.height + 1);
    expect(await scrollLeft()).toBe(0);
    await page.keyboard.type('# typed at the end');
    await expect.poll(activeLine).toBe('# typed at the end');
    await page.keyboard.press('Control+Home');
    await expect.poll(activeLine).toBe('program:');
    expect(await scroller().evaluate((el) => el.scrollTop)).toBe(0);
    // Shift extends the selection to the end.
    await page.keyboard.press('Control+Shift+End');
    expect(((await page.evaluate('window.getSelection().toString()')) as string).trim().endsWith('# typed at the end')).toBe(true);
    await page.getByRole('button', { name: 'Revert' }).click();
    await expect.poll(() => page.getByTestId('save-state').textContent()).toBe('Saved');
  });

  it('shows "Not saved: fix the errors first" in the corner until the errors are fixed', async () => {
    await editor.locator('.cm-content').focus();
    await page.keyboard.press('Control+Home');
    await editor.locator('.cm-line', { hasText: 'alive_time: 15' }).click();
    await page.keyboard.press('End');
    await page.keyboard.type('x');
    await page.getByTestId('issue-panel').locator('.issue-error').first().waitFor();
    await page.keyboard.press('Control+s');
    const toast = page.getByTestId('toast').filter({ hasText: 'Not saved: fix the errors first.' });
    await toast.waitFor();
    // Bottom right, clear of the page's header (Save) and of the editor's line starts.
    const box = (await toast.boundingBox())!;
    const viewport = page.viewportSize()!;
    expect(viewport.width - (box.x + box.width)).toBeLessThan(40);
    expect(viewport.height - (box.y + box.height)).toBeLessThan(40);
    expect(box.x).toBeGreaterThan(viewport.width / 2);
    // Saving again doesn't stack a second copy.
    await page.keyboard.press('Control+s');
    await page.waitForTimeout(100);
    expect(await toast.count()).toBe(1);
    await page.mouse.move(0, 0);
    await ui.screenshot('config-not-saved', { keepToasts: true });

    await page.keyboard.press('Backspace');
    await expect.poll(() => page.getByTestId('issue-panel').locator('header').textContent()).toContain('No problems');
    await expect.poll(() => toast.count()).toBe(0);
  });
});
