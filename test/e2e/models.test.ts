// The Models page as a new user meets it (issue #13): a double click on Start starts, failures
// the user didn't cause stay one line in their row, columns keep their widths, Stop all asks
// first, and a node that goes away is said so, with the actions greyed until it is back.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Locator, Page } from 'playwright-core';
import { closeEvery } from '../helpers/processes.js';
import { openBrowser, startE2eNode, type E2eBrowser, type E2eNode } from './fixture.js';

let node: E2eNode;
let ui: E2eBrowser;
let page: Page;

const row = (name: string): Locator => page.locator(`tr.model-row[data-model="${name}"]`);
const state = (name: string) => row(name).locator('.badge').getAttribute('data-state');
const action = (name: string): Locator => row(name).locator('.col-action button');
/** The one line under a failed model's row that says why. */
const reasonOf = (name: string): Locator => page.locator(`tr.model-row[data-model="${name}"] + tr.reason-row .failure-reason`);
const info = async (name: string) => (await (await fetch(`${node.url}/api/models/${name}/info`)).json()) as { state: string; lastError: { message: string } | null };
/** The widths of the table's columns, as the header lays them out. */
const columnWidths = () => page.locator('.models-table thead th').evaluateAll((ths) => ths.map((th) => Math.round(th.getBoundingClientRect().width)).join(','));

/**
 * Watches a model's badge in the page from now on, and the table's column widths: `seen()` returns
 * every state the badge showed, in order; `widths()` every distinct set of column widths.
 */
async function watchStates(name: string): Promise<{ seen: () => Promise<string[]>; widths: () => Promise<string[]> }> {
  const slot = `__states_${name.replace(/\W/g, '_')}`;
  // (A string, as in window.test.ts: these files are type-checked without the DOM's types.)
  await page.evaluate(`(() => {
    const seen = (window.${slot} = []);
    const widths = (window.${slot}_widths = []);
    const note = () => {
      const now = [...document.querySelectorAll('.models-table thead th')].map((th) => Math.round(th.getBoundingClientRect().width)).join(',');
      if (!widths.includes(now)) widths.push(now);
      const state = document.querySelector('tr.model-row[data-model="${name}"] .badge')?.getAttribute('data-state') ?? '';
      if (seen.at(-1) !== state) seen.push(state);
    };
    note();
    new MutationObserver(note).observe(document.querySelector('.models-table'), { subtree: true, childList: true, attributes: true, characterData: true });
  })()`);
  const read = (key: string) => page.evaluate(`window.${key}`) as Promise<string[]>;
  return { seen: () => read(slot), widths: () => read(`${slot}_widths`) };
}

