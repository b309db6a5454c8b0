// The readiness and health probe (process.ts probeHealth) against real sockets: what it reads from
// an answer, what it sends, and that every probe ends its connection.
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { probeHealth } from '../../src-main/core/models/process.js';
import { freePorts } from '../helpers/ports.js';

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
    const [closedPort] = await freePorts(1);
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
