// The window against a real node: a temp config.yaml whose models run scripts/demo-engine.mjs,
// the router serving dist/renderer at /, and a real Chromium driven by playwright-core.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { stringify } from 'yaml';
import { runCommand, type RunCommand } from '../../src-main/core/devices/run-command.js';
import { silentLogger } from '../../src-main/core/logger.js';
import { createNode, type LlmNode } from '../../src-main/core/node.js';
import { freePorts } from '../helpers/ports.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const DEMO_ENGINE = path.join(ROOT, 'scripts', 'demo-engine.mjs');
export const WEB_UI_DIR = path.join(ROOT, 'dist', 'renderer');
export const SCREENSHOT_DIR = path.join(ROOT, 'test-results', 'screenshots');
const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';

/** A model that writes coloured errors (as llama.cpp does) and exits before it is ready. */
const BROKEN_ENGINE = [
  "const e = (s) => process.stderr.write(s + '\\n');",
  "e('llama_model_load: loading model from /models/qwen-14b-q4_k_m.gguf');",
  "e('\\x1b[33mwarning:\\x1b[0m no GPU found, offloading 0 of 41 layers');",
  "e('\\x1b[1;31merror:\\x1b[0m failed to allocate 9.4 GB for the KV cache: \\x1b[31mout of memory\\x1b[0m');",
  "setTimeout(() => process.exit(1), 150);",
].join(' ');

export interface E2eNode {
  node: LlmNode;
  url: string;
  dir: string;
  configPath: string;
  ports: Record<string, number>;
  /** Answers as a Windows (WDDM) driver does from now on: processes listed, their memory "[N/A]". */
  setWddm(on: boolean): void;
  /** Closes the node as quitting LLM Manager does (engines stopped), keeping its folder, config and port. */
  shutDown(): Promise<void>;
  /** A new node on the same port and config, as when LLM Manager is started again. */
  startAgain(): Promise<void>;
  close(): Promise<void>;
}

/**
 * `empty`: no models and GPU monitoring off, for the empty states; `apiKeys`: program.api_keys;
 * `demoFlags`: more demo-engine flags for the `demo` model (later ones win); `deviceIdleMs`: how
 * often the node reads the devices while nobody watches (default: the node's own 30 s).
 */
export async function startE2eNode(options: { empty?: boolean; apiKeys?: string[]; demoFlags?: string[]; deviceIdleMs?: number; extraModels?: Record<string, (port: number) => Record<string, unknown>>; peers?: Record<string, unknown>[] } = {}): Promise<E2eNode> {
  if (!fs.existsSync(path.join(WEB_UI_DIR, 'index.html'))) {
    throw new Error(`${WEB_UI_DIR}/index.html is missing: run "npm run build:renderer" first (npm test does)`);
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'llm-manager-e2e-'));
  const extra = Object.entries(options.extraModels ?? {});
  const [routerPort, chatPort, embedPort, rerankPort, brokenPort, ...extraPorts] = (await freePorts(5 + extra.length)) as [number, number, number, number, number, ...number[]];
  const demo = (...flags: string[]) => ({ required_devices: [], command: process.execPath, args: [DEMO_ENGINE, '--load-ms', '300', ...flags] });
  const config = {
    program: { host: '127.0.0.1', port: routerPort, log_level: 'ERROR', alive_time: 15, Disable_GPU_monitoring: false, log_dir: 'logs' },
    'Local-Models': {
      // memory_mb: what the window shows for it where the driver doesn't report per-process memory.
      demo: { aliases: ['demo-chat'], mode: 'Chat', port: chatPort, 'CPU-Config': { ...demo('--stream-delay-ms', '100', ...(options.demoFlags ?? [])), memory_mb: { gpu0: 7900 } } },
      'demo-embed': { aliases: ['embed'], mode: 'Embedding', port: embedPort, alive_time: 0, 'CPU-Config': demo('--embedding-dim', '384') },
      'demo-rerank': { mode: 'Reranker', port: rerankPort, 'CPU-Config': demo() },
      broken: { mode: 'Chat', port: brokenPort, 'GPU-Config': { required_devices: [], command: process.execPath, args: ['-e', BROKEN_ENGINE] } },
      // More models a test needs (each given its own free port).
      ...Object.fromEntries(extra.map(([name, model], i) => [name, model(extraPorts[i]!)])),
    },
  };
  if (options.empty) {
    config['Local-Models'] = {} as typeof config['Local-Models'];
    config.program.Disable_GPU_monitoring = true;
  }
  const configPath = path.join(dir, 'config.yaml');
  const withPeers = options.peers ? { ...config, peers: options.peers } : config;
  fs.writeFileSync(configPath, stringify(options.apiKeys ? { ...withPeers, program: { ...config.program, api_keys: options.apiKeys } } : withPeers));

  const pids = new Set<number>();
  let node: LlmNode | null = null;
  let running = false;
  let unsubscribe = () => {};
  const smi = { wddm: false };
  const boot = async () => {
    node = await createNode({
      configPath,
      port: routerPort,
      webUiDir: WEB_UI_DIR,
      logger: silentLogger,
      // Peers are read often, so one that goes or comes back shows within a moment.
      ...(options.peers ? { peerPollMs: 200 } : {}),
      // The empty node has no nvidia-smi at all (a path that doesn't exist).
      deviceMonitor: options.empty ? { nvidiaSmi: path.join(dir, 'no-nvidia-smi') } : { intervalMs: 1000, ...(options.deviceIdleMs ? { idleIntervalMs: options.deviceIdleMs } : {}), nvidiaSmi: FAKE_SMI, run: fakeNvidiaRun(() => node, smi) },
    });
    running = true;
    // Model events only: a listener for everything would keep the node polling the GPUs.
    unsubscribe = node.events.subscribe(
      (event) => {
        if (event.type === 'model' && event.model.pid) pids.add(event.model.pid);
      },
      ['model'],
    );
  };
  const shutDown = async () => {
    if (!running) return;
    running = false;
    try {
      await node!.close();
    } finally {
      unsubscribe();
    }
  };
  await boot();
  const ports = { demo: chatPort, 'demo-embed': embedPort, 'demo-rerank': rerankPort, broken: brokenPort };
  return {
    get node() {
      return node!;
    },
    url: node!.url,
    dir,
    configPath,
    ports,
    setWddm(on) {
      smi.wddm = on;
    },
    shutDown,
    startAgain: boot,
    async close() {
      await shutDown();
      const survivors = [...pids].filter(isRunning);
      for (const pid of survivors) process.kill(pid, 'SIGKILL');
      fs.rmSync(dir, { recursive: true, force: true });
      if (survivors.length > 0) throw new Error(`engine processes still running after close: ${survivors.join(', ')}`);
    },
  };
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^[ZX]$/.test(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0] ?? '');
  } catch {
    return process.platform !== 'linux';
  }
}