describe('the Models page', () => {
  beforeAll(async () => {
    node = await startE2eNode();
    ui = await openBrowser();
    page = ui.page;
    await page.goto(`${node.url}/#/models`);
    await page.getByTestId('router-state').getByText('Online').waitFor();
  });

  afterAll(() => closeEvery([ui, node].filter((f) => f !== undefined)));

  it('starts a model on a double click on Start: the second click never cancels it', async () => {
    expect(await state('demo')).toBe('stopped');
    const widths = await columnWidths();
    const states = await watchStates('demo');
    // The second click lands on the button the moment it has turned into "Cancel start" (no waiting
    // in between: both within the guard's half second).
    const labels = (await page.evaluate(`(async () => {
      const button = document.querySelector('tr.model-row[data-model="demo"] .col-action button');
      const seen = [button.textContent];
      button.click();
      await new Promise((resolve) => {
        const observer = new MutationObserver(() => {
          if (button.textContent === 'Cancel start') {
            observer.disconnect();
            resolve();
          }
        });
        observer.observe(button, { childList: true, characterData: true, subtree: true });
      });
      seen.push(button.textContent);
      button.click();
      return seen;
    })()`)) as string[];
    expect(labels).toEqual(['Start', 'Cancel start']);
    await expect.poll(() => state('demo'), { timeout: 10_000 }).toBe('ready');
    expect(await states.seen()).toEqual(['stopped', 'starting', 'ready']);
    expect(await action('demo').textContent()).toBe('Stop');
    // Start, Cancel start and Stop sat in one place, and no column moved while the state changed.
    expect(await states.widths()).toEqual([widths]);

    // A real double click (both clicks before the state has changed) on another model: it starts too.
    const embed = await watchStates('demo-embed');
    await action('demo-embed').dblclick();
    await expect.poll(() => state('demo-embed'), { timeout: 10_000 }).toBe('ready');
    expect(await embed.seen()).toEqual(['stopped', 'starting', 'ready']);
    expect(await embed.widths()).toEqual([widths]);
  });

  it('opens the failure the user just caused, says why once, and leaves other failures one line in their row', async () => {
    const healthyTop = (await row('demo-rerank').boundingBox())!.y;
    await action('broken').click();
    await expect.poll(() => state('broken'), { timeout: 10_000 }).toBe('failed');
    const details = page.locator('#model-details-broken');
    await details.waitFor();
    // It leads with the engine's error line, highlighted, above the lines that led up to it.
    const errors = details.getByTestId('error-lines');
    expect(await errors.textContent()).toBe('error: failed to allocate 9.4 GB for the KV cache: out of memory');
    const tail = details.getByTestId('log-tail');
    expect(await tail.textContent()).toContain('llama_model_load: loading model from');
    expect((await errors.boundingBox())!.y).toBeLessThan((await tail.boundingBox())!.y);
    expect(await tail.locator('.tail-error').textContent()).toBe('error: failed to allocate 9.4 GB for the KV cache: out of memory');
    // The reason, once, in one line in the row; not in the details again, and no toast.
    const reason = (await info('broken')).lastError!.message;
    expect(reason).toMatch(/exited before it was ready \(exit code 1\)/);
    expect(await reasonOf('broken').textContent()).toBe(reason);
    expect(await page.getByText(reason, { exact: false }).count()).toBe(1);
    expect(await page.getByTestId('toast').count()).toBe(0);
    // The row's height is one line more, not a box: the reason fits on one line.
    const reasonBox = (await reasonOf('broken').boundingBox())!;
    expect(reasonBox.height).toBeLessThan(24);
    // A failed model shows no "Started" (the engine isn't running; it may never have launched).
    expect(await details.locator('dt').allTextContents()).not.toContain('Started');
    await page.mouse.move(0, 0);
    await ui.screenshot('models-failed-here');

    // The user closes it; a failure they didn't cause (a request from some app) leaves it closed.
    await row('broken').locator('.col-name').click();
    expect(await details.count()).toBe(0);
    const res = await fetch(`${node.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'broken', messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(res.status).toBe(503);
    await expect.poll(async () => (await info('broken')).state).toBe('failed');
    expect(await details.count()).toBe(0);
    expect(await reasonOf('broken').textContent()).toBe((await info('broken')).lastError!.message);

    // A window opened now shows every failure closed: the healthy models stay where they are.
    await page.reload();
    await expect.poll(() => state('broken')).toBe('failed');
    expect(await page.locator('.details-row').count()).toBe(0);
    expect((await row('demo-rerank').boundingBox())!.y).toBe(healthyTop);
    // A running model's details still tell when it started.
    await row('demo').locator('.col-name').click();
    expect(await page.locator('#model-details-demo dt').allTextContents()).toContain('Started');
    await row('demo').locator('.col-name').click();
    await page.mouse.move(0, 0);
    await ui.screenshot('models-failed-elsewhere');
  });

  it('has Stop all, which asks first while models are running', async () => {
    expect(await state('demo')).toBe('ready');
    const stopAll = page.getByTestId('stop-all');
    await stopAll.click();
    const confirm = page.getByTestId('confirm-dialog');
    expect(await confirm.getByRole('heading').textContent()).toBe('Stop all 2 running models?');
    expect(await confirm.textContent()).toContain('demo and demo-embed stop.');
    await page.mouse.move(0, 0);
    await ui.screenshot('models-stop-all');
    // The safe answer has the focus: Enter cancels, and both keep running.
    await page.keyboard.press('Enter');
    await expect.poll(() => confirm.count()).toBe(0);
    expect(await state('demo')).toBe('ready');

    await stopAll.click();
    await confirm.getByRole('button', { name: 'Stop them' }).click();
    for (const name of ['demo', 'demo-embed']) await expect.poll(() => state(name), { timeout: 10_000 }).toBe('stopped');
    expect(await stopAll.isDisabled()).toBe(true);
  });

  it('says when LLM Manager is not running, greys the actions, and catches up when it is back', async () => {
    await node.node.api.startModel('demo');
    await expect.poll(() => state('demo'), { timeout: 10_000 }).toBe('ready');
    const banner = page.getByTestId('offline-banner');
    expect(await banner.count()).toBe(0);

    // The Logs page of a model that has written nothing offers to start it; not while the node is away.
    await page.evaluate("location.hash = '#/logs/demo-rerank'");
    const logStart = page.getByTestId('log-start');
    await expect.poll(() => logStart.isEnabled()).toBe(true);

    await node.shutDown();
    await banner.waitFor();
    expect(await banner.textContent()).toContain('LLM Manager is not running — retrying');
    await expect.poll(() => logStart.isDisabled()).toBe(true);
    await page.evaluate("location.hash = '#/models'");
    for (const name of ['demo', 'demo-embed', 'broken']) await expect.poll(() => action(name).isDisabled()).toBe(true);
    expect(await page.getByTestId('stop-all').isDisabled()).toBe(true);
    expect(await page.getByTestId('hold-toggle').isDisabled()).toBe(true);
    expect(await page.getByTestId('router-state').textContent()).toBe('Not reachable');
    // Keys do nothing either.
    await row('demo-embed').focus();
    await page.keyboard.press('s');
    await page.mouse.move(0, 0);
    await ui.screenshot('models-offline');

    // Started again on the same port (its engines were stopped with it): the page reads it afresh.
    await node.startAgain();
    await expect.poll(() => banner.count(), { timeout: 15_000 }).toBe(0);
    await expect.poll(() => state('demo'), { timeout: 10_000 }).toBe('stopped');
    expect(await action('demo').isEnabled()).toBe(true);
    expect(await action('demo').textContent()).toBe('Start');
    await expect.poll(() => page.getByTestId('router-state').textContent(), { timeout: 10_000 }).toBe('Online');
    // Live again: a start made elsewhere shows up without a reload.
    await node.node.api.startModel('demo-rerank');
    await expect.poll(() => state('demo-rerank'), { timeout: 10_000 }).toBe('ready');
    expect(await state('demo-embed')).toBe('stopped');
  });
});
