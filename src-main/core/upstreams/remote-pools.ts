// Connection pools to upstream servers by origin (http or https), for the router's proxy: unlike
// the engines' pools they have no slot table (the server queues), and TLS is undici's own.
import type { Dispatcher, Pool } from 'undici';

type Undici = typeof import('undici');

/** Idle kept-alive connections to a remote server close before common servers close theirs (5 s). */
const REMOTE_IDLE_MS = 4_000;

export class RemotePools {
  private readonly pools = new Map<string, { pool: Pool; limit: number }>();

  /** `connect`: TLS options for every pool (tests give their own CA). */
  constructor(private readonly connect: Pool.Options['connect'] = undefined) {}

  get(undici: Undici, origin: string, limit: number): Dispatcher {
    let entry = this.pools.get(origin);
    if (entry && entry.limit !== limit) {
      void entry.pool.close().catch(() => undefined);
      entry = undefined;
    }
    if (!entry) {
      // No timeouts of undici's own, as for engines: the client decides how long it waits.
      const pool = new undici.Pool(origin, {
        headersTimeout: 0,
        bodyTimeout: 0,
        keepAliveTimeout: REMOTE_IDLE_MS,
        keepAliveMaxTimeout: REMOTE_IDLE_MS,
        connections: limit,
        ...(this.connect ? { connect: this.connect } : {}),
      });
      entry = { pool, limit };
      this.pools.set(origin, entry);
    }
    return entry.pool;
  }

  async close(): Promise<void> {
    const pools = [...this.pools.values()];
    this.pools.clear();
    await Promise.all(pools.map(({ pool }) => pool.destroy().catch(() => undefined)));
  }
}
