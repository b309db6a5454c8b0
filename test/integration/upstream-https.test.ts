// An https upstream through the router's proxy (undici's TLS): a remote request is dispatched to its
// origin with the key, path and model of upstreams/remote.ts, and a stream arrives chunk by chunk.
import http from 'node:http';
import type net from 'node:net';
import { afterEach, expect, it } from 'vitest';
import { EngineSlotTable } from '../../src-main/core/router/engine-slots.js';
import { UpstreamPools } from '../../src-main/core/router/upstream.js';
import { RemotePools } from '../../src-main/core/upstreams/remote-pools.js';
import { checkRemote, remoteRoute } from '../../src-main/core/upstreams/remote.js';
import { FakeUpstream, TLS } from '../fixtures/fake-upstream.js';

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

it('proxies to an https server: path under its base, its key, its model name, the stream as sent', async () => {
  const server = await new FakeUpstream({ tls: true, apiKey: 'sk-tls-0123456789', prefix: '/api/v1', words: ['one', ' two', ' three'] }).start();
  closers.push(() => server.stop());
  const pools = new UpstreamPools(new EngineSlotTable(), new RemotePools({ ca: TLS.cert }));
  closers.push(() => pools.close());
  const route = remoteRoute({ kind: 'openai', baseUrl: server.baseUrl, apiKey: 'sk-tls-0123456789', model: 'served-name' });
  expect(route.origin).toBe(`https://127.0.0.1:${server.port}`);

  // A front server whose one handler forwards, as openai.ts does.
  const front = http.createServer((req, res) => {
    const body = Buffer.from(JSON.stringify({ model: 'local-name', stream: true, messages: [] }));
    pools.forward(route.request({ port: 0, limit: () => 4, path: '/v1/chat/completions', headers: ['content-type', 'application/json'], body }), res, {
      onHead: (status, headers) => res.writeHead(status, { 'content-type': String(headers['content-type']) }),
      onError: (err) => {
        if (!res.headersSent) res.writeHead(502);
        res.end(String(err.message));
      },
    });
  });
  await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
  closers.push(() => new Promise((resolve) => front.close(() => resolve())));

  const res = await fetch(`http://127.0.0.1:${(front.address() as net.AddressInfo).port}/`);
  expect(res.status).toBe(200);
  const text = await res.text();
  expect(text.split('\n\n').filter(Boolean).slice(0, -1).map((e) => (JSON.parse(e.slice(6)) as { choices: { delta: { content: string } }[] }).choices[0]!.delta.content)).toEqual(['one', ' two', ' three']);
  const sent = server.requests('/api/v1/chat/completions')[0]!;
  expect(sent).toMatchObject({ authorization: 'Bearer sk-tls-0123456789', body: { model: 'served-name', stream: true } });
});

it('an https server whose certificate is not trusted is reported as unreachable with the TLS reason', async () => {
  const server = await new FakeUpstream({ tls: true }).start();
  closers.push(() => server.stop());
  const reason = await checkRemote({ kind: 'openai', baseUrl: server.baseUrl, apiKey: null, model: null });
  expect(reason).toMatch(new RegExp(`^the upstream https://127\\.0\\.0\\.1:${server.port}/v1 is not reachable: (DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE)`));
});
