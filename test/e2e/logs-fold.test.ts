// The Logs page folds the engine's log of our health probes into one line with a count, so a
// loading engine's "GET /health 503" lines don't push its own lines out of view.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeEvery } from '../helpers/processes.js';
import { openBrowser, startE2eNode, type E2eBrowser, type E2eNode } from './fixture.js';

let node: E2eNode;
let ui: E2eBrowser;

describe('the Logs page', () => {
  beforeAll(async () => {
    node = await startE2eNode();
    ui = await openBrowser();
  });
  afterAll(() => closeEvery([ui, node].filter((f) => f !== undefined)));

  it("shows a loading engine's probe lines as one line with a count", async () => {
    const { page } = ui;
    // demo loads for 300 ms answering 503 to each probe (every 25 ms), then says it listens.
    await node.node.api.startModel('demo');
    const logged = await node.node.api.modelLogs('demo', 2000);
    const probes = logged.filter((l) => l.text === 'demo-engine: GET /health 503').length;
    expect(probes).toBeGreaterThan(3);

    await page.goto(`${node.url}/#/logs/demo`);
    const view = page.getByTestId('log-view');
    await view.locator('.log-line', { hasText: 'demo is ready' }).waitFor();
    const folded = view.locator('.log-line', { hasText: 'GET /health 503' });
    expect(await folded.count()).toBe(1);
    expect(await folded.locator('.log-repeat').textContent()).toBe(`× ${probes}`);
    // The engine's own lines around it are all there.
    await view.locator('.log-line', { hasText: 'loading model' }).waitFor();
    await view.locator('.log-line', { hasText: 'server is listening' }).waitFor();
    await ui.screenshot('logs-folded');
  });
});
