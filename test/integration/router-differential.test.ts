// The fast path reads requests with its own parser (fast-path.ts). This test keeps it equal to
// llhttp: the same raw bytes go to the router (a ready model, so the fast path sees them first) and
// to a plain node:http server, and both must give the same statuses, node:http's own error answers
// byte for byte, and the same body bytes to whoever answers (the engine, or the plain server).
// Every case ends with a request that closes the connection (or a half-close), so no case waits
// for a timeout.
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KEEP_ALIVE_MS, fastPathStats } from '../../src-main/core/router/fast-path.js';
import { echoScript } from '../helpers/raw-http.js';
import { parseAnswers, type Answer } from '../helpers/raw-wire.js';
import { closeAllNodes, startNode, type NodeFixture } from '../helpers/node-fixture.js';

const BODY = JSON.stringify({ model: 'echo', messages: [{ role: 'user', content: 'hi 🙂' }] });
const LEN = Buffer.byteLength(BODY);
const HEAD = 'POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n';
const plain = (extra = '') => `${HEAD}Content-Length: ${LEN}\r\n${extra}\r\n${BODY}`;
const LAST = `${HEAD}Content-Length: ${LEN}\r\nConnection: close\r\n\r\n${BODY}`;
const chunked = (chunks: string[], te = 'chunked') => `${HEAD}Transfer-Encoding: ${te}\r\n\r\n${chunks.join('')}`;
const chunk = (s: string, ext = '') => `${Buffer.byteLength(s).toString(16)}${ext}\r\n${s}\r\n`;

interface Case {
  name: string;
  bytes: string | Buffer;
  /** Writes the bytes in these pieces (a real read each), not in one write. */
  split?: 'bytes' | number[];
  /** Half-close after the bytes instead of ending with a Connection: close request. */
  fin?: boolean;
}

