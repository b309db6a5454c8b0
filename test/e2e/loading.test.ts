// A starting model's progress in the window (#16 item 4): an engine that loads as llama-server does
// (test/fixtures/loading-engine.mjs, its load dots let out by the test's gate file) shows a bar in
// its row, and its details say how far and what it is doing; the bar goes once it is ready.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { closeEvery } from '../helpers/processes.js';
import { openBrowser, startE2eNode, type E2eBrowser, type E2eNode } from './fixture.js';

const LOADING_ENGINE = fileURLToPath(new URL('../fixtures/loading-engine.mjs', import.meta.url));

let node: E2eNode;
let ui: E2eBrowser;
let page: Page;
let gateDir: string;
const gate = (value: string) => fs.writeFileSync(path.join(gateDir, 'gate'), value);

describe('loading progress in the window', () => {
  beforeAll(async () => {
    gateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'loading-gate-'));
    gate('0');
    node = await startE2eNode({
      extraModels: {
        qwen: (port) => ({ mode: 'Chat', port, start_timeout: 60, 'Default-Config': { required_devices: [], command: process.execPath, args: [LOADING_ENGINE, '--gate', path.join(gateDir, 'gate')] } }),
      },
    });
    ui = await openBrowser();
    page = ui.page;
    await page.goto(`${node.url}/#/models`);
    await page.getByTestId('router-state').getByText('Online').waitFor();
  });

  afterAll(async () => {
    await closeEvery([ui, node].filter((f) => f !== undefined));
    fs.rmSync(gateDir, { recursive: true, force: true });
  });

  it("shows the engine's load progress as a bar in the row and in the details, gone once ready", async () => {
    const row = page.locator('tr.model-row[data-model="qwen"]');
    await row.locator('.col-action button').click();
    await row.locator('.badge[data-state="starting"]').waitFor();

    gate('42');
    const bar = row.getByRole('progressbar', { name: 'Loading qwen' });
    await bar.and(page.locator('[aria-valuenow="40"]')).waitFor();
    expect(await bar.getAttribute('aria-valuetext')).toBe('40 % · loading weights');
    const width = await bar.evaluate((el) => (el.firstElementChild as unknown as { style: { width: string } }).style.width);
    expect(width).toBe('40%');
    await ui.screenshot('models-loading-progress');

    await row.click();
    const details = page.getByRole('region', { name: 'Loading progress' });
    await details.getByTestId('loading-text').getByText('40 % · loading weights').waitFor();
    await expect(details.getByText("As the engine's log reports it.").isVisible()).resolves.toBe(true);
    await ui.screenshot('models-loading-details');

    gate('ready');
    await row.locator('.badge[data-state="ready"]').waitFor({ timeout: 20_000 });
    expect(await row.getByRole('progressbar').count()).toBe(0);
    expect(await details.count()).toBe(0);
  });
});
