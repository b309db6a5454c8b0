// Ports for models without one (program.engine_ports): each start gets a port no other model has
// configured or holds, not the router's, and free right now (a bind on 127.0.0.1 succeeds). One
// allocation at a time, so concurrent starts never get the same port; a port is held until its
// run ends (releasePort), then may go to another model.
import net from 'node:net';
import type { PortRange } from '../../../src-shared/config.js';

export interface PortPoolOptions {
  range: () => PortRange;
  /** Ports that are never given: every model's configured port and the router's. */
  reserved: () => Iterable<number>;
  /** Whether the port can be bound now (default: a bind on 127.0.0.1). */
  isFree?: (port: number) => Promise<boolean>;
}

export class PortPool {
  private readonly held = new Map<number, string>();
  private chain: Promise<unknown> = Promise.resolve();
  /** Where the next search starts: ports are handed out round the range, so a port just given back rests a while. */
  private cursor: number | null = null;

  constructor(private readonly options: PortPoolOptions) {}

  /** The ports held now, by model. */
  holders(): ReadonlyMap<number, string> {
    return this.held;
  }

  allocate(model: string): Promise<number> {
    const next = this.chain.then(() => this.find(model));
    this.chain = next.catch(() => undefined);
    return next;
  }

  release(model: string, port: number): void {
    if (this.held.get(port) === model) this.held.delete(port);
  }

  private async find(model: string): Promise<number> {
    const { from, to } = this.options.range();
    const reserved = new Set(this.options.reserved());
    const isFree = this.options.isFree ?? canBind;
    const size = to - from + 1;
    const start = this.cursor !== null && this.cursor >= from && this.cursor <= to ? this.cursor : from;
    let busy = 0;
    for (let i = 0; i < size; i++) {
      const port = from + ((start - from + i) % size);
      if (reserved.has(port) || this.held.has(port)) continue;
      if (!(await isFree(port))) {
        busy++;
        continue;
      }
      this.held.set(port, model);
      this.cursor = port + 1 > to ? from : port + 1;
      return port;
    }
    const taken = size - busy;
    throw new Error(`every port of ${from}-${to} is taken (${taken} by models or the router, ${busy} by other programs)`);
  }
}

/** Whether 127.0.0.1:port can be listened on now. */
export function canBind(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}