const third = Math.floor(BODY.length / 3);
const CASES: Case[] = [
  { name: 'plain', bytes: plain() },
  { name: 'pipelined', bytes: plain() + plain() },
  { name: 'pipelined, the second malformed', bytes: plain() + 'POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nBad Header\r\n\r\n{}' },
  { name: 'CL and TE', bytes: `${HEAD}Content-Length: ${LEN}\r\nTransfer-Encoding: chunked\r\n\r\n${chunk(BODY)}0\r\n\r\n` },
  { name: 'duplicate CL, same value', bytes: plain(`Content-Length: ${LEN}\r\n`) },
  { name: 'duplicate CL, other value', bytes: plain(`Content-Length: ${LEN + 1}\r\n`) },
  { name: 'CL with a sign', bytes: `${HEAD}Content-Length: +${LEN}\r\n\r\n${BODY}` },
  { name: 'CL with spaces around', bytes: `${HEAD}Content-Length:   ${LEN}  \r\n\r\n${BODY}` },
  { name: 'CL in hex', bytes: `${HEAD}Content-Length: 0x${LEN.toString(16)}\r\n\r\n${BODY}` },
  { name: 'chunked', bytes: chunked([chunk(BODY.slice(0, third)), chunk(BODY.slice(third)), '0\r\n\r\n']) },
  { name: 'chunked with extensions and a trailer', bytes: chunked([chunk(BODY, ';a=b'), '0\r\nX-T: 1\r\n\r\n']) },
  { name: 'chunked, a bad size', bytes: chunked([`zz\r\n${BODY}\r\n0\r\n\r\n`]) },
  { name: 'chunked, a size too small', bytes: chunked([`5\r\n${BODY}\r\n0\r\n\r\n`]) },
  { name: 'chunked, not last', bytes: chunked([chunk(BODY), '0\r\n\r\n'], 'chunked, gzip') },
  { name: 'TE identity', bytes: `${HEAD}Transfer-Encoding: identity\r\nContent-Length: ${LEN}\r\n\r\n${BODY}` },
  { name: 'bare LF line ends', bytes: plain().replace(/\r\n/g, '\n') },
  { name: 'a bare LF in one header line', bytes: plain('X-A: 1\n') },
  { name: 'a bare CR', bytes: plain('X-A: 1\rX-B: 2\r\n') },
  { name: 'obs-fold', bytes: plain('X-A: 1\r\n  folded\r\n') },
  { name: 'NUL in a value', bytes: plain('X-A: a\u0000b\r\n') },
  { name: 'DEL in a value', bytes: plain('X-A: a\u007fb\r\n') },
  { name: 'a space before the colon', bytes: plain('X-A : 1\r\n') },
  { name: 'an empty header name', bytes: plain(': 1\r\n') },
  { name: 'latin-1 in a value', bytes: Buffer.from(plain('X-A: caf\u00e9\r\n'), 'latin1') },
  { name: 'no Host', bytes: plain().replace('Host: 127.0.0.1\r\n', '') },
  { name: 'two Hosts', bytes: plain('Host: 127.0.0.1\r\n') },
  { name: "Node fetch's Sec-Fetch-Mode", bytes: plain('sec-fetch-mode: cors\r\naccept-language: *\r\n') },
  { name: 'Sec-Fetch-Mode twice', bytes: plain('Sec-Fetch-Mode: cors\r\nSec-Fetch-Mode: no-cors\r\n') },
  { name: 'another Sec-* header', bytes: plain('Sec-Fetch-Site: cross-site\r\n') },
  { name: 'lower-case method', bytes: plain().replace('POST', 'post') },
  { name: 'two spaces in the request line', bytes: plain().replace('POST ', 'POST  ') },
  { name: 'HTTP/1.0', bytes: plain().replace('HTTP/1.1', 'HTTP/1.0') },
  { name: 'HTTP/1.2', bytes: plain().replace('HTTP/1.1', 'HTTP/1.2') },
  { name: 'HTTP/2.0', bytes: plain().replace('HTTP/1.1', 'HTTP/2.0') },
  { name: 'a CRLF before the request line', bytes: `\r\n${plain()}` },
  { name: 'a query', bytes: plain().replace('/v1/chat/completions', '/v1/chat/completions?beta=true') },
  { name: 'Expect: 100-continue', bytes: plain('Expect: 100-continue\r\n') },
  { name: 'an oversize head', bytes: plain(`X-Big: ${'a'.repeat(17 * 1024)}\r\n`) },
  { name: 'a head just under the limit', bytes: plain(`X-Big: ${'a'.repeat(15 * 1024)}\r\n`) },
  { name: 'a thousand tiny headers', bytes: plain(Array.from({ length: 1000 }, (_, i) => `x${i}: v\r\n`).join('')) },
  { name: 'a 100 KB body', bytes: (() => { const b = JSON.stringify({ model: 'echo', messages: [{ role: 'user', content: 'x'.repeat(100_000) }] }); return `${HEAD}Content-Length: ${b.length}\r\n\r\n${b}`; })() },
  { name: 'TLS ClientHello', bytes: Buffer.from('16030100f4010000f00303', 'hex') },
  { name: 'binary junk', bytes: Buffer.from([0, 0xff, 0x10, 0x80, 0x0d, 0x0a, 0x0d, 0x0a]) },
  { name: 'split at every byte', bytes: plain(), split: 'bytes' },
  { name: 'split in the request line, a header name, a value, the blank line, the body', bytes: plain(), split: [3, 20, 60, HEAD.length + 10, plain().indexOf('\r\n\r\n') + 2, plain().length - 5] },
  { name: 'pipelined, split across the two', bytes: plain() + plain(), split: [plain().length - 3, plain().length + 7] },
  { name: 'an unfinished head, then FIN', bytes: 'POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n', fin: true },
  { name: 'an unfinished body, then FIN', bytes: `${HEAD}Content-Length: ${LEN + 10}\r\n\r\n${BODY}`, fin: true },
  { name: 'nothing, then FIN', bytes: '', fin: true },
];

