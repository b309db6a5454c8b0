// GET /api/openapi.json describes /api, /v1 and /health, and every route it lists answers as it
// says: against a real node, each documented operation is called and its status and body checked
// (JSON bodies against the zod schema the document was generated from).
import { afterEach, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { errorBodySchema, managerOperations } from '../../src-shared/api-schemas.js';
import { managerRoutes } from '../../src-shared/contract.js';
import { documentedOperations, openApiDocument, type DocumentedOperation } from '../../src-main/core/router/openapi.js';
import { appVersion } from '../../src-main/core/version.js';
import { closeAllNodes, startNode, type NodeFixture } from '../helpers/node-fixture.js';
import { echoScript } from '../helpers/raw-http.js';

const KEY = 'openapi-test-key-0123456789abcdef';
const AUTH = { authorization: `Bearer ${KEY}` };
/** The model deployModel adds and removeModel removes. */
const DEPLOYED = 'deployed';

afterEach(closeAllNodes);

async function node(): Promise<NodeFixture> {
  return startNode({
    models: [
      { name: 'chat', aliases: ['c'], script: echoScript() },
      { name: 'emb', mode: 'Embedding', script: echoScript() },
      { name: 'rank', mode: 'Reranker', script: echoScript() },
    ],
    program: { api_keys: [KEY] },
  });
}

/** A valid request for an operation: its parameters filled in, a body when it takes one. */
async function validRequest(fx: NodeFixture, op: DocumentedOperation): Promise<{ path: string; init: RequestInit }> {
  const modelFor = (path: string) => (path === '/v1/embeddings' ? 'emb' : /rerank/.test(path) ? 'rank' : 'chat');
  // A download's id is the last one started (by startDownload, just before); the model removed is the one deployModel added.
  const id = op.operationId === 'cancelDownload' ? ((await fx.node.api.listDownloads())[0]?.id ?? 'none') : op.path.startsWith('/v1/') ? 'c' : '0';
  let path = op.path.replace('{name}', op.operationId === 'removeModel' ? DEPLOYED : 'chat').replace('{id}', id);
  if (op.path.includes('/logs')) path += '?tail=5';
  if (op.operationId === 'deleteUsage') path += '?from=0';
  let body: unknown;
  if (op.operationId === 'startDownload') body = { url: 'http://127.0.0.1:9/nothing-listens-here.gguf' };
  else if (op.operationId === 'previewDeploy' || op.operationId === 'deployModel') body = { name: DEPLOYED, engine: 'llama.cpp', model: 'hf:acme/tiny-GGUF' };
  // The other management bodies are a config text (saveConfig, checkConfig): the node's own is valid.
  else if (managerOperations().find((m) => m.name === op.operationId)?.body) body = { text: (await fx.node.api.getConfig()).text };
  else if (op.method === 'post' && !op.path.startsWith('/api/')) body = { model: modelFor(op.path), messages: [{ role: 'user', content: 'hi' }], input: 'hi', query: 'q', documents: ['a'] };
  const headers: Record<string, string> = { ...AUTH, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) };
  return { path, init: { method: op.method.toUpperCase(), headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) } };
}

async function call(fx: NodeFixture, path: string, init: RequestInit): Promise<{ status: number; type: string; body: unknown }> {
  const abort = new AbortController();
  const res = await fetch(`${fx.url}${path}`, { ...init, signal: abort.signal });
  const type = res.headers.get('content-type') ?? '';
  if (type.startsWith('text/event-stream')) {
    abort.abort(); // a stream never ends by itself: its status and type are what is documented
    return { status: res.status, type, body: null };
  }
  const text = await res.text();
  return { status: res.status, type, body: type.startsWith('application/json') ? (JSON.parse(text) as unknown) : text };
}

