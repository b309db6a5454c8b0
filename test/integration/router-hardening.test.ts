// What an adversarial run against the router found (issue #12), each case as it was reproduced:
// clients that give up, engines that drop or add answers, junk and slow heads, too many headers.
// Both request paths are checked where both can meet the case: the fast path (a ready model, a
// plain request) and node:http (the same request with a browser's Origin, which it never takes).
import fs from 'node:fs';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { fastPathStats, idleEngineConnections } from '../../src-main/core/router/fast-path.js';
import { chat, waitFor } from '../helpers/http.js';
import { rawRequest } from '../helpers/raw-http.js';
import { converse, ODD_ENGINE, request } from '../helpers/raw-wire.js';
import { closeAllNodes, startNode, waitForState, type NodeFixture } from '../helpers/node-fixture.js';

afterEach(closeAllNodes);

const oddBody = (mode: string, extra: Record<string, unknown> = {}) => ({ model: 'odd', mode, messages: [{ role: 'user', content: 'x' }], ...extra });
/** A header that sends a request to node:http instead of the fast path (the node's own origin is allowed). */
const VIA_NODE_HTTP = { Origin: 'http://127.0.0.1' };
const PATHS = [
  ['the fast path', {}],
  ['node:http', VIA_NODE_HTTP],
] as const;

async function oddNode(program: Record<string, unknown> = {}, aliveTime: string | number = 0): Promise<NodeFixture> {
  const fx = await startNode({
    models: [
      { name: 'odd', aliveTime, script: { file: 'odd.sh', text: `exec "$NODE" '${ODD_ENGINE}'\n` }, flags: [] },
      { name: 'demo', flags: ['--load-ms', '20', '--quiet'] },
    ],
    program,
  });
  await fx.node.api.startModel('odd');
  await fx.node.api.startModel('demo');
  return fx;
}

interface EngineStats {
  connections: number;
  open: number;
  received: Record<string, number>;
}

/** What reached the odd engine (asked on its own port, not through the router, on a connection closed after use). */
async function engineStats(fx: NodeFixture): Promise<EngineStats> {
  const res = await rawRequest(`http://127.0.0.1:${fx.ports['odd']}/stats`, { headers: { connection: 'close' } });
  return res.json as unknown as EngineStats;
}

/** Requests in flight, asked in-process: the test's own HTTP connections would count as open descriptors. */
const inFlight = async (fx: NodeFixture) => (await fx.node.api.modelInfo('odd')).inFlight;

/**
 * Writes `text`, waits for `sent` (e.g. the engine has the request), then half-closes: what `curl -m`
 * giving up looks like to the server. Resolves with what came back once the server closed its side.
 */
function sendAndHalfClose(port: number, text: string, sent: () => Promise<void> = async () => undefined): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', reject);
    socket.once('end', () => {
      socket.destroy();
      resolve(Buffer.concat(chunks));
    });
    socket.once('connect', () => {
      socket.write(text);
      sent().then(() => socket.end(), reject);
    });
  });
}

