// The readiness and health probes (process.ts probeHealth, probeReady) against real sockets: what
// they read from an answer, what they send, and which connection each leaves open.
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { probeHealth, probeReady } from '../../src-main/core/models/process.js';
import { refusedPorts } from '../helpers/ports.js';

const servers: net.Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

async function listen<T extends net.Server>(server: T): Promise<number> {
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

describe('probeHealth', () => {
  it.each([200, 503, 404, 401])('returns the status code (%i), whatever the body', async (code) => {
    const port = await listen(http.createServer((_req, res) => res.writeHead(code, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'x'.repeat(100_000) }))));
    expect(await probeHealth(port, '/health')).toBe(code);
  });

  it('sends GET path with Connection: close, the Host, and the engine key as a bearer token when there is one', async () => {
    const seen: http.IncomingHttpHeaders[] = [];
    const urls: string[] = [];
    const port = await listen(
      http.createServer((req, res) => {
        seen.push(req.headers);
        urls.push(`${req.method} ${req.url}`);
        res.end('ok');
      }),
    );
    expect(await probeHealth(port, '/v1/models', 2000, 'k3y')).toBe(200);
    expect(await probeHealth(port, '/health check')).toBe(200);
    expect(urls).toEqual(['GET /v1/models', 'GET /health%20check']);
    expect(seen[0]).toMatchObject({ connection: 'close', host: `127.0.0.1:${port}`, authorization: 'Bearer k3y' });
    expect(seen[1]!.authorization).toBeUndefined();
  });

  it('is null when nothing listens, when the answer is not HTTP, when the connection closes first, and when no answer comes in time', async () => {
    const [closedPort] = await refusedPorts(1);
    expect(await probeHealth(closedPort!, '/health')).toBeNull();

    const garbage = await listen(net.createServer((socket) => socket.once('data', () => socket.end('SSH-2.0-OpenSSH_9.6\r\n'))));
    expect(await probeHealth(garbage, '/health')).toBeNull();

    const hangsUp = await listen(net.createServer((socket) => socket.once('data', () => socket.destroy())));
    expect(await probeHealth(hangsUp, '/health')).toBeNull();

    const silent: net.Socket[] = [];
    const mute = await listen(net.createServer((socket) => silent.push(socket.resume())));
    expect(await probeHealth(mute, '/health', 200)).toBeNull();
    // The probe gave up and closed its side.
    await new Promise<void>((resolve) => (silent[0]!.destroyed ? resolve() : silent[0]!.once('close', () => resolve())));
    for (const s of silent) s.destroy();
  });

  it('reads a status line that comes a byte at a time', async () => {
    const port = await listen(
      net.createServer((socket) =>
        socket.once('data', async () => {
          for (const byte of 'HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\n\r\n') {
            socket.write(byte);
            await new Promise((resolve) => setImmediate(resolve));
          }
          socket.end();
        }),
      ),
    );
    expect(await probeHealth(port, '/health')).toBe(503);
  });
});

/** A raw server that answers each request on a connection with `answer`, and tells how each connection ended. */
async function rawServer(answer: (request: string, n: number) => string | Buffer[]): Promise<{ port: number; requests: string[]; ends: Promise<'fin' | 'reset'>[] }> {
  const requests: string[] = [];
  const ends: Promise<'fin' | 'reset'>[] = [];
  const port = await listen(
    net.createServer((socket) => {
      let buf = '';
      ends.push(
        new Promise((resolve) => {
          socket.once('end', () => resolve('fin'));
          socket.once('error', () => resolve('reset'));
        }),
      );
      socket.on('data', async (d: Buffer) => {
        buf += d.toString('latin1');
        for (let end = buf.indexOf('\r\n\r\n'); end !== -1; end = buf.indexOf('\r\n\r\n')) {
          const head = buf.slice(0, end);
          buf = buf.slice(end + 4);
          requests.push(head);
          const out = answer(head, requests.length);
          if (typeof out === 'string') socket.write(out);
          else for (const piece of out) {
            socket.write(piece);
            await new Promise((resolve) => setImmediate(resolve));
          }
        }
      });
      socket.on('end', () => socket.end());
    }),
  );
  return { port, requests, ends };
}

const ok = (body = '{"status":"ok"}', extra = '') => `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n${extra}\r\n${body}`;