/** Writes a case on a fresh connection and returns every byte the server sent until it closed. */
function talk(port: number, c: Case): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true, noDelay: true });
    const got: Buffer[] = [];
    const guard = setTimeout(() => {
      socket.destroy();
      reject(new Error(`${c.name}: the server did not close the connection within 10 s`));
    }, 10_000);
    socket.on('data', (d: Buffer) => got.push(d));
    socket.on('error', () => undefined);
    // The server has said all it will (the socket is half-open so that a case may half-close first).
    socket.once('end', () => socket.destroy());
    socket.once('close', () => {
      clearTimeout(guard);
      resolve(Buffer.concat(got));
    });
    socket.once('connect', async () => {
      const bytes = Buffer.isBuffer(c.bytes) ? c.bytes : Buffer.from(c.bytes, 'utf8');
      const cuts = c.split === 'bytes' ? Array.from({ length: bytes.length - 1 }, (_, i) => i + 1) : (c.split ?? []);
      let at = 0;
      for (const cut of [...cuts, bytes.length]) {
        if (socket.destroyed) return;
        socket.write(bytes.subarray(at, cut));
        at = cut;
        // Let the server read this piece on its own.
        if (cut < bytes.length) await new Promise((r) => setTimeout(r, 1));
      }
      if (socket.destroyed) return;
      // (Not a half-close after LAST: node:http cancels what a client half-closes on, as the fast path does.)
      if (c.fin) socket.end();
      else socket.write(LAST);
    });
  });
}

/** Answers, the bytes that reached the answering side (`received`), and what couldn't be parsed. */
function read(raw: Buffer): { answers: (Answer & { received?: string })[]; rest: string } {
  const answers = parseAnswers(raw, { complete: true });
  return {
    answers: answers.map((a) => {
      let received: string | undefined;
      try {
        received = (JSON.parse(a.body) as { received?: string }).received;
      } catch {
        // not JSON: node:http's own error answers have no body
      }
      return { ...a, ...(received !== undefined ? { received } : {}) };
    }),
    rest: raw.toString('latin1'),
  };
}

let fx: NodeFixture;
let plainServer: http.Server;
let plainPort: number;

beforeAll(async () => {
  fx = await startNode({ models: [{ name: 'echo', script: echoScript() }] });
  await fx.node.api.startModel('echo');
  // node:http as the router's server is made (server.ts), answering every request it parses with
  // what it received, as the echo engine does.
  plainServer = http.createServer({ keepAliveTimeout: KEEP_ALIVE_MS, requestTimeout: 0 }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.stringify({ received: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(body);
    });
  });
  plainServer.headersTimeout = 30_000;
  await new Promise<void>((resolve) => plainServer.listen(0, '127.0.0.1', resolve));
  plainPort = (plainServer.address() as AddressInfo).port;
});

afterAll(async () => {
  plainServer.closeAllConnections();
  await new Promise((resolve) => plainServer.close(resolve));
  await closeAllNodes();
});

describe('the fast path against llhttp', () => {
  it('answers every case as node:http does, and the engine gets the bytes node:http would hand on', async () => {
    const before = { ...fastPathStats(fx.node.server)! };
    const differences: string[] = [];
    for (const c of CASES) {
      const [router, reference] = await Promise.all([talk(fx.routerPort, c), talk(plainPort, c)]);
      const r = read(router);
      const p = read(reference);
      const statuses = (x: typeof r) => x.answers.map((a) => a.status).join(',');
      if (statuses(r) !== statuses(p)) {
        differences.push(`${c.name}: router ${statuses(r) || '(none)'} vs node:http ${statuses(p) || '(none)'}`);
        continue;
      }
      p.answers.forEach((pa, i) => {
        const ra = r.answers[i]!;
        if (pa.status === 200 && ra.received !== pa.received) differences.push(`${c.name}: answer ${i + 1}: the engine got ${JSON.stringify(ra.received?.slice(0, 80))}, node:http ${JSON.stringify(pa.received?.slice(0, 80))}`);
        // node:http's own refusals (400, 408, 431 …) are the same bytes from either.
        if (pa.status !== 200 && (JSON.stringify(pa.headers) !== JSON.stringify(ra.headers) || pa.body !== ra.body)) {
          differences.push(`${c.name}: answer ${i + 1} (${pa.status}) differs: ${JSON.stringify(ra.headers)} ${ra.body.slice(0, 80)} vs ${JSON.stringify(pa.headers)}`);
        }
      });
      // Nothing was answered: then nothing at all was sent back, by either.
      if (p.answers.length === 0 && r.rest !== p.rest) differences.push(`${c.name}: router sent ${JSON.stringify(r.rest.slice(0, 80))}, node:http ${JSON.stringify(p.rest.slice(0, 80))}`);
    }
    expect(differences).toEqual([]);
    // The cases did reach the fast path (not all handed on at once).
    expect(fastPathStats(fx.node.server)!.served - before.served).toBeGreaterThan(10);
  }, 120_000);
});
