// "Add model" end to end, as a new user goes: from the Models page to the Deploy page, download a
// GGUF file from a (local, fake) Hugging Face hub with a progress bar, use it, put it on the GPU,
// see the exact command and the config entry, Save and start, and it answers through /v1 — the
// stand-in llama-server is the demo engine. Screenshots along the way (light and dark).
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import type { Page } from 'playwright-core';
import { waitFor } from '../helpers/http.js';
import { closeEvery } from '../helpers/processes.js';
import { ggufBytes, modelKv } from '../helpers/gguf-writer.js';
import { startFakeHub, type FakeHub } from '../fixtures/fake-hub.js';
import { DEMO_ENGINE, openBrowser, startE2eNode, type E2eBrowser, type E2eNode } from './fixture.js';

const REPO = 'acme/Tiny-Chat-GGUF';
const FILE = 'tiny-chat-q4_k_m.gguf';
let node: E2eNode;
let hub: FakeHub;
let ui: E2eBrowser;
let page: Page;

describe('the Add model page', () => {
  beforeAll(async () => {
    hub = await startFakeHub();
    // A real GGUF header (the library reads it), then bytes enough to watch a progress bar move.
    const header = ggufBytes({ kv: modelKv({ arch: 'qwen2', name: 'Tiny Chat', fileType: 15, context: 32768 }), tensors: [{ name: 't', dims: [8, 8] }] });
    hub.addFile(REPO, FILE, { data: Buffer.concat([header, randomBytes(3 * 1024 * 1024)]) });
    hub.throttle(1024 * 1024);
    node = await startE2eNode();
    // llama-server here is the demo engine given llama-server's arguments; downloads come from the fake hub.
    fs.writeFileSync(path.join(node.dir, 'fake-llama-server'), `#!/bin/sh\nexec "${process.execPath}" "${DEMO_ENGINE}" --load-ms 300 --quiet "$@"\n`, { mode: 0o755 });
    const config = parse(fs.readFileSync(node.configPath, 'utf8')) as { program: Record<string, unknown> };
    Object.assign(config.program, { engines: { llama_server: './fake-llama-server' }, hf_endpoint: hub.url, engine_ports: '20500-20549' });
    const saved = await node.node.api.saveConfig(stringify(config));
    expect(saved.ok).toBe(true);
    ui = await openBrowser();
    page = ui.page;
    await page.goto(`${node.url}/#/models`);
    await page.getByTestId('router-state').getByText('Online').waitFor();
  });

  afterAll(() => closeEvery([ui, node, hub].filter((f) => f !== undefined)));

  it('downloads a file with a progress bar, shows the command and the entry, and Save and start runs it', async () => {
    await page.getByRole('link', { name: 'Add model' }).first().click();
    await page.getByRole('heading', { name: 'Add a model' }).waitFor();
    expect(page.url()).toMatch(/#\/deploy$/);
    await page.getByText('No GGUF files in the models folders yet').waitFor();
    await ui.screenshot('deploy-empty');

    // Download: the bar moves, with speed and time left, then it is done and checked.
    await page.getByRole('tab', { name: 'Download' }).click();
    await page.getByLabel('Hugging Face repo').fill(REPO);
    await page.getByLabel('File', { exact: true }).fill(FILE);
    await page.getByRole('button', { name: 'Download', exact: true }).click();
    const row = page.locator(`.download-row[data-download="${REPO}/${FILE}"]`);
    const bar = row.getByRole('progressbar');
    await waitFor(async () => {
      const now = Number((await bar.getAttribute('aria-valuenow')) ?? 0);
      return now >= 20 && now < 90;
    }, 10_000, 'the bar between 20 and 90 %');
    expect(await row.locator('.download-status').textContent()).toMatch(/^\d\.\d MB of 3\.0 MB · \d\.\d MB\/s · \d+ s left$/);
    await ui.screenshot('deploy-downloading');
    await row.getByText(/^Done · 3\.0 MB · SHA-256 checked$/).waitFor({ timeout: 15_000 });
    expect(await bar.getAttribute('aria-valuenow')).toBe('100');
    const file = path.join(node.dir, 'models', 'acme', 'Tiny-Chat-GGUF', FILE);
    expect(fs.existsSync(file)).toBe(true);

    // Use it: the library tab, the file chosen, a name from the file.
    await row.getByRole('button', { name: 'Use this file' }).click();
    const chosen = page.locator('.file-row.is-chosen');
    await chosen.waitFor();
    expect(await chosen.getAttribute('data-file')).toBe(`acme/Tiny-Chat-GGUF/${FILE}`);
    expect(await chosen.textContent()).toContain('qwen2');
    expect(await page.getByLabel('Name').inputValue()).toBe('tiny-chat-q4_k_m');
    await page.getByLabel('Name').fill('tiny-chat');
    await page.getByLabel('Aliases').fill('my-assistant');

    // On the GPU (the fake nvidia-smi's RTX 4090): every layer there, the memory against its free memory.
    await page.getByLabel(/NVIDIA GeForce RTX 4090/).check();
    const command = page.getByTestId('deploy-command');
    await command.filter({ hasText: '--n-gpu-layers all' }).waitFor();
    expect(await command.textContent()).toBe(`${path.join(node.dir, 'fake-llama-server')} -m ${file} --alias tiny-chat --ctx-size 8192 --n-gpu-layers all --host 127.0.0.1 --port \${PORT}`);
    const entry = (await page.getByTestId('deploy-entry').textContent()) ?? '';
    expect(entry).toContain('tiny-chat:\n  aliases:\n    - my-assistant\n  mode: Chat\n  GPU-Config:\n    engine: llama.cpp\n    model: models/acme/Tiny-Chat-GGUF/tiny-chat-q4_k_m.gguf');
    expect(entry).toMatch(/required_devices:\n {6}- gpu0\n {4}memory_mb:\n {6}gpu0: \d+/);
    await page.getByText(/on NVIDIA GeForce RTX 4090/).waitFor();
    expect(await page.locator('.fit-free').first().textContent()).toMatch(/GB free$/);
    await ui.screenshot('deploy-form');

    // A name that is taken says so in place, and nothing is saved.
    await page.getByLabel('Name').fill('demo');
    await page.getByText('There is a model called "demo" already: pick another name, or remove that one first.').waitFor();
    expect(await page.getByRole('button', { name: 'Save and start' }).isDisabled()).toBe(true);
    await ui.screenshot('deploy-name-taken');
    await page.getByLabel('Name').fill('tiny-chat');
    await command.filter({ hasText: '--alias tiny-chat ' }).waitFor();

    // Save and start: back on the Models page, the new row starts and is ready.
    await page.getByRole('button', { name: 'Save and start' }).click();
    await page.waitForURL(/#\/models$/);
    const newRow = page.locator('tr.model-row[data-model="tiny-chat"]');
    await newRow.locator('.badge[data-state="ready"]').waitFor({ timeout: 15_000 });
    await ui.screenshot('deploy-started');
    const text = fs.readFileSync(node.configPath, 'utf8');
    expect(text).toContain('  tiny-chat:\n    aliases:\n      - my-assistant\n');
    expect(fs.existsSync(`${node.configPath}.bak`)).toBe(true);

    // It answers under its alias through the one endpoint.
    const res = await fetch(`${node.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'my-assistant', messages: [{ role: 'user', content: 'hi' }], max_tokens: 2 }) });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { model: string }).model).toBe('tiny-chat');

    // The library says who uses the file now.
    await page.goto(`${node.url}/#/deploy`);
    await page.getByRole('tab', { name: 'Library file' }).click();
    await page.locator(`.file-row[data-file="acme/Tiny-Chat-GGUF/${FILE}"]`).getByText('tiny-chat', { exact: true }).waitFor();
  });

  it("removes a model from its details, with its file when asked: the entry goes, the engine stops", async () => {
    const file = path.join(node.dir, 'models', 'acme', 'Tiny-Chat-GGUF', FILE);
    await page.goto(`${node.url}/#/models`);
    const row = page.locator('tr.model-row[data-model="tiny-chat"]');
    await row.locator('.badge[data-state="ready"]').waitFor();
    await row.locator('.col-name').click();
    await page.getByRole('button', { name: 'Remove…' }).click();
    const dialog = page.getByTestId('confirm-dialog');
    await dialog.getByText('Remove tiny-chat?').waitFor();
    await dialog.getByLabel(/Also delete its model file/).check();
    await ui.screenshot('deploy-remove-confirm', { keepToasts: true });
    await dialog.getByRole('button', { name: 'Remove', exact: true }).click();
    await row.waitFor({ state: 'detached' });
    await page.getByText(`Removed tiny-chat. Deleted ${FILE}.`).waitFor();
    expect(fs.existsSync(file)).toBe(false);
    expect(fs.readFileSync(node.configPath, 'utf8')).not.toContain('tiny-chat');
    expect((await node.node.api.listModels()).map((m) => m.name)).not.toContain('tiny-chat');
  });

  it('takes a Hugging Face id for vLLM or SGLang, and says when the engine is not installed', async () => {
    await page.goto(`${node.url}/#/deploy`);
    await page.getByRole('tab', { name: /Hugging Face id/ }).click();
    await page.getByLabel('Hugging Face id or model folder').fill('Qwen/Qwen2.5-7B-Instruct');
    expect(await page.getByLabel('Name').inputValue()).toBe('qwen2.5-7b-instruct');
    const command = page.getByTestId('deploy-command');
    await page.getByLabel('Engine').selectOption('sglang');
    await command.filter({ hasText: 'sglang.launch_server' }).waitFor();
    await page.getByLabel('Engine').selectOption('vllm');
    await page.getByLabel(/NVIDIA GeForce RTX 4090/).check();
    await command.filter({ hasText: '--gpu-memory-utilization 0.9' }).waitFor();
    expect(await command.textContent()).toBe('vllm serve Qwen/Qwen2.5-7B-Instruct --served-model-name qwen2.5-7b-instruct --host 127.0.0.1 --port ${PORT} --gpu-memory-utilization 0.9');
    // vLLM isn't installed here: the check says how to install it, and a save is still allowed (a warning).
    await page.getByText(/install vLLM/).waitFor();
    expect(await page.getByRole('button', { name: 'Save', exact: true }).isEnabled()).toBe(true);
    await ui.screenshot('deploy-hub-id');
  });
});