describe('probeReady', () => {
  it('hands over a kept-alive connection whose 200 was read whole: the next request on it is the same connection\'s', async () => {
    const server = await rawServer((head, n) => (n === 1 ? ok() : ok(`{"second":true,"path":"${head.split(' ')[1]}"}`)));
    const probe = await probeReady(server.port, '/health', 2000, 'k3y');
    expect(probe.status).toBe(200);
    const socket = probe.socket!;
    expect(socket).not.toBeNull();
    expect(socket.destroyed).toBe(false);
    // Sent as a kept-alive request (no Connection: close), with the Host and the key.
    expect(server.requests[0]).toMatch(/^GET \/health HTTP\/1\.1\r\n/);
    expect(server.requests[0]).not.toMatch(/connection:/i);
    expect(server.requests[0]).toContain(`Host: 127.0.0.1:${server.port}`);
    expect(server.requests[0]).toContain('Authorization: Bearer k3y');
    // Nothing of ours still listens on it: what comes next is the new owner's alone; an error
    // before the new owner listens (a reset) is ignored, not thrown.
    expect(socket.listenerCount('data')).toBe(0);
    expect(() => socket.emit('error', new Error('read ECONNRESET'))).not.toThrow();
    const second = new Promise<string>((resolve) => {
      let text = '';
      socket.on('data', (d: Buffer) => {
        text += d.toString('latin1');
        if (text.includes('"second":true')) resolve(text);
      });
    });
    socket.write(`POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\ncontent-length: 0\r\n\r\n`);
    expect(await second).toContain('"path":"/v1/chat/completions"');
    expect(server.requests).toHaveLength(2);
    socket.destroy();
  });

  it('waits for a body that comes a byte at a time before handing over', async () => {
    const answer = ok('{"status":"ok","padding":"' + 'x'.repeat(40) + '"}');
    const server = await rawServer(() => [...Buffer.from(answer)].map((b) => Buffer.from([b])));
    const probe = await probeReady(server.port, '/health');
    expect(probe.status).toBe(200);
    expect(probe.socket).not.toBeNull();
    probe.socket!.destroy();
  });

  it.each([
    ['Connection: close', ok('{"status":"ok"}', 'connection: close\r\n')],
    ['a chunked body', 'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n'],
    ['HTTP/1.0', 'HTTP/1.0 200 OK\r\ncontent-length: 2\r\n\r\nok'],
    ['two different lengths', 'HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-length: 3\r\n\r\nok'],
    ['no length', 'HTTP/1.1 200 OK\r\n\r\n'],
    ['a 503 (still loading)', 'HTTP/1.1 503 Service Unavailable\r\ncontent-length: 34\r\n\r\n{"error":{"message":"Loading..."}}'],
  ])('keeps nothing after an answer with %s, and closes with a FIN, not a reset', async (_name, answer) => {
    const server = await rawServer(() => answer);
    const probe = await probeReady(server.port, '/health');
    expect(probe.status).toBe(/ 503 /.test(answer) ? 503 : 200);
    expect(probe.socket).toBeNull();
    expect(await server.ends[0]).toBe('fin');
  });

  it('keeps nothing when more than the answer came (bytes nobody asked for)', async () => {
    const server = await rawServer(() => ok() + 'HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n');
    const probe = await probeReady(server.port, '/health');
    expect(probe).toEqual({ status: 200, socket: null });
  });

  it('is null with no connection when nothing listens, when the answer is not HTTP, and when none comes in time', async () => {
    const [closedPort] = await refusedPorts(1);
    expect(await probeReady(closedPort!, '/health')).toEqual({ status: null, socket: null });
    const garbage = await listen(net.createServer((socket) => socket.once('data', () => socket.end('SSH-2.0-OpenSSH_9.6\r\n\r\n'))));
    expect(await probeReady(garbage, '/health')).toEqual({ status: null, socket: null });
    const silent: net.Socket[] = [];
    const mute = await listen(net.createServer((socket) => silent.push(socket.resume())));
    expect(await probeReady(mute, '/health', 200)).toEqual({ status: null, socket: null });
    await new Promise<void>((resolve) => (silent[0]!.destroyed ? resolve() : silent[0]!.once('close', () => resolve())));
    for (const s of silent) s.destroy();
  });
});
