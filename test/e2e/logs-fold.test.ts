// The Logs page folds the engine's log of our health probes into one line with a count, so a
// loading engine's "GET /health 503" lines don't push its own lines out of view.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/http.js';
import { closeEvery } from '../helpers/processes.js';
import { openBrowser, startE2eNode, type E2eBrowser, type E2eNode } from './fixture.js';

let node: E2eNode;
let ui: E2eBrowser;
const gateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'logs-fold-'));
const gate = path.join(gateDir, 'ready');

describe('the Logs page', () => {
  beforeAll(async () => {
    // demo answers 503 to each probe until the test lets it turn ready (the gate file).
    node = await startE2eNode({ demoFlags: ['--ready-file', gate] });
    ui = await openBrowser();
  });
  afterAll(async () => {
    await closeEvery([ui, node].filter((f) => f !== undefined));
    fs.rmSync(gateDir, { recursive: true, force: true });
  });

  it("shows a loading engine's probe lines as one line with a count", async () => {
    const { page } = ui;
    const started = node.node.api.startModel('demo');
    const probeLines = async () => (await node.node.api.modelLogs('demo', 2000)).filter((l) => l.text === 'demo-engine: GET /health 503').length;
    // Loading until several probes were answered 503, however slowly this machine runs them.
    await waitFor(async () => (await probeLines()) >= 4, 30_000, 'four probes answered 503');
    fs.writeFileSync(gate, '');
    await started;
    const probes = await probeLines();
    expect(probes).toBeGreaterThanOrEqual(4);

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