// This machine has no GPU: the node's own device monitor runs against a stand-in for nvidia-smi
// (through its `run` seam) that reports one card, with the engines really running holding memory
// on it. A second card answers only the first query, so the monitor shows it offline afterwards.
const FAKE_SMI = 'fake-nvidia-smi';
const ENGINE_MB: Record<string, number> = { demo: 7900, 'demo-embed': 1300, 'demo-rerank': 900 };

function fakeNvidiaRun(node: () => LlmNode | null, smi: { wddm: boolean }): RunCommand {
  let gpuCalls = 0;
  return async (file, args, timeoutMs) => {
    if (file !== FAKE_SMI) return runCommand(file, args, timeoutMs);
    const running = (node()?.registry.list() ?? []).filter((s) => s.currentState === 'ready' && s.pid !== null);
    const apps = [...running.map((s) => ({ pid: s.pid!, mb: ENGINE_MB[s.name] ?? 2000 })), { pid: 999_999, mb: 1150 }];
    if (args[0]?.startsWith('--query-compute-apps')) {
      return { stdout: apps.map((a) => `GPU-e2e-0, ${a.pid}, ${smi.wddm ? '[N/A]' : a.mb}`).join('\n'), stderr: '', code: 0 };
    }
    gpuCalls += 1;
    const used = apps.reduce((sum, a) => sum + a.mb, 0) + 350;
    const busy = running.length > 0;
    const util = busy ? Math.round(40 + 25 * Math.sin(Date.now() / 4000)) : 1;
    const rows = [`0, GPU-e2e-0, NVIDIA GeForce RTX 4090, 24564, ${used}, ${24564 - used}, ${util}, ${busy ? 61 : 38}, ${busy ? 212.4 : 22.1}`];
    if (gpuCalls === 1) rows.push('1, GPU-e2e-1, Tesla V100-SXM2-32GB, 32768, 0, 32768, 0, 35, 40.0');
    return { stdout: rows.join('\n'), stderr: '', code: 0 };
  };
}

export interface E2eBrowser {
  browser: Browser;
  context: BrowserContext;
  page: Page;
  /** Screenshots of the current page in light and dark, as `<name>-light.png` / `<name>-dark.png` (toasts dismissed first). */
  screenshot(name: string, options?: { keepToasts?: boolean }): Promise<string[]>;
  /** A page as it looks with 150 % display scaling (a 1280×800 window's worth of CSS pixels ÷ 1.5). */
  screenshotAt150(name: string, url: string): Promise<string>;
  close(): Promise<void>;
}

export async function openBrowser(): Promise<E2eBrowser> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--headless', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic'],
  });
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, colorScheme: 'light', reducedMotion: 'reduce' });
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  const problems: string[] = [];
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !/Failed to load resource/.test(msg.text())) problems.push(`console error: ${msg.text()}`);
  });
  fs.mkdirSync(SCREENSHOT_DIR, { recursive: true });
  return {
    browser,
    context,
    page,
    async screenshot(name, options = {}) {
      if (!options.keepToasts) {
        // One at a time from the first: each dismissal re-lays the others out.
        const dismiss = page.getByTestId('toast').getByRole('button', { name: 'Dismiss' });
        for (let i = 0; i < 8 && (await dismiss.count()) > 0; i++) await dismiss.first().click({ timeout: 1000 }).catch(() => undefined);
      }
      const files: string[] = [];
      for (const scheme of ['light', 'dark'] as const) {
        await page.emulateMedia({ colorScheme: scheme });
        await page.waitForTimeout(120); // charts redraw with the new palette
        const file = path.join(SCREENSHOT_DIR, `${name}-${scheme}.png`);
        await page.screenshot({ path: file });
        files.push(file);
      }
      await page.emulateMedia({ colorScheme: 'light' });
      return files;
    },
    async screenshotAt150(name, url) {
      const zoomed = await browser.newContext({ viewport: { width: 853, height: 533 }, deviceScaleFactor: 1.5, reducedMotion: 'reduce' });
      try {
        const p = await zoomed.newPage();
        await p.goto(url);
        await p.locator('.status-strip [data-testid="endpoint"]').waitFor();
        await p.waitForTimeout(300);
        const file = path.join(SCREENSHOT_DIR, `${name}-150.png`);
        await p.screenshot({ path: file });
        return file;
      } finally {
        await zoomed.close();
      }
    },
    async close() {
      await browser.close();
      if (problems.length > 0) throw new Error(`the page reported problems:\n${problems.join('\n')}`);
    },
  };
}
