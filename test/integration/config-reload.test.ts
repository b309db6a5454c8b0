// A saved config applies to the running node: names route at once, a change to what the node acts
// on (aliases, alive_time) applies in place, a changed launch restarts a running model only once
// it is idle, removed models stop, an invalid save writes nothing.
import fs from 'node:fs';
import { parse, stringify } from 'yaml';
import { afterEach, describe, expect, it } from 'vitest';
import { closeAllNodes, startNode, waitForState } from '../helpers/node-fixture.js';
import { freePorts } from '../helpers/ports.js';
import { chat, postJson, readJson, waitFor } from '../helpers/http.js';

afterEach(closeAllNodes);

describe('saving the config while models run', () => {
  it('routes a new alias of a running model at once without a restart, and stops removed models', async () => {
    const fx = await startNode({
      models: [
        { name: 'demo', aliases: ['first'], flags: ['--load-ms', '50', '--max-tokens-default', '8'] },
        { name: 'other', flags: ['--load-ms', '50'] },
      ],
    });
    expect((await postJson(`${fx.url}/v1/chat/completions`, chat('first'))).status).toBe(200);
    expect((await postJson(`${fx.url}/v1/chat/completions`, chat('other'))).status).toBe(200);
    const pidBefore = (await fx.info('demo')).pid;

    const doc = parse(fs.readFileSync(fx.configPath, 'utf8'));
    doc['Local-Models'].demo.aliases.push('second');
    doc['Local-Models'].demo.alive_time = 30;
    delete doc['Local-Models'].other;
    const result = await fx.node.api.saveConfig(stringify(doc));
    expect(result).toMatchObject({ ok: true, changed: ['demo'], removed: ['other'] });
    expect(result.message).toBe('Saved: demo keeps running with its new settings; other stops (removed).');

    // The new alias answers right away, by the engine that is already running, which stays.
    expect((await postJson(`${fx.url}/v1/chat/completions`, chat('second'))).status).toBe(200);
    const listed = (await readJson(await fetch(`${fx.url}/v1/models`))).data.map((m: { id: string }) => m.id);
    expect(listed).toEqual(expect.arrayContaining(['demo', 'first', 'second']));
    expect(listed).not.toContain('other');
    const info = await fx.info('demo');
    expect(info).toMatchObject({ state: 'ready', pid: pidBefore, aliveTimeMs: 30 * 60_000 });
    expect(await fx.spawnCount('demo')).toBe(1);
    const gone = await fetch(`${fx.url}/api/models/other/info`);
    expect(gone.status).toBe(404);
  });

  it('restarts a running model whose launch changed only once it is idle', async () => {
    const fx = await startNode({ models: [{ name: 'demo', flags: ['--load-ms', '50', '--stream-delay-ms', '100', '--max-tokens-default', '8'] }] });
    expect((await postJson(`${fx.url}/v1/chat/completions`, chat('demo'))).status).toBe(200);
    const pidBefore = (await fx.info('demo')).pid;

    // A stream is in flight while the change is saved: it must finish on the old engine.
    const streaming = postJson(`${fx.url}/v1/chat/completions`, chat('demo', { stream: true }));
    await waitFor(async () => (await fx.info('demo')).inFlight === 1, 3000, 'the stream to start');
    const doc = parse(fs.readFileSync(fx.configPath, 'utf8'));
    const profile = Object.values(doc['Local-Models'].demo).find((v) => typeof v === 'object' && v !== null && 'args' in v) as { args: string[] };
    profile.args = profile.args.map((a) => (a === '8' ? '4' : a));
    const result = await fx.node.api.saveConfig(stringify(doc));
    expect(result).toMatchObject({ ok: true, changed: ['demo'] });
    expect(result.message).toBe('Saved: demo will restart when idle (after 1 request in flight).');
    expect((await fx.info('demo')).pid).toBe(pidBefore);

    const stream = await streaming;
    expect(stream.status).toBe(200);
    expect(await stream.text()).toContain('[DONE]');
    // Idle now: the engine restarts with the new definition.
    await waitFor(async () => {
      const info = await fx.info('demo');
      return info.state === 'ready' && info.pid !== pidBefore;
    }, 5000, 'demo to restart with the new definition');
    expect(await fx.spawnCount('demo')).toBe(2);
  });

  it('starts a model added with auto_start, or switched to it, at once; a model that had it is left as it is', async () => {
    const fx = await startNode({ models: [{ name: 'lazy', flags: ['--load-ms', '50'] }, { name: 'keen', autoStart: true, flags: ['--load-ms', '50'] }] });
    await waitForState(fx, 'keen', 'ready', 5000);
    await fx.node.api.stopModel('keen');
    const doc = parse(fs.readFileSync(fx.configPath, 'utf8'));
    doc['Local-Models'].lazy.auto_start = true;
    doc['Local-Models'].keen.alive_time = 5;
    const port = (await freePorts(1))[0]!;
    doc['Local-Models'].fresh = { ...structuredClone(doc['Local-Models'].lazy), port, auto_start: true };
    const result = await fx.node.api.saveConfig(stringify(doc));
    expect(result.message).toBe('Saved: keen updated; added fresh; starting lazy, fresh (auto_start).');
    await waitForState(fx, 'lazy', 'ready', 5000);
    await waitForState(fx, 'fresh', 'ready', 5000);
    expect((await fx.info('keen')).state).toBe('stopped');
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
