// Sends a request to an engine and streams its answer to our client. undici's dispatch API, with
// one connection pool per engine port, costs about half of what node:http's client does per
// request (measured by `npm run bench`: c=64 throughput ×1.76); it is loaded on the first request
// so an idle node doesn't carry it.
import type http from 'node:http';
import net from 'node:net';
import type { Dispatcher, Pool } from 'undici';
import type { EngineSlotTable } from './engine-slots.js';
import { RemotePools } from '../upstreams/remote-pools.js';

export interface UpstreamRequest {
  port: number;
  /** The engine's connection limit now (the model's max_connections). */
  limit: () => number;
  path: string;
  /** Flat [name, value, …] list, already filtered of what must not be forwarded. */
  headers: string[];
  body: Buffer;
  /** An upstream server's origin ("https://host:8000", upstreams/remote.ts): the request goes there, not to 127.0.0.1:port. */
  origin?: string;
}

export interface UpstreamEvents {
  /** Status and headers arrived; the answer is forwarded as it comes. */
  onHead(status: number, headers: http.IncomingHttpHeaders): void;
  /** The engine failed: before any answer (`answered` false) or in the middle of it. */
  onError(err: NodeJS.ErrnoException, answered: boolean): void;
  /** Each piece of the answer's body on its way to the client: what to send instead (the usage capture). */
  onData?(chunk: Buffer): Buffer;
  /** The body ended: bytes still to send before the end. */
  onEnd?(): Buffer | null;
}

/** An idle kept-alive engine connection is closed before engines close theirs (llama-server, uvicorn: 5 s). */
export const ENGINE_IDLE_MS = 2_000;

type Undici = typeof import('undici');

export class UpstreamPools {
  private undici: Undici | null = null;
  private loading: Promise<Undici> | null = null;
  private readonly pools = new Map<number, { pool: Pool; limit: number }>();

  constructor(
    private readonly slots: EngineSlotTable,
    private readonly remote = new RemotePools(),
  ) {}

  /** Forwards `request` and pipes the answer into `res`; a client that leaves aborts the engine request. */
  forward(request: UpstreamRequest, res: http.ServerResponse, events: UpstreamEvents): void {
    if (this.undici) return this.dispatch(this.undici, request, res, events);
    this.loading ??= import('undici');
    this.loading.then(
      (undici) => {
        this.undici = undici;
        if (!res.destroyed) this.dispatch(undici, request, res, events);
      },
      (err: Error) => events.onError(err, false),
    );
  }

  /** Starts loading undici (about 250 ms of a cold VM) while an engine starts, so the first answer doesn't wait for it. */
  preload(): void {
    if (this.undici || this.loading) return;
    this.loading = import('undici');
    this.loading.then(
      (undici) => (this.undici = undici),
      () => (this.loading = null),
    );
  }

  async close(): Promise<void> {
    const pools = [...this.pools.values()];
    this.pools.clear();
    await Promise.all([...pools.map(({ pool }) => pool.destroy().catch(() => undefined)), this.remote.close()]);
  }

  private pool(undici: Undici, port: number, limitOf: () => number): Pool {
    const limit = limitOf();
    let entry = this.pools.get(port);
    if (entry && entry.limit !== limit) {
      // max_connections changed: new requests go to a pool of the new size; the old one finishes its own.
      void entry.pool.close().catch(() => undefined);
      entry = undefined;
    }
    if (!entry) {
      const slots = this.slots.get(port, limitOf);
      // No timeouts of undici's own: a big prompt may take minutes before the first token, and a
      // stream may pause; the client decides how long it waits. Idle connections close when the fast
      // path's do, before engines close theirs (llama-server, uvicorn: 5 s). At most `limit`
      // connections, each opened only when the engine has a free slot (shared with the fast path):
      // requests beyond them wait in the pool's queue, in arrival order.
      const pool = new undici.Pool(`http://127.0.0.1:${port}`, {
        headersTimeout: 0,
        bodyTimeout: 0,
        keepAliveTimeout: ENGINE_IDLE_MS,
        keepAliveMaxTimeout: ENGINE_IDLE_MS,
        connections: limit,
        connect: (_options, callback) => {
          slots.wait(() => {
            const socket = net.connect({ host: '127.0.0.1', port, noDelay: true });
            let settled = false;
            socket.once('close', () => slots.release());
            socket.once('connect', () => {
              settled = true;
              callback(null, socket);
            });
            socket.once('error', (err) => {
              if (settled) return;
              settled = true;
              callback(err, null);
            });
          });
        },
      });
      entry = { pool, limit };
      this.pools.set(port, entry);
    }
    return entry.pool;
  }

  private dispatch(undici: Undici, request: UpstreamRequest, res: http.ServerResponse, events: UpstreamEvents): void {
    let controller: Dispatcher.DispatchController | null = null;
    let answered = false;
    const onClientClose = () => {
      if (!res.writableFinished) controller?.abort(new Error('the client closed the connection'));
    };
    res.once('close', onClientClose);
    const resume = () => controller?.resume();
    (request.origin ? this.remote.get(undici, request.origin, request.limit()) : this.pool(undici, request.port, request.limit)).dispatch(
      { origin: request.origin ?? `http://127.0.0.1:${request.port}`, method: 'POST', path: request.path, headers: request.headers, body: request.body },
      {
        onRequestStart(c) {
          controller = c;
          if (res.destroyed) c.abort(new Error('the client closed the connection'));
        },
        onResponseStart(c, status, headers) {
          // 000-099 and 600+ are no answer, and a 101 switches to a protocol nobody asked for: a 502.
          if (status < 200 || status > 599) return c.abort(Object.assign(new Error(`the engine answered with status ${status}`), { code: 'UND_ERR_BAD_STATUS' }));
          answered = true;
          events.onHead(status, headers);
        },
        onResponseData(c, data) {
          const chunk = events.onData ? events.onData(data) : data;
          if (chunk.length === 0) return;
          // Each chunk is written as it arrives (no batching); a slow client pauses the engine.
          if (!res.write(chunk)) {
            c.pause();
            res.once('drain', resume);
          }
        },
        onResponseEnd() {
          res.off('close', onClientClose);
          const rest = events.onEnd?.();
          if (rest && rest.length > 0) res.end(rest);
          else res.end();
        },
        onResponseError(_c, err) {
          res.off('close', onClientClose);
          events.onError(err as NodeJS.ErrnoException, answered);
        },
      },
    );
  }
}
