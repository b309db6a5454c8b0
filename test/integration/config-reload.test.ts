// A saved config applies to the running node: names route at once, a changed running model
// restarts only once it is idle, removed models stop, an invalid save writes nothing.
import fs from 'node:fs';
import { parse, stringify } from 'yaml';
import { afterEach, describe, expect, it } from 'vitest';
import { closeAllNodes, startNode } from '../helpers/node-fixture.js';
import { chat, postJson, readJson, waitFor } from '../helpers/http.js';

afterEach(closeAllNodes);

describe('saving the config while models run', () => {
  it('routes a new alias of a running model at once, restarts it only when idle, and stops removed models', async () => {
    const fx = await startNode({
      models: [
        { name: 'demo', aliases: ['first'], flags: ['--load-ms', '50', '--stream-delay-ms', '100', '--max-tokens-default', '8'] },
        { name: 'other', flags: ['--load-ms', '50'] },
      ],
    });
    expect((await postJson(`${fx.url}/v1/chat/completions`, chat('first'))).status).toBe(200);
    expect((await postJson(`${fx.url}/v1/chat/completions`, chat('other'))).status).toBe(200);
    const pidBefore = (await fx.info('demo')).pid;

    // A stream is in flight while the change is saved: it must finish on the old engine.
    const streaming = postJson(`${fx.url}/v1/chat/completions`, chat('demo', { stream: true }));
    await waitFor(async () => (await fx.info('demo')).inFlight === 1, 3000, 'the stream to start');

    const doc = parse(fs.readFileSync(fx.configPath, 'utf8'));
    doc['Local-Models'].demo.aliases.push('second');
    delete doc['Local-Models'].other;
    const result = await fx.node.api.saveConfig(stringify(doc));
    expect(result).toMatchObject({ ok: true, changed: ['demo'], removed: ['other'] });
    expect(result.message).toContain('demo will restart when idle');

    // The new alias answers right away, by the engine that is already running.
    const viaNewAlias = await postJson(`${fx.url}/v1/chat/completions`, chat('second'));
    expect(viaNewAlias.status).toBe(200);
    expect((await fx.info('demo')).pid).toBe(pidBefore);
    const listed = (await readJson(await fetch(`${fx.url}/v1/models`))).data.map((m: { id: string }) => m.id);
    expect(listed).toEqual(expect.arrayContaining(['demo', 'first', 'second']));
    expect(listed).not.toContain('other');

    const stream = await streaming;
    expect(stream.status).toBe(200);
    expect(await stream.text()).toContain('[DONE]');
    // Idle now: the engine restarts with the new definition.
    await waitFor(async () => {
      const info = await fx.info('demo');
      return info.state === 'ready' && info.pid !== pidBefore;
    }, 5000, 'demo to restart with the new definition');
    expect(await fx.spawnCount('demo')).toBe(2);
    const gone = await fetch(`${fx.url}/api/models/other/info`);
    expect(gone.status).toBe(404);
  });

  it('refuses an invalid config: nothing is written and the models keep running', async () => {
    const fx = await startNode({ models: [{ name: 'demo', flags: ['--load-ms', '50'] }] });
    expect((await postJson(`${fx.url}/v1/chat/completions`, chat('demo'))).status).toBe(200);
    const before = fs.readFileSync(fx.configPath);
    const doc = parse(before.toString());
    doc['Local-Models'].demo.port = 'abc';
    const res = await postJson(`${fx.url}/api/config`, { text: stringify(doc) });
    const body = await readJson(res);
    expect(body.ok).toBe(false);
    expect(body.issues[0].message).toContain('expected an integer 1-65535, got "abc"');
    expect(fs.readFileSync(fx.configPath).equals(before)).toBe(true);
    expect((await fx.info('demo')).state).toBe('ready');
  });
});
