// GET /health tells a probe the truth (JSON, 503 while stopping), needs no key but reveals nothing,
// and unknown paths are JSON 404s: only a browser opening one of the window's pages gets the page.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { nodeHealthSchema, errorBodySchema } from '../../src-shared/api-schemas.js';
import { isUiNavigation } from '../../src-main/core/router/server.js';
import { appVersion } from '../../src-main/core/version.js';
import { waitFor } from '../helpers/http.js';
import { closeAllNodes, startNode, type NodeFixture } from '../helpers/node-fixture.js';
import { rawRequest } from '../helpers/raw-http.js';

const KEY = 'health-test-key-0123456789abcdef';
const HTML = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';
const dirs: string[] = [];

afterEach(async () => {
  await closeAllNodes();
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

function webUi(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'llm-ui-'));
  dirs.push(dir);
  fs.writeFileSync(path.join(dir, 'index.html'), '<!doctype html><title>ui</title>');
  fs.mkdirSync(path.join(dir, 'assets'));
  fs.writeFileSync(path.join(dir, 'assets', 'app.js'), 'console.log(1)');
  return dir;
}

describe('GET /health', () => {
  it('answers JSON with status, version, uptime and model counts, also at /healthz and for HEAD', async () => {
    const fx = await startNode({ models: [{ name: 'a', flags: ['--load-ms', '20'] }, { name: 'b' }], nodeOptions: { webUiDir: webUi() } });
    for (const p of ['/health', '/healthz']) {
      const res = await rawRequest(fx.url, { path: p, headers: { accept: '*/*' } });
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      expect(res.headers['cache-control']).toBe('no-store');
      expect(nodeHealthSchema.parse(res.json)).toEqual({ status: 'ok', version: appVersion(), uptimeS: expect.any(Number), models: { ready: 0, total: 2 } });
    }
    await fx.node.api.startModel('a');
    expect((await rawRequest(fx.url, { path: '/health' })).json.models).toEqual({ ready: 1, total: 2 });
    const head = await rawRequest(fx.url, { method: 'HEAD', path: '/health' });
    expect([head.status, head.text]).toEqual([200, '']);
    const post = await rawRequest(fx.url, { method: 'POST', path: '/health' });
    expect(post.status).toBe(405);
  });

  it('needs no API key, but says nothing a stranger may not know; /api/health still needs the key', async () => {
    const fx = await startNode({ models: [{ name: 'secret-model', aliases: ['hidden'] }], program: { api_keys: [KEY] } });
    const res = await rawRequest(fx.url, { path: '/health' });
    expect(res.status).toBe(200);
    expect(res.text).not.toContain('secret-model');
    expect(res.text).not.toContain('hidden');
    expect(res.text).not.toContain(fx.dir);
    expect(res.text).not.toContain(String(fx.ports['secret-model']));
    expect(Object.keys(res.json).sort()).toEqual(['models', 'status', 'uptimeS', 'version']);
    expect((await rawRequest(fx.url, { path: '/api/health' })).status).toBe(401);
  });

  it('keeps the DNS-rebinding guard: a foreign Host is refused', async () => {
    const fx = await startNode({ models: [{ name: 'a' }] });
    const res = await rawRequest(fx.url, { path: '/health', headers: { host: `evil.example:${fx.routerPort}` } });
    expect(res.status).toBe(403);
    expect(res.json.error.code).toBe('host_not_allowed');
  });

  it('says degraded (still 200) while the config file on disk is invalid: the last good config runs', async () => {
    const fx = await startNode({ models: [{ name: 'a' }] });
    fs.writeFileSync(fx.configPath, 'program: [not, a, mapping\n');
    await waitFor(async () => (await rawRequest(fx.url, { path: '/health' })).json.status === 'degraded', 5000, 'degraded');
    expect((await rawRequest(fx.url, { path: '/health' })).status).toBe(200);
  });

  it('answers 503 "stopping" once close() has begun', async () => {
    // The engine ignores SIGTERM, so close() takes stop_timeout; a request already on the wire is answered meanwhile.
    const fx = await startNode({ models: [{ name: 'a', flags: ['--load-ms', '20', '--ignore-sigterm'], stopTimeout: '1500ms' }] });
    await fx.node.api.startModel('a');
    const reply = await requestAcrossClose(fx, 'GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n');
    expect(reply).toMatch(/^HTTP\/1\.1 503 /);
    const body = JSON.parse(reply.slice(reply.indexOf('\r\n\r\n') + 4)) as unknown;
    expect(nodeHealthSchema.parse(body).status).toBe('stopping');
  });
});

