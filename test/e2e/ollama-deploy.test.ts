// Add model → Ollama (#16 item 2): the tab lists what an Ollama-shaped fake has (its /api/tags),
// one is chosen and named, the entry shown is an engine: ollama profile, Save and start loads it
// (keep_alive) and the Models page shows it Ready with its Ollama chip, the Devices page its VRAM;
// screenshots of each.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { closeEvery } from '../helpers/processes.js';
import { FakeUpstream } from '../fixtures/fake-upstream.js';
import { openBrowser, startE2eNode, type E2eBrowser, type E2eNode } from './fixture.js';

let ollama: FakeUpstream;
let node: E2eNode;
let ui: E2eBrowser;
let page: Page;

describe('Add model from Ollama', () => {
  beforeAll(async () => {
    ollama = await new FakeUpstream({ ollama: { 'qwen2.5:7b': 4_683_087_332, 'llama3.2:latest': 2_019_393_189 } }).start();
    // A model of this Ollama already in the config: the tab asks the same server.
    node = await startE2eNode({ extraModels: { 'llama-o': () => ({ mode: 'Chat', Ollama: { engine: 'ollama', model: 'llama3.2', base_url: ollama.origin } }) } });
    ui = await openBrowser();
    page = ui.page;
    await page.goto(`${node.url}/#/models`);
    await page.getByTestId('router-state').getByText('Online').waitFor();
  });

  afterAll(async () => {
    await closeEvery([ui, node].filter((f) => f !== undefined));
    await ollama?.stop();
  });

  it("lists Ollama's models, writes an engine: ollama entry, and Save and start loads it", async () => {
    await page.getByRole('link', { name: 'Add model' }).first().click();
    await page.getByRole('heading', { name: 'Add a model' }).waitFor();
    await page.getByRole('tab', { name: 'Ollama' }).click();
    const list = page.getByTestId('ollama-models');
    await list.locator('tr[data-ollama-model="llama3.2:latest"]').getByText('llama-o').waitFor();
    await list.locator('tr[data-ollama-model="qwen2.5:7b"]').click();
    await expect(page.getByRole('textbox', { name: 'Name' }).inputValue()).resolves.toBe('qwen2.5-7b');
    const entry = page.getByTestId('deploy-entry');
    await entry.getByText('engine: ollama').waitFor();
    expect(await entry.textContent()).toBe(`qwen2.5-7b:\n  mode: Chat\n  Ollama:\n    engine: ollama\n    model: qwen2.5:7b\n    base_url: ${ollama.origin}\n`);
    await ui.screenshot('deploy-ollama');

    await page.getByRole('button', { name: 'Save and start' }).click();
    const row = page.locator('tr.model-row[data-model="qwen2.5-7b"]');
    await row.locator('.badge[data-state="ready"]').waitFor();
    await row.locator('.chip[data-upstream="ollama"]').getByText('Ollama').waitFor();
    expect(ollama.loaded.has('qwen2.5:7b')).toBe(true);
    await ui.screenshot('models-ollama');

    // The Devices page: the card's memory bar has the Ollama model's segment (from Ollama's /api/ps).
    await page.goto(`${node.url}/#/devices`);
    await page.getByText('qwen2.5-7b', { exact: true }).first().waitFor();
    await ui.screenshot('devices-ollama');
  });
});