const openFds = () => fs.readdirSync('/proc/self/fd').length;
/** For a failure message: the process's sockets as local→remote ports (from /proc/net/tcp). */
function describeSockets(): string {
  const inodes = new Set<string>();
  for (const fd of fs.readdirSync('/proc/self/fd')) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/self/fd/${fd}`));
      if (m) inodes.add(m[1]!);
    } catch {
      // closed meanwhile
    }
  }
  const out: string[] = [];
  for (const line of fs.readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length > 9 && inodes.has(f[9]!)) out.push(`${parseInt(f[1]!.split(':')[1]!, 16)}->${parseInt(f[2]!.split(':')[1]!, 16)} st${f[3]}`);
  }
  return out.join(', ');
}

describe('a client that goes away', () => {
  for (const [name, headers] of PATHS) {
    it(`a FIN before the answer cancels the engine request (${name}): nothing stays in flight, the engine connection closes`, async () => {
      const fx = await oddNode();
      const before = await engineStats(fx);
      // The FIN comes once the engine has the request: before the fix, it then ran on for nobody.
      const answer = await sendAndHalfClose(fx.routerPort, request(oddBody('hang'), headers), () =>
        waitFor(async () => (await engineStats(fx)).received['hang'] === 1, 3000, 'the engine to have the request', 10),
      );
      expect(answer.length).toBe(0);
      await waitFor(async () => await inFlight(fx) === 0, 3000, 'the request out of flight', 20);
      await waitFor(async () => (await engineStats(fx)).open === before.open, 3000, 'the engine connection closed', 20);
    });
  }

  it('a model whose only request was abandoned is stopped when idle', async () => {
    const fx = await oddNode({}, '1s');
    await sendAndHalfClose(fx.routerPort, request(oddBody('hang')), () => waitFor(async () => (await engineStats(fx)).received['hang'] === 1, 3000, 'the request at the engine', 10));
    await waitForState(fx, 'odd', 'stopped', 8000);
  });

  it('after any mix of abandoned, failed and finished requests on both paths, in-flight is 0 and no descriptor is left open', async () => {
    const fx = await oddNode();
    // Warm both paths up (undici loaded, pools made) before the baseline.
    for (const [, headers] of PATHS) await converse(fx.routerPort, [request(oddBody('plain'), headers)], 1);
    await waitFor(() => idleEngineConnections(fx.node.server) === 0, 5000, 'idle engine connections closed', 50);
    const engineBefore = await engineStats(fx);
    const baseline = openFds();
    const sockets = describeSockets();

    const work: Promise<unknown>[] = [];
    for (const [, headers] of PATHS) {
      for (let i = 0; i < 40; i++) work.push(sendAndHalfClose(fx.routerPort, request(oddBody('hang'), headers)));
      for (let i = 0; i < 10; i++) work.push(converse(fx.routerPort, [request(oddBody('plain'), headers)], 1));
      for (let i = 0; i < 10; i++) work.push(converse(fx.routerPort, [request(oddBody('drop'), headers)], 1));
      for (let i = 0; i < 10; i++) work.push(converse(fx.routerPort, [request(oddBody('status-000'), headers)], 1));
      // Clients that reset mid-request.
      for (let i = 0; i < 10; i++) {
        work.push(
          new Promise<void>((resolve) => {
            const s = net.connect({ port: fx.routerPort, host: '127.0.0.1' }, () => {
              s.write(request(oddBody('hang'), headers));
              setImmediate(() => {
                s.resetAndDestroy();
                resolve();
              });
            });
            s.on('error', () => resolve());
          }),
        );
      }
    }
    await Promise.all(work);
    await waitFor(async () => await inFlight(fx) === 0, 10_000, 'in-flight back to 0', 50);
    await waitFor(async () => (await engineStats(fx)).open <= engineBefore.open + 1, 10_000, 'the engine connections closed', 50);
    await waitFor(() => idleEngineConnections(fx.node.server) === 0, 10_000, 'idle engine connections closed', 50);
    await waitFor(() => openFds() <= baseline, 10_000, `descriptors back to ${baseline} (sockets at the start: ${sockets}; now: ${describeSockets()})`, 50);
  });
});

describe('a request is never sent to the engine twice', () => {
  for (const [name, headers] of PATHS) {
    it(`an engine that closes a kept-alive connection after reading the request: one delivery, then 502 (${name})`, async () => {
      const fx = await oddNode();
      // The first answer leaves a kept-alive engine connection; the second request goes on it.
      const answers = await converse(fx.routerPort, [request(oddBody('plain'), headers) + request(oddBody('drop'), headers)], 2);
      expect(answers.map((a) => a.status)).toEqual([200, 502]);
      expect(JSON.parse(answers[1]!.body).error.code).toBe('engine_unavailable');
      expect((await engineStats(fx)).received['drop']).toBe(1);
    });
  }
});

describe('misbehaving engines', () => {
  it('an unrequested extra answer closes that engine connection; the next client gets its own answer', async () => {
    const fx = await oddNode();
    const before = await engineStats(fx);
    const answers = await converse(fx.routerPort, [request(oddBody('extra')) + request(oddBody('plain'))], 2);
    expect(answers.map((a) => JSON.parse(a.body).mode)).toEqual(['extra', 'plain']);
    // The second request went on a new engine connection, not on the one with a stray answer.
    expect((await engineStats(fx)).connections - before.connections).toBe(2);
  });

  for (const [name, headers] of PATHS) {
    it(`a status outside 100-599 (or a 101 nobody asked for) is a 502, not a wait (${name})`, async () => {
      const fx = await oddNode();
      for (const status of ['000', '099', '101', '600']) {
        const [answer] = await converse(fx.routerPort, [request(oddBody(`status-${status}`), headers)], 1);
        expect(answer?.status, status).toBe(502);
        expect(JSON.parse(answer!.body).error.code, status).toBe('engine_unavailable');
      }
      expect(await inFlight(fx)).toBe(0);
    });
  }
});

describe('junk and slow clients', () => {
  it('bytes that are not HTTP get the 400 at once, not after header_timeout', async () => {
    const fx = await oddNode({ header_timeout: '120s' });
    const tlsHello = Buffer.from('160301020001000200030378bcdf', 'hex');
    for (const junk of [tlsHello, Buffer.from([0, 1, 2, 3, 0xff]), Buffer.from('POST \u0000')]) {
      // converse waits at most 10 s: before the fix these waited the whole 120 s.
      const [answer] = await converse(fx.routerPort, [junk], 1);
      expect(answer?.status, junk.toString('hex')).toBe(400);
    }
  });

  /** Writes `text` a byte every 100 ms until the server closes the connection; resolves with what it sent. */
  const trickle = (port: number, text: string) =>
    new Promise<string>((resolve) => {
      const socket = net.connect({ port, host: '127.0.0.1' });
      let got = '';
      let i = 0;
      const timer = text === '' ? null : setInterval(() => socket.writable && socket.write(text[i++ % text.length]!), 100);
      socket.on('data', (c: Buffer) => (got += c.toString('latin1')));
      socket.on('error', () => undefined);
      socket.once('close', () => {
        if (timer) clearInterval(timer);
        resolve(got);
      });
    });

  it('header_timeout counts from the start on both paths: a trickled or silent head gets 408 and the connection closes', async () => {
    const fx = await oddNode({ header_timeout: '1s' });
    // A head for the fast path, one for node:http, and a connection that says nothing. Each would
    // be held for ever (or 65 s) if the timeout weren't kept: the test's own timeout catches that.
    const [fast, other, silent] = await Promise.all([
      trickle(fx.routerPort, 'POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n' + 'X-Slow: 1\r\n'.repeat(500)),
      trickle(fx.routerPort, 'GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n' + 'X-Slow: 1\r\n'.repeat(500)),
      trickle(fx.routerPort, ''),
    ]);
    expect(fast).toBe('HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n');
    expect(other).toBe('HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n');
    expect(silent).toBe('HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n');
  }, 20_000);
});

describe('header count', () => {
  it('a request with a thousand tiny headers is node:http\'s to judge, as llhttp judges it', async () => {
    const fx = await oddNode();
    const handed = fastPathStats(fx.node.server)!.handedOff;
    const many = Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`x-h${i}`, 'v']));
    const [answer] = await converse(fx.routerPort, [request(oddBody('plain'), many)], 1);
    expect(fastPathStats(fx.node.server)!.handedOff).toBe(handed + 1);
    expect([200, 431]).toContain(answer?.status);
    if (Number(process.versions.node.split('.')[0]) >= 22) expect(answer?.status).toBe(431);
  });
});
