// The window shows a peer's models (#16 item 3, 6): a second real node on loopback is this node's
// peer; its models are rows here with a "peer: desk" chip and the peer's own states; when the peer
// goes away they grey out with the reason, and they come back when it does.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { closeEvery } from '../helpers/processes.js';
import { closeAllNodes, startNode, type NodeFixture } from '../helpers/node-fixture.js';
import { openBrowser, startE2eNode, type E2eBrowser, type E2eNode } from './fixture.js';

let peer: NodeFixture;
let node: E2eNode;
let ui: E2eBrowser;
let page: Page;

describe("a peer's models in the window", () => {
  beforeAll(async () => {
    peer = await startNode({ models: [{ name: 'qwen-desk', aliases: ['desk-chat'] }, { name: 'embed-desk', mode: 'Embedding' }] });
    node = await startE2eNode({ peers: [{ name: 'desk', url: peer.url }] });
    ui = await openBrowser();
    page = ui.page;
    await page.goto(`${node.url}/#/models`);
    await page.getByTestId('router-state').getByText('Online').waitFor();
  });

  afterAll(async () => {
    await closeEvery([ui, node].filter((f) => f !== undefined));
    await closeAllNodes();
  });

  it('lists them with the peer named and its states; a request through this node shows the peer running it', async () => {
    const row = page.locator('tr.model-row[data-model="qwen-desk"]');
    await row.locator('.chip[data-upstream="peer"]').getByText('peer: desk').waitFor();
    await row.locator('.badge[data-state="stopped"]').waitFor();
    await page.locator('tr.model-row[data-model="embed-desk"] .chip[data-upstream="peer"]').waitFor();

    const res = await fetch(`${node.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'desk-chat', messages: [{ role: 'user', content: 'hi' }] }) });
    expect(res.status).toBe(200);
    await row.locator('.badge[data-state="ready"]').waitFor();
    expect(await peer.spawnCount('qwen-desk')).toBe(1);
    await ui.screenshot('models-peer');
  });

  it('greys them out with the reason while the peer is away, and brings them back when it answers', async () => {
    const port = peer.routerPort;
    await peer.close();
    const row = page.locator('tr.model-row[data-model="qwen-desk"]');
    await page.locator('tr.model-row.is-away[data-model="qwen-desk"]').waitFor();
    await page.locator('.failure-reason').getByText(`the LLM Manager node "desk" at http://127.0.0.1:${port} is not reachable: ECONNREFUSED`).first().waitFor();
    await ui.screenshot('models-peer-away');

    peer = await startNode({ models: [{ name: 'qwen-desk', aliases: ['desk-chat'] }, { name: 'embed-desk', mode: 'Embedding' }], nodeOptions: { port } });
    await row.locator('.badge[data-state="stopped"]').waitFor({ timeout: 15_000 });
    expect(await row.evaluate((el) => el.className)).not.toContain('is-away');
  });
});
