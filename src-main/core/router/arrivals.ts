// When a request came, for one the fast path held while its model started and then handed to
// node:http (past the engine's connections): its usage record counts from its arrival, as the fast
// path's own record of a request that waited does.
import type net from 'node:net';

export interface Arrival {
  /** Date.now() and performance.now() at its arrival. */
  startedAt: number;
  t0: number;
}

const arrivals = new WeakMap<net.Socket, Arrival>();

/** The first request node:http reads on `socket` arrived at `arrival`. */
export function noteArrival(socket: net.Socket, arrival: Arrival): void {
  arrivals.set(socket, arrival);
}

/** The arrival noted for the first request on `socket`, once (later requests on it are its own). */
export function takeArrival(socket: net.Socket | null | undefined): Arrival | undefined {
  if (!socket) return undefined;
  const arrival = arrivals.get(socket);
  arrivals.delete(socket);
  return arrival;
}
