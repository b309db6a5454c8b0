// The Devices page as a window opened late finds it (issue #13 item 9): the node kept reading while
// nobody watched, so the charts have the minutes before; the engines' RAM is theirs, not "other
// processes"; busy and idle add up to 100 %; a span without readings says so.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { closeEvery } from '../helpers/processes.js';
import { openBrowser, startE2eNode, type E2eBrowser, type E2eNode } from './fixture.js';

let node: E2eNode;
let ui: E2eBrowser;
let page: Page;

const IDLE_MS = 1500;

describe('the Devices page', () => {
  beforeAll(async () => {
    node = await startE2eNode({ deviceIdleMs: IDLE_MS });
    ui = await openBrowser();
    page = ui.page;
  });

  afterAll(() => closeEvery([ui, node].filter((f) => f !== undefined)));

  it('has the readings the node took while nobody watched', async () => {
    await node.node.api.startModel('demo');
    expect(node.node.events.wants('devices')).toBe(false);
    // Nobody watches: the node still reads now and then.
    const history = async () => ((await (await fetch(`${node.url}/api/devices/history`)).json()) as { at: number[] }).at;
    await expect.poll(async () => (await history()).length, { timeout: 15_000 }).toBeGreaterThanOrEqual(3);
    const at = await history();
    for (let i = 1; i < at.length; i++) expect(at[i]! - at[i - 1]!).toBeGreaterThan(IDLE_MS * 0.6);

    await page.goto(`${node.url}/#/devices`);
    const gpu = page.locator('[data-device="gpu0"]');
    await gpu.locator('.chart canvas').waitFor();
    expect(Number(await gpu.locator('.chart-figure').getAttribute('data-points'))).toBeGreaterThanOrEqual(3);
    // The node started a moment ago: the rest of the 10 minutes is a span of no readings, and says so.
    expect(Number(await gpu.locator('.chart-figure').getAttribute('data-gaps'))).toBe(1);
    expect(await gpu.locator('.chart').getAttribute('aria-label')).toContain('with spans of no readings');
  });

  it("splits system memory by engine: demo's RAM is demo's, the rest other processes", async () => {
    const ram = page.locator('[data-device="ram"]');
    await expect.poll(() => ram.locator('.legend').textContent(), { timeout: 10_000 }).toMatch(/demo\d+ MB/);
    const labels = await ram.locator('.legend li > span:nth-child(2)').allTextContents();
    expect(labels).toEqual(['demo', 'other processes', 'free']);
    expect(await ram.locator('.membar-seg.seg-model').count()).toBe(1);
  });

  it('says busy and idle that add up to 100 %', async () => {
    const cpu = page.locator('[data-device="cpu"]');
    const figures = async () => {
      const nums = await cpu.locator('.legend .num').allTextContents();
      return nums.map((n) => Number(n.replace(/[^\d]/g, '')));
    };
    await expect.poll(async () => (await figures()).length).toBe(2);
    for (let i = 0; i < 5; i++) {
      const [busy, idle] = await figures();
      expect(busy! + idle!).toBe(100);
      await page.waitForTimeout(300);
    }
    await page.mouse.move(0, 0);
    await page.locator('[data-device="ram"]').scrollIntoViewIfNeeded();
    await ui.screenshot('devices-ram');
  });
});