describe('GET /api/openapi.json', () => {
  it('is an OpenAPI 3.1 document of every management route, /v1 and /health, whose every $ref resolves', async () => {
    const fx = await node();
    const res = await fetch(`${fx.url}/api/openapi.json`, { headers: AUTH });
    expect(res.status).toBe(200);
    const doc = (await res.json()) as { openapi: string; info: { version: string }; paths: Record<string, Record<string, unknown>>; components: { schemas: Record<string, unknown> } };
    expect(doc).toEqual(JSON.parse(JSON.stringify(openApiDocument())));
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.info.version).toBe(appVersion());
    for (const spec of Object.values(managerRoutes)) expect(doc.paths[spec.path.replace(/:(\w+)/g, '{$1}')]?.[spec.method.toLowerCase()], spec.path).toBeDefined();
    for (const p of ['/v1/chat/completions', '/v1/embeddings', '/v1/rerank', '/v1/models', '/health', '/api/events', '/metrics']) expect(doc.paths[p], p).toBeDefined();
    const refs = JSON.stringify(doc).match(/"\$ref":"[^"]+"/g) ?? [];
    expect(refs.length).toBeGreaterThan(20);
    for (const ref of refs) {
      const id = /#\/components\/schemas\/([^"]+)/.exec(ref)?.[1];
      expect(id && doc.components.schemas[id], ref).toBeTruthy();
    }
    // Without the key (keys are set): the document is behind the same door as /api.
    expect((await fetch(`${fx.url}/api/openapi.json`)).status).toBe(401);
  });

  it('every documented operation answers as documented: status, content type, and a body its schema accepts', async () => {
    const fx = await node();
    // A saved version exists, so /api/config/backups/0 has something to answer.
    await fx.node.api.saveConfig(`${(await fx.node.api.getConfig()).text}\n# saved once\n`);
    const operations = documentedOperations();
    expect(operations.length).toBeGreaterThanOrEqual(Object.keys(managerRoutes).length + 15);
    for (const op of operations) {
      const what = `${op.method.toUpperCase()} ${op.path}`;
      const { path, init } = await validRequest(fx, op);
      const res = await call(fx, path, init);
      expect(res.status, `${what}: ${JSON.stringify(res.body)}`).toBe(200);
      expect(op.statuses, what).toContain(200);
      if (op.result) {
        expect(res.type, what).toMatch(/^application\/json/);
        const checked = (op.result as z.ZodType).safeParse(res.body);
        expect(checked.success ? 'valid' : `${what}: ${checked.error.message}`).toBe('valid');
      }

      // The door: without a key, 401 as documented, except for the probe.
      const { authorization: _a, ...noKey } = init.headers as Record<string, string>;
      const refused = await call(fx, path, { ...init, headers: noKey });
      if (op.path === '/health' || op.path === '/healthz') {
        expect(refused.status, what).toBe(200);
      } else {
        expect(refused.status, what).toBe(401);
        expect(op.statuses, what).toContain(401);
        errorBodySchema.parse(refused.body);
      }
    }
  });

  it('documented errors answer in the documented shape: unknown models 404, bad input 400', async () => {
    const fx = await node();
    for (const op of documentedOperations()) {
      const what = `${op.method.toUpperCase()} ${op.path}`;
      const { path, init } = await validRequest(fx, op);
      if (op.path.includes('{name}') || op.path === '/v1/models/{id}') {
        const res = await call(fx, path.replace(/\/(chat|c|deployed)(\/|\?|$)/, '/no-such-model$2'), init);
        expect(res.status, what).toBe(404);
        expect(op.statuses, what).toContain(404);
        expect(errorBodySchema.parse(res.body).error.code).toBe('model_not_found');
      }
      if (op.path.includes('{name}')) {
        const res = await call(fx, path.replace(/\/(chat|deployed)(\/|\?|$)/, '/%01$2'), init);
        expect(res.status, what).toBe(400);
        expect(op.statuses, what).toContain(400);
      }
      if (op.method === 'post' && op.path.startsWith('/v1/')) {
        for (const body of ['{}', '{"model": ""}', '{"model": 5}', `{"model": "${'x'.repeat(300)}"}`, 'not json']) {
          const res = await call(fx, path, { ...init, body });
          expect(res.status, `${what} ${body.slice(0, 20)}`).toBe(400);
          expect(op.statuses, what).toContain(400);
          errorBodySchema.parse(res.body);
        }
      }
    }
  });

  it('the config save takes only the documented body: a wrong type or an unknown field is a 400 naming it', async () => {
    const fx = await node();
    const post = (body: unknown) => call(fx, '/api/config', { method: 'POST', headers: { ...AUTH, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const wrongText = await post({ text: 5 });
    expect([wrongText.status, errorBodySchema.parse(wrongText.body).error.code]).toEqual([400, 'invalid_config_text']);
    const wrongConfirm = await post({ text: 'x: 1', confirm_remove_all: 'yes' });
    expect([wrongConfirm.status, errorBodySchema.parse(wrongConfirm.body).error.code]).toEqual([400, 'invalid_confirm_remove_all']);
    const unknown = await post({ text: 'x: 1', confirm_remove_al: true });
    expect(unknown.status).toBe(400);
    expect(errorBodySchema.parse(unknown.body).error.message).toContain('"confirm_remove_al"');
    expect(managerOperations().find((o) => o.name === 'saveConfig')?.body).toBeDefined();
  });
});
