// express and the management API's schemas load on the first /api or web UI request (server.ts):
// whatever arrives while they load is answered once they have, bodies included, and the event
// stream an open browser window holds is served without them.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { closeAllNodes, startNode } from '../helpers/node-fixture.js';
import { rawRequest } from '../helpers/raw-http.js';

const dirs: string[] = [];
afterEach(async () => {
  await closeAllNodes();
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

describe('handlers loaded on first use', () => {
  it('the first requests to /api and the web UI, sent together, are all answered', async () => {
    const ui = fs.mkdtempSync(path.join(os.tmpdir(), 'llm-ui-'));
    dirs.push(ui);
    fs.writeFileSync(path.join(ui, 'index.html'), '<!doctype html><title>ui</title>');
    const fx = await startNode({ models: [{ name: 'a' }, { name: 'b' }], nodeOptions: { webUiDir: ui } });
    const text = fs.readFileSync(fx.configPath, 'utf8');
    const answers = await Promise.all([
      rawRequest(fx.url, { path: '/api/models' }),
      rawRequest(fx.url, { path: '/api/models/b/info' }),
      rawRequest(fx.url, { path: '/api/nope' }),
      rawRequest(fx.url, { method: 'POST', path: '/api/config/check', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text }) }),
      rawRequest(fx.url, { path: '/', headers: { accept: 'text/html' } }),
      rawRequest(fx.url, { path: '/models', headers: { accept: 'text/html' } }),
    ]);
    expect(answers.map((a) => a.status)).toEqual([200, 200, 404, 200, 200, 200]);
    expect((answers[0]!.json as Array<{ name: string }>).map((m) => m.name)).toEqual(['a', 'b']);
    expect(answers[2]!.json).toMatchObject({ error: { code: 'unknown_url' } });
    expect(answers[3]!.json).toEqual({ ok: true, issues: [] });
    expect(answers[1]!.json).toMatchObject({ name: 'b' });
    expect(answers[4]!.text).toContain('<title>ui</title>');
  });

  it('GET /api/events streams the models without loading the management app', async () => {
    const fx = await startNode({ models: [{ name: 'a' }] });
    const controller = new AbortController();
    const res = await fetch(`${fx.url}/api/events`, { signal: controller.signal });
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const reader = res.body!.getReader();
    let seen = '';
    while (!seen.includes('"name":"a"')) seen += new TextDecoder().decode((await reader.read()).value);
    controller.abort();
    expect(seen).toMatch(/^: connected\n\nevent: model\n/);
  });
});
