// Peers (#16 item 3, 6): two real nodes of this project on loopback. The second lists the first's
// models in its /v1/models (owned_by peer:<name>) with the first's states, proxies requests for
// them there, keeps its own model of the same name, and greys a peer that goes away with the
// reason until it answers again by itself.
import { afterEach, describe, expect, it } from 'vitest';
import type { ModelInfo } from '../../src-shared/contract.js';
import { closeAllNodes, startNode, type NodeFixture } from '../helpers/node-fixture.js';

afterEach(closeAllNodes);

const KEY = 'peer-key-0123456789abcdef';
const chat = (url: string, model: string) =>
  fetch(`${url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }] }) });

async function until<T>(what: () => Promise<T>, ok: (value: T) => boolean, timeoutMs = 8000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await what();
    if (ok(value)) return value;
    if (Date.now() > deadline) throw new Error(`not so after ${timeoutMs} ms: ${JSON.stringify(value).slice(0, 500)}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const listed = async (n: NodeFixture) => ((await (await fetch(`${n.url}/v1/models`)).json()) as { data: { id: string; owned_by: string; state: string; parent?: string }[] }).data;
const modelOf = async (n: NodeFixture, name: string): Promise<ModelInfo | undefined> => (await n.node.api.listModels()).find((m) => m.name === name);

async function twoNodes(peerEntry: Record<string, unknown> = {}) {
  const b = await startNode({ models: [{ name: 'alpha', aliases: ['a'] }, { name: 'shared' }], program: { api_keys: [KEY] } });
  const a = await startNode({ models: [{ name: 'shared' }], root: { peers: [{ name: 'desk', url: b.url, api_key: KEY, ...peerEntry }] }, nodeOptions: { peerPollMs: 50 } });
  // Listed once read; connected (its state the peer's) a moment later.
  await until(() => listed(a), (l) => l.some((m) => m.id === 'alpha' && m.state !== 'starting'));
  return { a, b };
}

describe('a peer', () => {
  it('its models are listed as the peer\'s, with its states; a request is proxied there; a local model of the same name wins', async () => {
    const { a, b } = await twoNodes();
    const models = await listed(a);
    expect(models.find((m) => m.id === 'alpha')).toMatchObject({ owned_by: 'peer:desk', state: 'stopped' });
    expect(models.find((m) => m.id === 'a')).toMatchObject({ owned_by: 'peer:desk', parent: 'alpha' });
    expect(models.filter((m) => m.id === 'shared')).toEqual([expect.objectContaining({ owned_by: 'llm-manager' })]);

    const res = await chat(a.url, 'a');
    expect(res.status).toBe(200);
    expect(((await res.json()) as { choices: unknown[] }).choices).toHaveLength(1);
    expect(await b.spawnCount('alpha')).toBe(1);
    expect((await b.info('alpha')).state).toBe('ready');
    // The window's view: the peer's own state, read from its /api/models.
    expect(await until(() => modelOf(a, 'alpha'), (m) => m?.state === 'ready')).toMatchObject({ upstream: { kind: 'peer', url: b.url, peer: 'desk' }, pid: null, port: null });

    expect((await chat(a.url, 'shared')).status).toBe(200);
    expect(await a.spawnCount('shared')).toBe(1);
    expect(await b.spawnCount('shared')).toBe(0);
    // The peer's key is shown nowhere.
    expect(JSON.stringify(await a.node.api.listModels())).not.toContain(KEY);
    expect(JSON.stringify(models)).not.toContain(KEY);
  });

  it("Start and Stop of a peer's model (the window's buttons) start and stop it on the peer, shown at once", async () => {
    const { a, b } = await twoNodes();
    await until(() => modelOf(a, 'alpha'), (m) => m?.upstream?.peer === 'desk' && m.state === 'stopped');
    expect(await a.node.api.startModel('alpha')).toMatchObject({ name: 'alpha', state: 'ready', upstream: { peer: 'desk' } });
    expect((await b.info('alpha')).state).toBe('ready');
    expect(await a.node.api.stopModel('alpha')).toMatchObject({ name: 'alpha', state: 'stopped' });
    expect((await b.info('alpha')).state).toBe('stopped');
    // Still reachable here: a request starts it on the peer again.
    expect((await chat(a.url, 'alpha')).status).toBe(200);
    expect(await b.spawnCount('alpha')).toBe(2);
  });

  it("Hold models stops this node's engines only: the peer's models stay, keep answering, and a stopped one starts on the peer", async () => {
    const { a, b } = await twoNodes();
    expect((await chat(a.url, 'a')).status).toBe(200); // alpha runs on the peer
    expect((await chat(a.url, 'shared')).status).toBe(200); // shared runs here
    await until(() => modelOf(a, 'alpha'), (m) => m?.state === 'ready');
    await a.node.api.holdModels();
    expect((await a.info('shared')).state).toBe('stopped');
    // Not stopped here nor on the peer (a hold frees this computer), and still ready for requests.
    expect((await a.node.api.modelLogs('alpha', 500)).map((l) => l.text).join('\n')).not.toContain('models held');
    expect((await a.node.api.modelLogs('shared', 500)).map((l) => l.text).join('\n')).toContain('models held');
    expect((await b.info('alpha')).state).toBe('ready');
    expect((await modelOf(a, 'alpha'))!.state).toBe('ready');
    expect((await chat(a.url, 'alpha')).status).toBe(200);
    // A local model is not started while held; the peer's, stopped there by its own user, is.
    const held = await chat(a.url, 'shared');
    expect(held.status).toBe(503);
    expect(((await held.json()) as { error: { code: string } }).error.code).toBe('models_held');
    await b.node.api.stopModel('alpha');
    await until(() => modelOf(a, 'alpha'), (m) => m?.state === 'stopped');
    expect((await chat(a.url, 'alpha')).status).toBe(200);
    expect(await b.spawnCount('alpha')).toBe(2);
    expect(await a.spawnCount('shared')).toBe(1);
  });

  it('prefer: peer sends a name both have to the peer, with the local engine as the fall-through', async () => {
    const { a, b } = await twoNodes({ prefer: 'peer' });
    await until(async () => a.node.registry.resolve('shared')?.latestConfig.profiles.map((p) => p.name), (names) => names?.join() === 'peer:desk,Test-Profile');
    expect((await chat(a.url, 'shared')).status).toBe(200);
    expect(await b.spawnCount('shared')).toBe(1);
    expect(await a.spawnCount('shared')).toBe(0);
  });

  it('goes away: its models fail with the reason and a request gets 503 saying so; back: they are ready again by themselves', async () => {
    const { a, b } = await twoNodes();
    await until(() => modelOf(a, 'alpha'), (m) => m?.upstream?.peer === 'desk');
    const port = b.routerPort;
    await b.close();
    const gone = await until(() => modelOf(a, 'alpha'), (m) => m?.state === 'failed');
    expect(gone!.lastError!.message).toBe(`the LLM Manager node "desk" at http://127.0.0.1:${port} is not reachable: ECONNREFUSED`);
    const refused = await chat(a.url, 'alpha');
    expect(refused.status).toBe(503);
    expect(((await refused.json()) as { error: { message: string } }).error.message).toContain(`http://127.0.0.1:${port} is not reachable: ECONNREFUSED`);

    const again = await startNode({ models: [{ name: 'alpha', aliases: ['a'] }, { name: 'shared' }], program: { api_keys: [KEY] }, nodeOptions: { port } });
    expect(again.routerPort === port || again.url.endsWith(`:${port}`)).toBe(true);
    await until(() => modelOf(a, 'alpha'), (m) => m?.state === 'stopped' || m?.state === 'ready');
    expect((await chat(a.url, 'alpha')).status).toBe(200);
  });

  it('two nodes that list each other show each other\'s own models only, and never loop', async () => {
    const b = await startNode({ models: [{ name: 'beta' }], root: {}, nodeOptions: { peerPollMs: 50 } });
    const a = await startNode({ models: [{ name: 'alpha' }], root: { peers: [{ name: 'b', url: b.url }] }, nodeOptions: { peerPollMs: 50 } });
    // b learns of a through a config change (a's port is known only now).
    const text = (await b.node.api.getConfig()).text;
    expect((await b.node.api.saveConfig(`${text}peers:\n  - {name: a, url: "${a.url}"}\n`)).ok).toBe(true);
    await until(() => listed(a), (l) => l.some((m) => m.id === 'beta'));
    await until(() => listed(b), (l) => l.some((m) => m.id === 'alpha'));
    // Some polls later, still each one's own plus the other's own: nothing came back round.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect((await listed(a)).map((m) => `${m.id} ${m.owned_by}`).sort()).toEqual(['alpha llm-manager', 'beta peer:b']);
    expect((await listed(b)).map((m) => `${m.id} ${m.owned_by}`).sort()).toEqual(['alpha peer:a', 'beta llm-manager']);
    expect((await chat(b.url, 'alpha')).status).toBe(200);
    expect(await a.spawnCount('alpha')).toBe(1);
  });

  it('a wrong key: nothing of the peer is listed', async () => {
    const b = await startNode({ models: [{ name: 'alpha' }], program: { api_keys: [KEY] } });
    const a = await startNode({ models: [], root: { peers: [{ name: 'desk', url: b.url, api_key: 'wrong-key-0123456789abcdef' }] }, nodeOptions: { peerPollMs: 50 } });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect((await listed(a)).map((m) => m.id)).toEqual([]);
  });
});
