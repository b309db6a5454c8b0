// program.engine_keys: each engine start gets a key of its own in its environment, and only the
// router sends it — so a web page (or anything else) can't use the engine's port behind its back.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { chat, jsonChunks, postJson, readSse } from '../helpers/http.js';
import { closeAllNodes, startNode, type NodeFixture } from '../helpers/node-fixture.js';

const ROUTER_KEY = 'router-key-0123456789abcdef';
const auth = { authorization: `Bearer ${ROUTER_KEY}` };
const linux = process.platform === 'linux';

afterEach(closeAllNodes);

// As a user's llama-server script would: the key comes from the environment the node set.
const SCRIPT = '#!/bin/sh\nexec "$NODE" "$ENGINE" --load-ms 20 --quiet --api-key "$LLM_MANAGER_ENGINE_KEY" "$@"\n';

async function keyedNode(engineKeys: boolean): Promise<NodeFixture> {
  return startNode({
    models: [{ name: 'keyed', script: { file: 'engine.sh', text: SCRIPT }, flags: [] }],
    program: { api_keys: [ROUTER_KEY], engine_keys: engineKeys },
  });
}

function engineEnv(pid: number): Record<string, string> {
  const entries = fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').filter(Boolean);
  return Object.fromEntries(entries.map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));
}

const direct = (fx: NodeFixture, headers: Record<string, string> = {}) =>
  postJson(`http://127.0.0.1:${fx.ports['keyed']}/v1/chat/completions`, chat('keyed'), { headers });

describe('program.engine_keys', () => {
  it('requests through the router reach the engine; the engine port refuses everyone else', async () => {
    const fx = await keyedNode(true);
    // The client's own key (for the router) is not what the engine gets: it would be refused.
    const plain = await postJson(`${fx.url}/v1/chat/completions`, chat('keyed'), { headers: auth });
    expect(plain.status).toBe(200);
    const streamed = await postJson(`${fx.url}/v1/chat/completions`, chat('keyed', { stream: true }), { headers: auth });
    expect(streamed.status).toBe(200);
    expect(jsonChunks((await readSse(streamed)).events).length).toBeGreaterThan(2);

    expect((await direct(fx)).status).toBe(401);
    expect((await direct(fx, auth)).status).toBe(401);
    expect((await direct(fx, { authorization: 'Bearer guessed' })).status).toBe(401);

    const info = await fx.info('keyed');
    expect(info.state).toBe('ready');
    if (linux) {
      const env = engineEnv(info.pid!);
      const key = env['LLM_MANAGER_ENGINE_KEY']!;
      expect(key).toMatch(/^[A-Za-z0-9_-]{32}$/);
      expect(env['LLAMA_API_KEY']).toBe(key);
      expect(env['VLLM_API_KEY']).toBe(key);
      // What the engine was given works on its port, and appears nowhere the node shows or writes.
      expect((await direct(fx, { authorization: `Bearer ${key}` })).status).toBe(200);
      expect(JSON.stringify(await fx.info('keyed'))).not.toContain(key);
      const log = fs.readFileSync(path.join(fx.dir, 'logs', 'keyed.log'), 'utf8');
      expect(log).not.toContain(key);

      // A fresh start, a fresh key.
      await fx.node.api.stopModel('keyed');
      await fx.node.api.startModel('keyed');
      const again = engineEnv((await fx.info('keyed')).pid!)['LLM_MANAGER_ENGINE_KEY'];
      expect(again).toMatch(/^[A-Za-z0-9_-]{32}$/);
      expect(again).not.toBe(key);
      expect((await postJson(`${fx.url}/v1/chat/completions`, chat('keyed'), { headers: auth })).status).toBe(200);
    }
  });

  it('off (the default): the engine gets no key and its port stays open, as before', async () => {
    const fx = await keyedNode(false);
    expect((await postJson(`${fx.url}/v1/chat/completions`, chat('keyed'), { headers: auth })).status).toBe(200);
    if (linux) expect(engineEnv((await fx.info('keyed')).pid!)['LLM_MANAGER_ENGINE_KEY']).toBeUndefined();
    // The script passed an empty --api-key: the demo engine, like llama-server, then needs none.
    expect((await direct(fx)).status).toBe(200);
  });
});