/** Sends the head's first lines, calls close(), then finishes the request on the same connection. */
function requestAcrossClose(fx: NodeFixture, head: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(fx.routerPort, '127.0.0.1', () => {
      socket.write(head);
      setTimeout(() => {
        void fx.close();
        setTimeout(() => socket.write('\r\n'), 100);
      }, 100);
    });
    let received = '';
    socket.on('data', (d: Buffer) => (received += d.toString()));
    socket.on('end', () => resolve(received));
    socket.on('error', reject);
  });
}

describe('unknown paths', () => {
  it('are JSON 404s in the OpenAI error shape, with or without the web UI', async () => {
    for (const ui of [webUi(), null]) {
      const fx = await startNode({ models: [{ name: 'a' }], nodeOptions: { webUiDir: ui } });
      for (const p of ['/nope', '/v2/chat/completions', '/assets/missing.js', '/favicon.ico', '/robots.txt', '/metricz']) {
        const res = await rawRequest(fx.url, { path: p, headers: { accept: '*/*' } });
        expect(res.status, p).toBe(404);
        expect(res.headers['content-type']).toMatch(/^application\/json/);
        expect(errorBodySchema.parse(res.json).error.code).toBe('unknown_url');
      }
      // Not a navigation: a POST, or a GET that doesn't ask for HTML.
      expect((await rawRequest(fx.url, { method: 'POST', path: '/models', headers: { accept: HTML } })).status).toBe(404);
      expect((await rawRequest(fx.url, { path: '/models', headers: { accept: 'application/json' } })).status).toBe(404);
      await fx.close();
    }
  });

  it('a browser opening one of the window\'s pages gets the page; its files are served as they are', async () => {
    const fx = await startNode({ models: [{ name: 'a' }], nodeOptions: { webUiDir: webUi() } });
    for (const p of ['/', '/models', '/logs/a']) {
      const res = await rawRequest(fx.url, { path: p, headers: { accept: HTML } });
      expect(res.status, p).toBe(200);
      expect(res.text).toContain('<title>ui</title>');
    }
    const asset = await rawRequest(fx.url, { path: '/assets/app.js', headers: { accept: '*/*' } });
    expect([asset.status, asset.text]).toEqual([200, 'console.log(1)']);
    // A missing file is not the page, even for a browser.
    expect((await rawRequest(fx.url, { path: '/assets/gone.js', headers: { accept: HTML } })).status).toBe(404);
  });

  it('isUiNavigation: HTML GETs of extension-less paths outside the APIs', () => {
    expect(isUiNavigation('GET', HTML, '/models')).toBe(true);
    expect(isUiNavigation('HEAD', 'text/html', '/config/')).toBe(true);
    expect(isUiNavigation('GET', '*/*', '/models')).toBe(false);
    expect(isUiNavigation('GET', undefined, '/models')).toBe(false);
    expect(isUiNavigation('GET', 'text/htmlx', '/models')).toBe(false);
    expect(isUiNavigation('POST', HTML, '/models')).toBe(false);
    expect(isUiNavigation('GET', HTML, '/x.png')).toBe(false);
    for (const p of ['/v1', '/v1/x', '/api/y', '/metrics', '/health', '/healthz']) expect(isUiNavigation('GET', HTML, p)).toBe(false);
    expect(isUiNavigation('GET', HTML, '/v1beta')).toBe(true);
  });
});
