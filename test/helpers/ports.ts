import net from 'node:net';

/** A port that was free a moment ago (bind to 0, read it, close). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export async function freePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await freePort());
  return [...ports];
}

/**
 * Ports where nothing listens and nothing will (a connection is refused): 1000-1023, which no test
 * binds and the kernel never hands out for port 0, so a server of a test running in parallel can't
 * take one between our choosing it and using it (with freePort() one can: a test's silent server
 * there turns a refused check into one that waits for its timeout). Not lower: fetch
 * refuses many low ports outright ("bad port"). Each is checked refused.
 */
export async function refusedPorts(count: number): Promise<number[]> {
  const out: number[] = [];
  for (let port = 1000; port < 1024 && out.length < count; port++) {
    if (await refuses(port)) out.push(port);
  }
  if (out.length < count) throw new Error(`only ${out.length} refused ports in 1000-1023 on 127.0.0.1`);
  return out;
}

function refuses(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED'));
  });
}
